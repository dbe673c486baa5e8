"""Real processes for integration tests: a counting HTTP server on 127.0.0.1 and `crawler` commands."""

from __future__ import annotations

import functools
import os
import signal
import ssl
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from benchmarks import browser
from crawler import broker
from tests.integration.loopback import LoopbackServer

REPO = Path(__file__).resolve().parents[2]


# -- another machine: a network namespace joined to this one by a veth pair -----------------------

HOST_IP, NODE_IP = "10.213.77.1", "10.213.77.2"  # a link that exists only between our two namespaces


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True)


@dataclass(frozen=True)
class Namespace:
    name: str  # for `ip netns exec`
    host_end: str  # our end of the link: down is a partition (no RST, no error: packets just vanish)

    def partition(self) -> None:
        assert run("ip", "link", "set", self.host_end, "down").returncode == 0

    def heal(self) -> None:
        assert run("ip", "link", "set", self.host_end, "up").returncode == 0

    @property
    def inside(self) -> tuple[str, ...]:
        """The words that run a command on the other machine."""
        return ("ip", "netns", "exec", self.name)


@pytest.fixture
def node_namespace():
    """A network namespace joined to this one by a veth pair; skipped where that is not permitted."""
    name, host_end, node_end = f"qc-node-{os.getpid()}", f"qch{os.getpid() % 100000}", f"qcn{os.getpid() % 100000}"
    if run("ip", "netns", "add", name).returncode != 0:
        pytest.skip("network namespaces are not permitted here")
    try:
        for command in (
            ("ip", "link", "add", host_end, "type", "veth", "peer", "name", node_end),
            ("ip", "link", "set", node_end, "netns", name),
            ("ip", "addr", "add", f"{HOST_IP}/30", "dev", host_end),
            ("ip", "link", "set", host_end, "up"),
            ("ip", "netns", "exec", name, "ip", "addr", "add", f"{NODE_IP}/30", "dev", node_end),
            ("ip", "netns", "exec", name, "ip", "link", "set", node_end, "up"),
            ("ip", "netns", "exec", name, "ip", "link", "set", "lo", "up"),
        ):
            result = run(*command)
            if result.returncode != 0:
                pytest.skip(f"cannot set up the namespace: {' '.join(command)}: {result.stderr.strip()}")
        yield Namespace(name, host_end)
    finally:
        run("ip", "link", "del", host_end)
        run("ip", "netns", "del", name)


class SiteServer(LoopbackServer):
    """Serves a folder on 127.0.0.1 (or `host`) and counts every request by path; `redirects` maps path → target."""

    def __init__(self, root: Path, redirects: dict[str, str] | None = None, image_delay: float = 0.0,
                 host: str = "127.0.0.1", keep_alive: bool = False, tls: ssl.SSLContext | None = None) -> None:
        self.root = root
        self.keep_alive = keep_alive  # HTTP/1.1: connections stay open between requests
        self.connections = 0  # made to it
        self.redirects = redirects or {}
        self.image_delay = image_delay  # seconds each image response waits, to stretch a crawl
        self.hits: Counter[str] = Counter()
        self.headers: dict[str, dict[str, str]] = {}  # path → the headers of its last request
        self.response_headers: dict[str, dict[str, str]] = {}  # path → extra headers its response carries
        self.busy_once: dict[str, int] = {}  # path → seconds: its first request gets 429 with that Retry-After
        self.hotlink_protected: dict[str, str] = {}  # path → 403 unless the Referer starts with this
        self.other_sites_refused: set[str] = set()  # paths that get 403 with a Referer from another site (Weibo's)
        self.cookie_checked: set[str] = set()  # paths that set a cookie and redirect to themselves until it comes back
        self.cookie_required: dict[str, str] = {}  # path → 403 unless the request's Cookie holds this name=value
        self.log: list[tuple[float, str]] = []  # (time, path) of every request, server side
        self.answers: list[tuple[str, int, int]] = []  # (path, status, body bytes sent) of every answer
        self.in_flight = 0
        self.max_in_flight = 0  # most requests served at the same moment
        self._lock = threading.Lock()
        handler = functools.partial(_CountingHandler, self, directory=str(root))
        self._serve(handler, host, tls)

    def record(self, path: str) -> None:
        with self._lock:
            self.hits[path] += 1
            self.log.append((time.monotonic(), path))
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def done(self) -> None:
        with self._lock:
            self.in_flight -= 1


class _CountingHandler(SimpleHTTPRequestHandler):
    def __init__(self, site: SiteServer, *args, **kwargs) -> None:
        self.site = site
        if site.keep_alive:
            self.protocol_version = "HTTP/1.1"
        with site._lock:  # a handler serves one connection
            site.connections += 1
        super().__init__(*args, **kwargs)

    def do_GET(self) -> None:
        path = urlsplit(self.path).path.lstrip("/")
        self.site.headers[path] = dict(self.headers)
        self.site.record(path)
        self._status, self._sent, self._over = 0, 0, False
        try:
            self._answer(path)
        finally:
            with self.site._lock:
                self.site.answers.append((path, self._status, self._sent))
            self._answered()

    def _answered(self) -> None:
        """The request stops counting as in flight (once)."""
        if not self._over:
            self._over = True
            self.site.done()

    def send_response(self, code: int, message: str | None = None) -> None:
        self._status = code
        super().send_response(code, message)

    def copyfile(self, source, outputfile) -> None:  # type: ignore[no-untyped-def]
        data = source.read()
        # The answer is whole from here. Counted after the write instead, this thread may wait
        # for the GIL (or a core) past the moment the crawler has the bytes and asks the next
        # URL of its chain on a new connection: a request at once too many, seen only here.
        self._answered()
        outputfile.write(data)
        self._sent += len(data)

    def _answer(self, path: str) -> None:
        if path in self.site.busy_once and self.site.hits[path] == 1:
            self.send_response(429)
            self.send_header("Retry-After", str(self.site.busy_once[path]))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        wanted_referrer = self.site.hotlink_protected.get(path)
        if wanted_referrer is not None and not self.headers.get("Referer", "").startswith(wanted_referrer):
            self.send_error(403)
            return
        if path in self.site.other_sites_refused and not self.headers.get("Referer", self.site.url).startswith(
                self.site.url):
            self.send_error(403)
            return
        if path in self.site.cookie_checked and "checked=1" not in self.headers.get("Cookie", ""):
            self.send_response(302)
            self.send_header("Set-Cookie", "checked=1; Path=/")
            self.send_header("Location", self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        wanted_cookie = self.site.cookie_required.get(path)
        if wanted_cookie is not None and wanted_cookie not in self.headers.get("Cookie", "").split("; "):
            self.send_error(403)
            return
        if path in self.site.redirects:
            self.send_response(302)
            self.send_header("Location", "/" + self.site.redirects[path])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.site.image_delay and path.startswith("img/"):
            time.sleep(self.site.image_delay)
        super().do_GET()

    def end_headers(self) -> None:
        for name, value in self.site.response_headers.get(urlsplit(self.path).path.lstrip("/"), {}).items():
            self.send_header(name, value)
        super().end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture
def serve_site():
    servers: list[SiteServer] = []

    def start(root: Path, redirects: dict[str, str] | None = None, image_delay: float = 0.0,
              host: str = "127.0.0.1", keep_alive: bool = False, tls: ssl.SSLContext | None = None) -> SiteServer:
        server = SiteServer(root, redirects, image_delay, host, keep_alive, tls)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


class Processes:
    """`crawler` commands run as real processes; all are killed at the end of the test."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.key = broker.generate_authkey()
        self.children: list[subprocess.Popen[str]] = []

    def env(self, key: bytes | None = None) -> dict[str, str]:
        """A child's environment, with this test's key in $CRAWLER_AUTHKEY (key=b"": none at all)."""
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        env.pop(broker.AUTHKEY_ENV, None)
        key = self.key if key is None else key
        if key:
            env[broker.AUTHKEY_ENV] = key.decode()
        return env

    def start(self, *args: str, key: bytes | None = None, inside: tuple[str, ...] = ()) -> subprocess.Popen[str]:
        """Start `crawler ARGS` (`inside`: the words that run it on another machine, Namespace.inside)."""
        # A session of its own, so that the test's end kills what the command started too (a node's
        # other processes, a run's workers): their copies of its pipes kept kill_all waiting.
        child = subprocess.Popen([*inside, sys.executable, "-m", "crawler", *args], cwd=REPO, env=self.env(key),
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
        self.children.append(child)
        return child

    def run(self, *args: str, key: bytes | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "crawler", *args], cwd=REPO, env=self.env(key),
                              capture_output=True, text=True, timeout=timeout)

    def start_scheduler(self, *args: str, inside: tuple[str, ...] = ()) -> tuple[subprocess.Popen[str], int]:
        """Start `crawler scheduler` and return it with its port, read from its 'listening on' line."""
        child = self.start("scheduler", "--listen", "127.0.0.1:0", *args, inside=inside)
        assert child.stdout is not None
        line = child.stdout.readline()
        if "listening on" not in line:
            child.kill()
            raise AssertionError(f"scheduler did not start: {line!r} {child.stderr.read() if child.stderr else ''}")
        return child, int(line.split("listening on ")[1].split(",")[0].rsplit(":", 1)[1])

    def start_worker(self, port: int, *args: str, inside: tuple[str, ...] = ()) -> subprocess.Popen[str]:
        return self.start("worker", "--connect", f"127.0.0.1:{port}", *args, inside=inside)

    def kill_all(self) -> None:
        for child in self.children:
            try:
                os.killpg(child.pid, signal.SIGKILL)
            except ProcessLookupError:  # it ended, and all it started with it
                pass
            child.communicate()


@pytest.fixture
def processes(tmp_path: Path):
    running = Processes(tmp_path)
    try:
        yield running
    finally:
        running.kill_all()


def finish(child: subprocess.Popen[str], timeout: float = 120) -> tuple[int, str, str]:
    """Wait for a process; return its exit code, stdout and stderr."""
    stdout, stderr = child.communicate(timeout=timeout)
    return child.returncode, stdout, stderr


def headless_browser():  # type: ignore[no-untyped-def]
    """A headless Chromium driver (benchmarks.browser); skips the test where it is not installed."""
    if not browser.available():
        pytest.skip("Debian's chromium and chromium-driver are not installed (.ci/run installs them)")
    return browser.start()

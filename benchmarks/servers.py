"""Web servers for benchmarks, all on 127.0.0.1: nginx (preferred), a Python fallback, and a latency server."""

from __future__ import annotations

import asyncio
import functools
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

CONTENT_TYPES = {".html": "text/html", ".png": "image/png", ".jpg": "image/jpeg", ".txt": "text/plain",
                 ".gif": "image/gif", ".webp": "image/webp", ".svg": "image/svg+xml", ".ico": "image/x-icon",
                 ".css": "text/css", ".xml": "application/xml"}


def self_signed_certificate(workdir: Path) -> tuple[Path, Path] | None:
    """(certificate, key) for https://127.0.0.1, made with the openssl command; None without it."""
    if shutil.which("openssl") is None:
        return None
    workdir.mkdir(parents=True, exist_ok=True)
    certificate, key = workdir / "tls.crt", workdir / "tls.key"
    made = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                           "-keyout", str(key), "-out", str(certificate), "-subj", "/CN=127.0.0.1",
                           "-addext", "subjectAltName=IP:127.0.0.1"], capture_output=True, check=False)
    return (certificate, key) if made.returncode == 0 else None


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


class Nginx:
    """nginx from Debian's package, with its own config, pid file and access log in `workdir`."""

    name = "nginx"

    def __init__(self, roots: list[Path], ports: list[int], workdir: Path,
                 tls: tuple[Path, Path] | None = None, image_expires: str | None = None) -> None:
        """`tls`: (certificate, key) to serve https instead of http. `image_expires` ("30d"): send
        images with Expires and Cache-Control max-age, as many sites configure nginx to."""
        self.ports, self.workdir = ports, workdir
        workdir.mkdir(parents=True, exist_ok=True)
        ssl = f" ssl; ssl_certificate {tls[0]}; ssl_certificate_key {tls[1]}" if tls else ""
        expires = (f" location ~* \\.(png|jpe?g|gif|webp|svg|ico)$ {{ expires {image_expires}; }}"
                   if image_expires else "")
        servers = "".join(f"server {{ listen 127.0.0.1:{port}{ssl}; root {root};{expires} }}\n"
                          for root, port in zip(roots, ports))
        temp = "".join(f"{kind}_temp_path {workdir}/{kind};\n" for kind in ("client_body", "proxy", "fastcgi",
                                                                          "uwsgi", "scgi"))
        (workdir / "nginx.conf").write_text(f"""
user root; worker_processes 1; pid {workdir}/nginx.pid; error_log {workdir}/error.log;
events {{ worker_connections 4096; }}
http {{
  log_format counts '$server_port $request_uri $status $msec $request_time $body_bytes_sent';
  access_log {workdir}/access.log counts;
  types {{ text/html html; text/css css; application/javascript js; image/png png; image/jpeg jpg;
           image/gif gif; image/webp webp; image/svg+xml svg; image/x-icon ico; text/plain txt; }}
  default_type application/octet-stream; keepalive_requests 100000; sendfile on;
  {temp}{servers}}}
""")
        self.process = subprocess.Popen(["nginx", "-c", str(workdir / "nginx.conf"), "-p", str(workdir),
                                         "-g", "daemon off;"], stderr=subprocess.PIPE)
        _wait_listening(ports)

    @staticmethod
    def available() -> bool:
        return shutil.which("nginx") is not None or Path("/usr/sbin/nginx").exists()

    def hits(self) -> Counter[str]:
        """Requests by 'port path' since the last reset."""
        counts: Counter[str] = Counter()
        log = self.workdir / "access.log"
        if log.exists():
            for line in log.read_text().splitlines():
                port, uri, _status = line.split(" ")[:3]
                counts[f"{port} {unquote(urlsplit(uri).path)}"] += 1
        return counts

    def traffic(self) -> tuple[Counter[int], int]:
        """(requests by status, body bytes sent) since the last reset."""
        statuses: Counter[int] = Counter()
        sent = 0
        log = self.workdir / "access.log"
        for line in log.read_text().splitlines() if log.exists() else []:
            fields = line.split(" ")
            statuses[int(fields[2])] += 1
            sent += int(fields[5])
        return statuses, sent

    def spans(self) -> list[tuple[float, float]]:
        """(start, end) of every request since the last reset, in epoch seconds (millisecond steps)."""
        log = self.workdir / "access.log"
        spans = []
        for line in log.read_text().splitlines() if log.exists() else []:
            fields = line.split(" ")
            end, took = float(fields[3]), float(fields[4])
            spans.append((end - took, end))
        return sorted(spans)

    def reset(self) -> None:
        (self.workdir / "access.log").write_text("")

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


class Apache:
    """Apache httpd from Debian's apache2-bin, with its own config, pid file and access log in
    `workdir`, set up as Debian's and Ubuntu's apache2 package is: mod_deflate compressing HTML,
    CSS and text for the clients that accept gzip (and so sending "-gzip" after their ETags)."""

    name = "apache"
    BINARY = "/usr/sbin/apache2"
    MODULES = Path("/usr/lib/apache2/modules")

    def __init__(self, root: Path, port: int, workdir: Path) -> None:
        self.port, self.workdir = port, workdir
        workdir.mkdir(parents=True, exist_ok=True)
        modules = "".join(f"LoadModule {name}_module {self.MODULES}/mod_{name}.so\n"
                          for name in ("mpm_event", "authz_core", "mime", "filter", "deflate", "dir"))
        types = "".join(f"AddType {kind} {extension}\n" for extension, kind in CONTENT_TYPES.items())
        (workdir / "mime.types").write_text("")
        (workdir / "httpd.conf").write_text(f"""ServerRoot {workdir}
ServerName 127.0.0.1
PidFile {workdir}/httpd.pid
Listen 127.0.0.1:{port}
{modules}TypesConfig {workdir}/mime.types
{types}DocumentRoot {root}
DirectoryIndex index.html
ErrorLog {workdir}/error.log
LogFormat "%U %>s %B" counts
CustomLog {workdir}/access.log counts
AddOutputFilterByType DEFLATE text/html text/plain text/css text/xml application/xml
""")
        self.process = subprocess.Popen([self.BINARY, "-f", str(workdir / "httpd.conf"), "-DFOREGROUND"],
                                        stderr=subprocess.PIPE)
        _wait_listening([port])

    @classmethod
    def available(cls) -> bool:
        return Path(cls.BINARY).exists() and (cls.MODULES / "mod_deflate.so").exists()

    def answers(self) -> list[tuple[str, int, int]]:
        """(path, status, body bytes sent) of every answer since the last reset, in the order logged."""
        log = self.workdir / "access.log"
        found = []
        for line in log.read_text().splitlines() if log.exists() else []:
            path, status, sent = line.rsplit(" ", 2)
            found.append((path, int(status), int(sent)))
        return found

    def traffic(self) -> tuple[Counter[int], int]:
        """(requests by status, body bytes sent) since the last reset, as Nginx.traffic."""
        answers = self.answers()
        return Counter(status for _path, status, _sent in answers), sum(sent for *_rest, sent in answers)

    def reset(self) -> None:
        (self.workdir / "access.log").write_text("")

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


class _Counting:
    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.first = self.last = 0.0  # monotonic time of the first and the last request
        self.spans: list[tuple[float, float]] = []  # (request read, response written), epoch seconds

    def add(self, key: str) -> None:
        now = time.monotonic()
        with self.lock:
            self.counts[key] += 1
            self.first = self.first or now
            self.last = now


class _CountingServer:
    """Requests by 'port path', counted in this process."""

    _counting: _Counting

    def hits(self) -> Counter[str]:
        with self._counting.lock:
            return Counter(self._counting.counts)

    def reset(self) -> None:
        with self._counting.lock:
            self._counting.counts.clear()
            self._counting.spans.clear()
            self._counting.first = self._counting.last = 0.0

    def spans(self) -> list[tuple[float, float]]:
        """(start, end) of every request since the last reset, in epoch seconds, as Nginx.spans gives
        them but to the microsecond (where the server records them: the asyncio server does)."""
        with self._counting.lock:
            return sorted(self._counting.spans)

    def busy_seconds(self) -> float:
        """Seconds from the first request to the last: the crawl without process start and wind-up."""
        return self._counting.last - self._counting.first


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a browser closing its sockets early
            super().handle_error(request, client_address)  # type: ignore[arg-type]  # typeshed: socket, tuple


class PythonServer(_CountingServer):
    """The fallback where nginx is missing: http.server, one thread per connection."""

    name = "python http.server (nginx not found)"

    def __init__(self, roots: list[Path], ports: list[int], workdir: Path) -> None:
        self._counting = _Counting()
        self._servers = []
        counting = self._counting

        class Handler(SimpleHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def send_head(self):  # noqa: ANN202 - typeshed's return type is private
                port = self.server.server_address[1]  # type: ignore[index]  # an AF_INET server: (host, port)
                counting.add(f"{port} {unquote(urlsplit(self.path).path)}")
                return super().send_head()

        for root, port in zip(roots, ports):
            server = _QuietServer(("127.0.0.1", port), functools.partial(Handler, directory=str(root)))
            server.daemon_threads = True
            threading.Thread(target=server.serve_forever, daemon=True).start()
            self._servers.append(server)

    def close(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()


class LatencyServer(_CountingServer):
    """An asyncio server that answers every request after a fixed delay, modelling a real network."""

    def __init__(self, roots: list[Path], ports: list[int], latency_seconds: float = 0.05) -> None:
        self.name = f"asyncio server, +{latency_seconds * 1000:.0f} ms per response"
        self._roots = dict(zip(ports, roots))
        self._latency = latency_seconds
        self._counting = _Counting()
        self._cache: dict[tuple[int, str], bytes | None] = {}
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(ports,), daemon=True)
        self._thread.start()
        self._ready.wait(10)

    def _serve(self, ports: list[int]) -> None:
        asyncio.set_event_loop(self._loop)

        async def start() -> None:
            for port in ports:
                await asyncio.start_server(functools.partial(self._client, port), "127.0.0.1", port, backlog=1024)
            self._ready.set()

        self._loop.run_until_complete(start())
        self._loop.run_forever()

    def _file(self, port: int, path: str) -> bytes | None:
        key = (port, path)
        if key not in self._cache:
            target = (self._roots[port] / path.lstrip("/")).resolve()
            if target.is_dir():
                target = target / "index.html"
            inside = target.is_relative_to(self._roots[port].resolve())
            self._cache[key] = target.read_bytes() if inside and target.is_file() else None
        return self._cache[key]

    async def _client(self, port: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                arrived = time.time()
                request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
                path = unquote(urlsplit(request_line.split(" ")[1]).path)
                self._counting.add(f"{port} {path}")
                await asyncio.sleep(self._latency)
                body = self._file(port, path)
                kind = CONTENT_TYPES.get(Path(path).suffix, "text/html")
                status = "200 OK" if body is not None else "404 Not Found"
                body = body if body is not None else b"not found"
                writer.write(f"HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {len(body)}\r\n"
                             f"\r\n".encode() + body)
                await writer.drain()
                with self._counting.lock:
                    self._counting.spans.append((arrived, time.time()))
        except (asyncio.IncompleteReadError, ConnectionError, IndexError):
            pass
        finally:
            writer.close()

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)


def _wait_listening(ports: list[int], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    for port in ports:
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"server on port {port} did not start") from None
                time.sleep(0.05)


def redis_binary() -> str | None:
    """Debian's redis-server, if installed."""
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    return binary if Path(binary).exists() else None


class RedisServer:
    """One redis-server process with the append-only file on (as a crawl's state would want it)."""

    def __init__(self, folder: Path, bind: str = "127.0.0.1") -> None:
        binary = redis_binary()
        if binary is None:
            raise RuntimeError("no redis-server binary (apt-get install redis-server)")
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        (self.port,) = free_ports(1)
        self.bind = bind
        self.url = f"redis://{bind}:{self.port}/0"
        self._command = [binary, "--port", str(self.port), "--bind", bind, "--dir", str(folder),
                         "--save", "", "--appendonly", "yes", "--appendfsync", "everysec", "--daemonize", "no",
                         "--logfile", str(folder / "redis.log")]
        if bind != "127.0.0.1":  # a test's private link (a veth pair): protected mode would refuse the other end
            self._command += ["--protected-mode", "no"]
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        self.process = subprocess.Popen(self._command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((self.bind, self.port), timeout=0.5) as connection:
                    connection.sendall(b"PING\r\n")
                    if connection.recv(64).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start; see {self.folder / 'redis.log'}")

    def stop(self, kill: bool = False) -> None:
        if self.process is not None and self.process.poll() is None:
            if kill:
                self.process.kill()
            else:
                self.process.terminate()
            self.process.wait(timeout=10)

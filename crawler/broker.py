"""BaseManager wiring: the scheduler serves two queues and a bulletin; nodes connect with the authkey.

This is the only module that imports multiprocessing.managers. What crosses the socket is
pickled, so an authenticated peer could run code on the scheduler: keys are random, never
defaulted, and only plain builtin values are put on the queues.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import secrets
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing import connection, managers, reduction
from multiprocessing.context import AuthenticationError
from pathlib import Path
from traceback import format_exc
from typing import Any

from crawler.credentials import read_private_text
from crawler.errors import BadAuthkey, ConfigError, SchedulerUnreachable
from crawler.storage import CONTACT_NAME, replace_text
from crawler.units import host_port, path_option

log = logging.getLogger(__name__)

AUTHKEY_ENV = "CRAWLER_AUTHKEY"
AUTHKEY_BYTES = 32  # online guessing runs at ~1,700 keys/s: 256 random bits are out of reach
MIN_PUBLIC_AUTHKEY_BYTES = 16  # shorter keys are refused on anything but loopback
HANDSHAKE_SECONDS = 10.0  # a peer that does not finish authenticating by then is dropped
_QUEUE_METHODS = ("put",)  # nodes only add to the result queue; tasks go out through the desk
MAX_BATCH = 1000  # tasks in one take(), messages in one put()
_MAX_TAKER_CHARS = 300  # a node id, as messages.MAX_TEXT_CHARS bounds it in a node's messages
# A message (one pickle) bigger than this closes its connection before it is unpickled. Nodes keep
# results far below it (messages.MAX_REF_CHARS_PER_PAGE, worker's batch bound).
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
# Connections still authenticating, at most: each holds a thread, and a flood of idle sockets
# must not hold thousands. Past it a new connection is closed at once (honest peers retry).
MAX_HANDSHAKES = 32


class Bulletin:
    """A dict the scheduler publishes (crawl settings, state) and nodes read; lives in the scheduler."""

    def __init__(self, content: dict[str, Any]) -> None:
        self._content = dict(content)
        self._lock = threading.Lock()
        self._cookies: list[Any] = [0, 0, []]  # the crawl's cookie jar (scheduler.cookies), read on demand

    def read(self) -> dict[str, Any]:
        with self._lock:
            return dict(self._content)

    def cookies(self) -> list[Any]:
        """The crawl's cookie jar, [version, names_version, entries]: kept out of read(), which
        every node makes ten times a second; its version is there, as cookie_version."""
        with self._lock:
            return self._cookies

    def publish_cookies(self, jar: list[Any]) -> None:
        with self._lock:
            self._cookies = jar
            self._content["cookie_version"] = jar[0]

    def update(self, **changes: Any) -> None:
        with self._lock:
            self._content.update(changes)

    def state(self) -> Any:
        """The crawl's state alone ("running", "stopping", …): what a node's every report is answered with."""
        with self._lock:
            return self._content.get("state")


class ResultBox:
    """Where nodes put their results and events. Each put is answered with the crawl's state, so a
    node learns that the crawl is stopping (a limit reached) from the round trip it makes anyway,
    not at its next read of the bulletin, a tenth of a second later: on a fast site a chain runs on
    for dozens of requests in that time, past --max-bytes."""

    def __init__(self, results: queue.Queue, bulletin: Bulletin) -> None:
        self._results = results
        self._bulletin = bulletin

    def put(self, message: Any) -> Any:
        self._results.put(message)
        return self._bulletin.state()


class TaskDesk:
    """Hands out tasks in batches: one round trip for many tasks (a proxy call is a network round trip).

    When other takers are waiting too, a take gets its share of what is queued, not all of it: two
    chains of one host put at once would otherwise both go to whichever node woke first, and run
    under one process's GIL while the other node idles (with one site, a sixth of the crawl).

    `on_empty` is called when a take leaves the queue empty, so the scheduler refills it at once
    instead of at its next result or idle timeout. `on_taken(taker, batch)` is told who took what
    (a node names itself), so that what a node that dies holds is known before its next heartbeat.
    `on_hand_out(batch)` may change the tasks of every batch before it leaves (the scheduler counts
    their waits from then).
    """

    def __init__(self, tasks: queue.Queue, on_empty: Callable[[], None] | None = None,
                 on_taken: Callable[[str, list[Any]], None] | None = None,
                 on_hand_out: Callable[[list[Any]], None] | None = None) -> None:
        self._tasks = tasks
        self._on_empty = on_empty
        self._on_taken = on_taken
        self._on_hand_out = on_hand_out
        self._closed = threading.Event()
        self._takers_waiting = 0  # takes blocked on the empty queue; changed under its lock

    def close(self) -> None:
        """The crawl is over: every take returns at once, empty (those waiting too), so a node
        reads the bulletin then rather than at its next poll, and leaves."""
        with self._tasks.not_empty:
            self._closed.set()
            self._tasks.not_empty.notify_all()

    def take(self, max_count: int, timeout: float, taker: object = None) -> list[Any]:
        """Return up to `max_count` tasks, waiting at most `timeout` seconds for the first; `taker`:
        the node id of the one asking (what a peer sent: used only if it is a short text)."""
        max_count = max(1, min(int(max_count), MAX_BATCH))
        deadline = time.monotonic() + max(0.0, min(float(timeout), 5.0))
        # Waits on the queue's own condition, which its put() notifies, and close() too.
        with self._tasks.not_empty:
            waiting = self._tasks.queue
            while not waiting and not self._closed.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return []
                self._takers_waiting += 1
                try:
                    self._tasks.not_empty.wait(remaining)
                finally:
                    self._takers_waiting -= 1
            if self._closed.is_set():
                return []
            share = -(-len(waiting) // (1 + self._takers_waiting))
            batch = [waiting.popleft() for _ in range(min(max_count, share))]
            emptied = not waiting
            if not emptied and self._takers_waiting:
                self._tasks.not_empty.notify()  # what is left is another taker's share
        if batch and self._on_hand_out is not None:
            self._on_hand_out(batch)
        if emptied and self._on_empty is not None:
            self._on_empty()
        if batch and self._on_taken is not None and type(taker) is str and 0 < len(taker) <= _MAX_TAKER_CHARS:
            self._on_taken(taker, batch)
        return batch


def put_together(tasks: queue.Queue, items: list[Any]) -> None:
    """Queue `items` at once for TaskDesk.take: one wake-up, so the take it wakes finds them all
    (put one by one, the first woke a take, which could leave with that one alone)."""
    with tasks.not_empty:  # the queue's own lock, as put() takes it
        tasks.queue.extend(items)
        tasks.unfinished_tasks += len(items)
        tasks.not_empty.notify()


def generate_authkey() -> bytes:
    """Return a fresh random key (hex text, so it can live in a file or an environment variable)."""
    return secrets.token_hex(AUTHKEY_BYTES).encode("ascii")


def write_authkey_file(path: Path, key: bytes | None = None, replace: bool = False) -> bytes:
    """Create `path` readable by its owner only, holding `key` (default: a new one); refuse to overwrite
    a file unless `replace`, which swaps it in atomically."""
    key = key or generate_authkey()
    target = path.with_name(path.name + ".new") if replace else path
    try:
        if replace:
            target.unlink(missing_ok=True)
        descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise ConfigError(f"{path} exists; remove it first or use it as it is") from exc
    except OSError as exc:
        raise ConfigError(f"cannot create {path}: {exc.strerror}") from exc
    with os.fdopen(descriptor, "wb") as out:
        out.write(key + b"\n")
    if replace:
        os.replace(target, path)
    return key


KEY_NAME = "authkey"  # under OUTPUT/.crawler/: the key `crawler run` generated (mode 600)


def write_contact(state_dir: Path, host: str, port: int) -> None:
    """Note where the scheduler listens, so `crawler status OUTPUT` finds it."""
    replace_text(state_dir / CONTACT_NAME, json.dumps({"address": host_port(host, port)}) + "\n")


def read_contact(state_dir: Path) -> tuple[str, int]:
    """The address a crawl's scheduler noted, or ConfigError saying there is none."""
    try:
        address = json.loads((state_dir / CONTACT_NAME).read_text(encoding="utf-8"))["address"]
        host, _, port = str(address).rpartition(":")
        return host.removeprefix("[").removesuffix("]"), int(port)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"no running crawl noted in {state_dir.parent} (no {CONTACT_NAME}): `crawler inspect "
                          f"{path_option(state_dir.parent)}` shows what a finished one did; for a running one "
                          "give HOST:PORT") from exc


def read_authkey_file(path: Path) -> bytes:
    """Return the key in `path`; refuse a file that other users can read or that holds no key."""
    data = read_private_text(path, "authkey file").strip().encode()
    if not data:
        raise BadAuthkey(f"authkey file {path} is empty; create one with: crawler keygen {path}")
    return data


def authkey_from_env() -> bytes | None:
    """Return the key in $CRAWLER_AUTHKEY, or None when it is not set."""
    value = os.environ.get(AUTHKEY_ENV, "").strip()
    return value.encode() if value else None


def check_listen(host: str, authkey: bytes) -> None:
    """Refuse to expose the manager beyond loopback with a short key."""
    if _is_loopback(host):
        return
    if len(authkey) < MIN_PUBLIC_AUTHKEY_BYTES:
        raise BadAuthkey(f"refusing to listen on {host} with a {len(authkey)}-byte authkey; "
                         f"use at least {MIN_PUBLIC_AUTHKEY_BYTES} bytes (crawler keygen writes {AUTHKEY_BYTES * 2})")


def reachable_host(host: str) -> str:
    """The address to give nodes (and `crawler status`) for a scheduler listening on `host`: `host`
    itself, but for a wildcard (0.0.0.0, or IPv6's ::), which names no machine (a node told to
    connect to it connects to its own), this machine's address on its route out (a UDP socket's
    connect() picks the route and sends nothing; 192.0.2.1 and 2001:db8::1 are documentation
    addresses), else its name."""
    if host not in ("0.0.0.0", "", "::"):
        return host
    family, nowhere = (socket.AF_INET6, "2001:db8::1") if host == "::" else (socket.AF_INET, "192.0.2.1")
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as probe:
            probe.connect((nowhere, 9))
            return str(probe.getsockname()[0])
    except OSError:  # no route out: the name, which the nodes may resolve
        return socket.gethostname()


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        import ipaddress
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _peer_of(conn: connection.Connection) -> str:
    try:
        with socket.socket(fileno=os.dup(conn.fileno())) as sock:
            host, port = sock.getpeername()[:2]
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no Nagle stalls on replies
            _tune(sock, None)  # a node gone silent frees its server thread (no read bound: proxies idle)
            return host_port(host, port)
    except OSError:
        return "unknown peer"


def _shutdown(conn: connection.Connection) -> None:
    try:
        with socket.socket(fileno=os.dup(conn.fileno())) as sock:
            sock.shutdown(socket.SHUT_RDWR)  # wakes a thread blocked reading this socket
    except OSError:
        pass


class _Tally:
    """Like events counted, and said in one log line at most every 10 s: a flood is one line with its count."""

    def __init__(self) -> None:
        self.count = 0
        self._said = -10.0

    def add(self, message: str, *args: object) -> None:
        """Count one; log `message` (its first %d the count so far) if 10 s have passed since the last."""
        self.count += 1
        now = time.monotonic()
        if now - self._said >= 10.0:
            self._said = now
            log.warning(message, self.count, *args)


def _listening_socket(listener: connection.Listener) -> socket.socket | None:
    """The socket a TCP Listener accepts on (it keeps it private); None for any other kind."""
    return getattr(getattr(listener, "_listener", None), "_socket", None)


class _GuardedServer(managers.Server):
    """The stock server plus a handshake deadline, a log line for every refused peer, and a stop."""

    # Set by managers.Server.__init__; typeshed does not declare them.
    listener: connection.Listener
    authkey: bytes

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.stop_event = threading.Event()
        # The stock server listens with a backlog of 16. Nodes starting together open a dozen
        # connections each, faster than one accepter thread takes them; past the backlog Linux
        # drops their SYNs, sent again only after 1 s, then 2 s. The kernel caps this at its
        # own limit (net.core.somaxconn).
        listening = _listening_socket(self.listener)
        if listening is not None:
            listening.listen(socket.SOMAXCONN)
        self.handshakes = threading.BoundedSemaphore(MAX_HANDSHAKES)
        self.refused_busy = _Tally()
        self.refused_threadless = _Tally()

    def serve_forever(self) -> None:
        # The stock loop is written for a manager in a process of its own: it ends by setting
        # sys.stdout and sys.stderr back to the interpreter's and calling sys.exit(0). Here it runs in
        # a thread of the scheduler's process, where that took the streams from whoever had
        # redirected them (a program running a crawl inside its own, a test's capture).
        threading.Thread(target=self.accepter, daemon=True).start()
        self.stop_event.wait()

    def accepter(self) -> None:
        # The stock loop retries accept() forever on any OSError: once stop() closes the
        # listener, that is a thread spinning at full CPU for the rest of the process's life.
        threading.current_thread().name = "manager-accepter"
        while not self.stop_event.is_set():
            try:
                c = self.listener.accept()
            except OSError:
                if self.stop_event.is_set():
                    return
                time.sleep(0.05)  # e.g. out of file descriptors: try again, without spinning
                continue
            if not self.handshakes.acquire(blocking=False):
                self._refuse_busy(c)
                continue
            try:
                threading.Thread(target=self.handle_request, args=(c,), daemon=True).start()
            except RuntimeError as exc:  # out of threads: this connection is lost, not the scheduler
                self.handshakes.release()
                c.close()
                self._out_of_threads(exc)
                time.sleep(0.05)  # the machine is short of threads: no spinning

    def _refuse_busy(self, c: connection.Connection) -> None:
        c.close()
        self.refused_busy.add("scheduler: %d connections closed unauthenticated: %d handshakes already in progress "
                              "(a flood of idle connections?)", MAX_HANDSHAKES)

    def _out_of_threads(self, exc: RuntimeError) -> None:
        self.refused_threadless.add("scheduler: %d connections closed: could not start a thread to serve them "
                                    "(%s: the machine is out of threads or memory; a node with too many "
                                    "--threads?); nodes retry", exc)

    def _handle_request(self, c: connection.Connection) -> None:
        peer = _peer_of(c)
        watchdog = threading.Timer(HANDSHAKE_SECONDS, _shutdown, args=(c,))
        watchdog.daemon = True
        try:
            watchdog.start()
        except RuntimeError as exc:  # without its deadline, a silent peer would hold a handshake slot for ever
            self.handshakes.release()
            self._out_of_threads(exc)
            return  # handle_request closes the connection
        try:
            connection.deliver_challenge(c, self.authkey)
            connection.answer_challenge(c, self.authkey)
        except AuthenticationError:
            log.warning("scheduler: refused %s: wrong authkey", peer)
            return
        except (OSError, EOFError, ValueError) as exc:
            log.warning("scheduler: dropped %s before it authenticated: %s", peer, exc or type(exc).__name__)
            return
        finally:
            watchdog.cancel()
            self.handshakes.release()
        c.recv = _bounded_receiver(c, peer)  # type: ignore[method-assign]  # serve_client reads through it
        # From here on as the stock Server._handle_request: the peer is authenticated.
        request = None
        try:
            request = c.recv()
            _ignore, funcname, args, kwds = request
            if funcname not in self.public:
                raise ValueError(f"{funcname!r} unrecognized")
            func = getattr(self, funcname)
            msg = ("#RETURN", func(c, *args, **kwds))
        except Exception:
            msg = ("#TRACEBACK", format_exc())
        try:
            c.send(msg)
        except Exception:
            log.debug("scheduler: could not answer %s", peer)


def _bounded_receiver(conn: connection.Connection, peer: str) -> Callable[[], Any]:
    """conn.recv, refusing a message over MAX_MESSAGE_BYTES before it is read in or unpickled."""
    def recv() -> Any:
        try:
            data = conn.recv_bytes(MAX_MESSAGE_BYTES)
        except OSError as exc:  # "bad message length" (only its header was read), or the socket failed
            if str(exc) == "bad message length":
                log.warning("scheduler: dropped %s: it sent a message over %d MiB", peer, MAX_MESSAGE_BYTES >> 20)
            conn.close()  # the stream is out of step: nothing more can be read from it
            raise EOFError(str(exc)) from exc  # the server thread ends quietly on EOF
        return reduction.ForkingPickler.loads(data)
    return recv


@dataclass
class Served:
    """A running manager server inside the scheduler's process."""

    address: tuple[str, int]
    server: _GuardedServer
    thread: threading.Thread
    desk: TaskDesk

    def stop(self) -> None:
        self.server.stop_event.set()
        # close() alone does not wake a thread blocked in accept(); shutdown() does (it then fails
        # with EINVAL and the accept loop sees the stop).
        listening = _listening_socket(self.server.listener)
        try:
            if listening is not None:
                listening.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            self.server.listener.close()
        except OSError:
            pass


def serve(host: str, port: int, authkey: bytes, tasks: queue.Queue, results: queue.Queue,
          bulletin: Bulletin, on_empty: Callable[[], None] | None = None,
          on_taken: Callable[[str, list[Any]], None] | None = None,
          on_hand_out: Callable[[list[Any]], None] | None = None) -> Served:
    """Start serving the queues on host:port (0: any free port) in a background thread (the
    callbacks: see TaskDesk)."""
    check_listen(host, authkey)

    # register() is class-wide: a fresh subclass per server keeps two servers in one process apart.
    class _SchedulerManager(managers.BaseManager):
        pass

    desk = TaskDesk(tasks, on_empty, on_taken, on_hand_out)
    _SchedulerManager.register("get_desk", callable=lambda: desk, exposed=("take",))
    box = ResultBox(results, bulletin)
    _SchedulerManager.register("get_results", callable=lambda: box, exposed=_QUEUE_METHODS)
    _SchedulerManager.register("get_bulletin", callable=lambda: bulletin, exposed=("read", "cookies"))
    try:
        # What BaseManager.get_server() does, with our server class (get_server hard-codes Server).
        server = _GuardedServer(_SchedulerManager._registry, (host, port), authkey, _BOUNDED)  # type: ignore[attr-defined]  # register() makes _registry
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host_port(host, port)}: {exc.strerror or exc}") from exc
    thread = threading.Thread(target=server.serve_forever, name="manager-server", daemon=True)
    thread.start()
    address = server.listener.address  # a TCP listener: (host, port)
    return Served((str(address[0]), int(address[1])), server, thread, desk)


# A node's connections are bounded in time: a partition or a dead scheduler must not leave a
# thread blocked in recv() of a half-open connection for ever (the stock client sets no timeout
# and no keepalive). A failed call makes the node build a fresh link, never wait on the old one.
CONNECT_SECONDS = 3.0  # a scheduler that does not accept by then is unreachable for this attempt
# No reply this long means the link is dead: a node's take() waits 0.1 s on the server and the
# manager's threads answer without the scheduler's loop, so a healthy reply takes milliseconds.
REPLY_SECONDS = 5.0
_KEEPALIVE = (5, 2, 3)  # idle seconds, probe interval, probes: a silent peer is noticed in about 11 s
_BOUNDED = "pickle-bounded"  # the "pickle" wire format, on connections made by _bounded_client


def _tune(sock: socket.socket, reply_seconds: float | None) -> None:
    """TCP keepalive with short intervals, unacknowledged data bounded, and (optionally) a read timeout."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    idle, interval, probes = _KEEPALIVE
    for option, value in (("TCP_KEEPIDLE", idle), ("TCP_KEEPINTVL", interval), ("TCP_KEEPCNT", probes),
                          ("TCP_USER_TIMEOUT", int(REPLY_SECONDS * 1000))):
        if hasattr(socket, option):  # Linux has them all; elsewhere keepalive keeps its defaults
            sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, option), value)
    if reply_seconds is not None:  # the fd stays blocking: a read that waits longer fails with EAGAIN
        seconds = int(reply_seconds)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO,
                        struct.pack("ll", seconds, int((reply_seconds - seconds) * 1e6)))


def _listener(address: tuple[str, int], backlog: int) -> connection.Listener:
    """connection.Listener for TCP over IPv4 or IPv6 (the stock one takes every (host, port) for
    IPv4: an IPv6 address could not be listened on). A host name stays IPv4, as before."""
    return connection.Listener(address, "AF_INET6" if ":" in address[0] else "AF_INET", backlog)


def _bounded_client(address: tuple[str, int], family: str | None = None,
                    authkey: bytes | None = None) -> connection.Connection:
    """connection.Client for TCP, with a connect timeout, keepalive and a bound on every reply."""
    sock = socket.create_connection(address, timeout=CONNECT_SECONDS)
    sock.settimeout(None)
    # The handshake ends with two writes in a row (WELCOME, then the first request): with Nagle on,
    # the second waits for the peer's delayed ACK, 40 ms, and a link opens several connections.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    _tune(sock, REPLY_SECONDS)
    conn = connection.Connection(sock.detach())
    if authkey is not None:
        connection.answer_challenge(conn, authkey)
        connection.deliver_challenge(conn, authkey)
    return conn


# An addition beside "pickle" (which stays as it is).
managers.listener_client[_BOUNDED] = (_listener, _bounded_client)  # type: ignore[attr-defined]  # no stub


class _NodeManager(managers.BaseManager):
    pass


_NodeManager.register("get_desk")
_NodeManager.register("get_results")
_NodeManager.register("get_bulletin")


@dataclass
class Link:
    """A node's connection to the scheduler: proxies are per process and never reconnect."""

    desk: Any  # take(max_count, timeout) -> list of tasks
    results: Any  # put(message or list of messages)
    bulletin: Any  # read() -> dict; cookies() -> [version, names_version, entries] (Bulletin.cookies)


def connect(host: str, port: int, authkey: bytes) -> Link:
    """Connect to the scheduler at host:port, or raise one readable error."""
    # Proxies share one cached connection per thread *per address* (BaseProxy._address_to_local).
    # After the scheduler restarts on the same address that cache holds dead sockets, and fresh
    # proxies would reuse them; forget it so the new proxies open new connections.
    managers.BaseProxy._address_to_local.pop((host, port), None)
    manager = _NodeManager(address=(host, port), authkey=authkey, serializer=_BOUNDED)
    try:
        manager.connect()
        # register() added these methods at run time; typeshed cannot know them
        return Link(manager.get_desk(), manager.get_results(), manager.get_bulletin())  # type: ignore[attr-defined]  # made by register()
    except AuthenticationError as exc:  # multiprocessing's: "digest sent was rejected"
        raise BadAuthkey(f"scheduler at {host_port(host, port)} rejected our authkey: a node needs the scheduler's key "
                         f"(--authkey-file FILE, or ${AUTHKEY_ENV})") from exc
    except BlockingIOError as exc:  # connected, then the bound on a reply ran out (_tune's SO_RCVTIMEO: EAGAIN)
        raise SchedulerUnreachable(
            f"no scheduler at {host_port(host, port)}: something accepted the connection but did not answer as a "
            f"scheduler within {REPLY_SECONDS:g}s (another service on that port?)") from exc
    except (ConnectionError, EOFError, OSError) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        raise SchedulerUnreachable(
            f"no scheduler at {host_port(host, port)} ({reason}); is `crawler scheduler` running there?") from exc


# What a proxy call raises when the link is broken or out of step: a socket error (ConnectionError
# and BrokenPipeError are OSErrors), the peer gone (EOFError), or an exception the server sent
# back (RemoteError), after which the connection cannot be trusted: build a new link.
CONNECTION_ERRORS = (OSError, EOFError, managers.RemoteError)

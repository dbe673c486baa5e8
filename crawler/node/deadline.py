"""A whole-fetch deadline that holds while the response head is read, too.

Socket timeouts bound each read, not the sum: a server that drips its status line and headers a
byte at a time, each byte just inside the read timeout, could hold a fetcher thread for hours
(the body is checked between chunks, the head is read inside http.client). Connections made
through a `watched` adapter register their socket with one watchdog thread per process when the
head is read; when the fetch's deadline passes first, the watchdog shuts the socket down, the
blocked read returns, and the fetcher reports `too-slow`.

The same connections acknowledge a response's first segment at once (TCP_QUICKACK, on Linux):
a server that writes the head and the body apart, with Nagle's algorithm on (Python's
http.server, many small servers), holds the body until the head is acknowledged, and on a
connection kept busy, request after request, the kernel delays that acknowledgement 40 ms.

And a plain http connection kept alive keeps its socket's timeout: urllib3 set it to the connect
timeout to send each request and back to the read timeout to read the answer, and each
settimeout() is an ioctl() that releases the interpreter's lock, a hand-off to another fetcher
thread where several are busy (see _TimeoutKeepingSocket).
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import requests.adapters
import urllib3
import urllib3.connection

from crawler.node.response_head import BrowserReadResponse

_current = threading.local()  # .deadline (monotonic) and .tickets of the fetch this thread runs


class _Watchdog:
    """Shuts down sockets whose deadline has passed; registering and cancelling are O(log n)."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, socket.socket]] = []
        self._live: set[int] = set()  # tickets not yet cancelled
        self._fired: set[int] = set()  # tickets whose socket was shut down, until their fetch asks
        self._tickets = itertools.count()
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None
        self._wake_at = float("inf")  # when the watchdog thread will look next (monotonic)

    def watch(self, sock: socket.socket, deadline: float) -> int:
        ticket = next(self._tickets)
        with self._changed:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="fetch-deadlines", daemon=True)
                self._thread.start()
            while self._heap and self._heap[0][1] not in self._live:  # fetches end in about the order
                heapq.heappop(self._heap)  # they began: dropping the ended ones here keeps the heap short
            heapq.heappush(self._heap, (deadline, ticket, sock))
            self._live.add(ticket)
            if deadline < self._wake_at:  # earlier than it will look: wake it (rare: deadlines only grow)
                self._changed.notify()
        return ticket

    def cancel(self, ticket: int) -> bool:
        """Stop watching; True if the deadline had passed and the socket was shut down."""
        with self._changed:
            self._live.discard(ticket)
            if ticket in self._fired:
                self._fired.discard(ticket)
                return True
            return False

    def _run(self) -> None:
        with self._changed:
            while True:
                while self._heap and self._heap[0][1] not in self._live:
                    heapq.heappop(self._heap)  # cancelled: the fetch ended in time
                wait = self._heap[0][0] - time.monotonic() if self._heap else None
                if wait is not None and wait <= 0:
                    _deadline, ticket, sock = heapq.heappop(self._heap)
                    self._live.discard(ticket)
                    self._fired.add(ticket)
                    try:
                        sock.shutdown(socket.SHUT_RDWR)  # wakes the read; urllib3 then drops the connection
                    except OSError:
                        pass
                    continue
                self._wake_at = self._heap[0][0] if self._heap else float("inf")
                self._changed.wait(wait)  # watch() holds the lock, so it sees _wake_at only while we wait


_WATCHDOG = _Watchdog()


class fetch_deadline:  # noqa: N801 - used as a context manager, like a function
    """Within `with fetch_deadline(deadline) as watch:`, responses read by this thread end by
    `deadline`; `watch.cut()` says whether one was cut (a shut-down head can look like a short
    but complete one to http.client, so the caller must ask)."""

    def __init__(self, deadline: float) -> None:
        self._deadline = deadline
        self._cut = False

    def __enter__(self) -> fetch_deadline:
        _current.deadline, _current.tickets = self._deadline, []
        return self

    def cut(self) -> bool:
        """True if the deadline cut a response of this fetch (watches end here; call once, at the end)."""
        for ticket in _current.tickets:
            self._cut |= _WATCHDOG.cancel(ticket)
        _current.tickets = []
        return self._cut

    def __exit__(self, *_exc: object) -> None:
        self.cut()
        _current.deadline = None


@contextlib.contextmanager
def brief_reads(sock: socket.socket, seconds: float) -> Iterator[None]:
    """Within `with brief_reads(sock, seconds):`, reads on `sock` end by `seconds` from now (the
    socket is shut down). Apart from the fetch's deadline: `watch.cut()` does not count it."""
    ticket = _WATCHDOG.watch(sock, time.monotonic() + seconds)
    try:
        yield
    finally:
        _WATCHDOG.cancel(ticket)


_QUICKACK = getattr(socket, "TCP_QUICKACK", None)  # Linux only; elsewhere acknowledgements keep their timing


def _watched(sock: Any) -> None:
    """Before a response head is read: watch the socket for the fetch's deadline, and ack at once."""
    if not isinstance(sock, socket.socket):
        return
    if _QUICKACK is not None:  # not sticky: the kernel may leave quick-ack mode, so set it per response
        sock.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)
    deadline = getattr(_current, "deadline", None)
    if deadline is not None:
        _current.tickets.append(_WATCHDOG.watch(sock, deadline))


class _TimeoutKeepingSocket(socket.socket):
    """A socket whose settimeout() to the timeout it has already does nothing. CPython's makes an
    ioctl() each time, which lets go of the interpreter's lock: with eight fetcher threads busy on
    small pictures from nginx, some 45 us of CPU a fetch went to those hand-offs (of some 600)."""

    __slots__ = ()  # the layout of socket.socket, so that a connected socket can become one

    def settimeout(self, value: float | None) -> None:
        if value is None or value != self.gettimeout():
            super().settimeout(value)


class _WatchedHTTPConnection(urllib3.connection.HTTPConnection):
    response_class = BrowserReadResponse  # the answer, not a 103 Early Hints before it; a head of any lines

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        if type(sock) is socket.socket:
            sock.__class__ = _TimeoutKeepingSocket
        return sock

    def request(self, *args: Any, **kwargs: Any) -> None:
        if self.sock is not None:  # kept alive: the request goes into an empty buffer of a connected
            self.timeout = self.sock.gettimeout()  # socket, under the read timeout it already has
        super().request(*args, **kwargs)

    def getresponse(self) -> urllib3.HTTPResponse:  # type: ignore[override]  # same call, typeshed's stub differs
        _watched(self.sock)  # the body is read after this returns: the watch stays until the fetch ends
        return super().getresponse()


class _WatchedHTTPSConnection(urllib3.connection.HTTPSConnection):
    response_class = BrowserReadResponse

    def getresponse(self) -> urllib3.HTTPResponse:  # type: ignore[override]  # as above
        sock = self.sock
        _watched(getattr(sock, "socket", sock))  # an SSLTransport wraps the socket in some set-ups
        return super().getresponse()


class _WatchedHTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


def watched(adapter: requests.adapters.HTTPAdapter) -> requests.adapters.HTTPAdapter:
    """`adapter`, its direct connections made to obey fetch_deadline (through a proxy, only the
    per-read timeouts apply)."""
    adapter.poolmanager.pool_classes_by_scheme = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}
    return adapter

"""A response's head read as a browser reads it: past interim (1xx) responses, to 256 KiB of lines.

http.client passes over 100 Continue only, and takes any other 1xx for the answer: a 103 Early
Hints (Node's `writeEarlyHints` and Go's net/http send one over HTTP/1.1 to any client) or a 102
Processing, with no body, and the page behind it was lost as `http-103`. Their heads are hints for
a browser's preloading, nothing a crawler acts on: they are read and dropped.

http.client also refuses a head of more than 100 header lines, which Microsoft 365's pages and
Akamai's edges send (cookies, debug and telemetry headers) and a browser reads: Chromium bounds a
head by its size, 256 KiB, not by its lines. So does the node: the status lines and headers of a
response and of the interim ones before it, 256 KiB in all, of at most 8,192 lines (a head of
short lines costs the header parser some 3 µs a line), each line at most http.client's 64 KiB.
"""

from __future__ import annotations

import http.client
from typing import Any, BinaryIO

MAX_INTERIM_RESPONSES = 16  # before one answer; a server that sends more speaks no HTTP we can read
HEAD_BYTES = 256 * 1024  # Chromium's bound on a response head (HttpStreamParser's header buffer)
HEAD_LINES = 8_192  # about HEAD_BYTES in lines of 32 bytes

# http.client reads a count of header lines from this module global; there is no other way to it
# before Python 3.15 (HTTPConnection's max_response_headers), which still starts from it.
setattr(http.client, "_MAXHEADERS", HEAD_LINES)  # noqa: B010  # private: not in typeshed


class _HeadBudget:
    """The response's file as the head's reader sees it: lines, to HEAD_BYTES in all."""

    def __init__(self, fp: BinaryIO) -> None:
        self._fp = fp
        self._left = HEAD_BYTES

    def readline(self, limit: int = -1) -> bytes:
        line = self._fp.readline(limit)
        self._left -= len(line)
        if self._left < 0:
            raise http.client.HTTPException(f"a response head over {HEAD_BYTES // 1024} KiB")
        return line

    def __getattr__(self, name: str) -> Any:  # anything else http.client may ask of its file
        return getattr(self._fp, name)


class BrowserReadResponse(http.client.HTTPResponse):
    """An HTTPResponse whose head is read as a browser reads it (see the module)."""

    def begin(self) -> None:
        file = self.fp
        self.fp = _HeadBudget(file)  # type: ignore[assignment]  # what begin() reads the head from
        try:
            super().begin()
        finally:
            if isinstance(self.fp, _HeadBudget):  # the body is read from the file itself
                self.fp = file

    def _read_status(self) -> tuple[str, int, str]:
        for _ in range(MAX_INTERIM_RESPONSES):
            version, status, reason = super()._read_status()  # type: ignore[misc]  # private: not in typeshed
            # 100 is passed over by begin() itself; 101 would end HTTP on the connection (never asked for)
            if not 101 < status < 200:
                return version, status, reason
            http.client.parse_headers(self.fp)  # the budgeted file: within the head's bounds
        raise http.client.HTTPException(f"more than {MAX_INTERIM_RESPONSES} interim (1xx) responses")

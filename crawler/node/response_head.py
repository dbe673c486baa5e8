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

And it reads a plain head without the `email` package. http.client hands every head to email's
parser, built for mail (continuation lines, envelopes, multipart bodies): 21.8 µs for nginx's
eight fields, against 1.4 µs to read their lines, of a fetch's 400-odd on a kept-alive connection
(7.4 µs read here). A head whose every line is `Name: value` (a name of visible ASCII, no line
break inside the value) and whose type is neither multipart nor message/* is made into the same
HTTPMessage that parser makes of it, field for field; any other head (a continuation line, a line
with no colon, a bare CR, an envelope line, a multipart type) still goes to the parser. http.client
reads heads through its module's `parse_headers` alone: that is the function replaced, at import,
as `_MAXHEADERS` is.
"""

from __future__ import annotations

import email.parser
import http.client
import re
from typing import Any, BinaryIO

MAX_INTERIM_RESPONSES = 16  # before one answer; a server that sends more speaks no HTTP we can read
HEAD_BYTES = 256 * 1024  # Chromium's bound on a response head (HttpStreamParser's header buffer)
HEAD_LINES = 8_192  # about HEAD_BYTES in lines of 32 bytes

# http.client reads a count of header lines from this module global; there is no other way to it
# before Python 3.15 (HTTPConnection's max_response_headers), which still starts from it.
setattr(http.client, "_MAXHEADERS", HEAD_LINES)  # noqa: B010  # private: not in typeshed

# A field line email's parser reads as one field with nothing to repair: its header pattern's name
# characters (visible ASCII but the colon, at least one), the colon, then the value, whose leading
# blanks it strips, up to one line ending. A CR or LF anywhere else ends a line for it.
_PLAIN_FIELD = re.compile(rb"([\x21-\x39\x3b-\x7e]+):[ \t]*([^\r\n]*)\r?\n")
_HEAD_ENDS = (b"\r\n", b"\n", b"")  # what http.client's _read_headers stops at (and keeps)
_EMAIL_PARSED = ("multipart", "message")  # types whose (empty) body email's parser goes on to read
_stock_parse_headers = globals().get("_stock_parse_headers", http.client.parse_headers)  # a reload keeps it


def parse_headers(fp: Any, _class: type[http.client.HTTPMessage] = http.client.HTTPMessage,
                  *args: Any, **kwargs: Any) -> http.client.HTTPMessage:
    """http.client.parse_headers, with a plain head read without the `email` package (see the module)."""
    if args or kwargs:  # a later Python's parameters: its own function knows them
        return _stock_parse_headers(fp, _class, *args, **kwargs)
    lines = http.client._read_headers(fp)  # type: ignore[attr-defined]  # private: its bounds, unchanged
    fields = []
    for line in lines:
        if line in _HEAD_ENDS:
            break
        field = _PLAIN_FIELD.fullmatch(line)
        if field is None:
            return _by_email(lines, _class)
        fields.append((field[1].decode("iso-8859-1"), field[2].decode("iso-8859-1")))
    message = _class()
    message._headers = fields  # type: ignore[attr-defined]  # what the parser's set_raw appends to
    message.set_payload("")  # the parser's: the (empty) rest after the head
    if message.get_content_maintype() in _EMAIL_PARSED:
        return _by_email(lines, _class)
    return message


def _by_email(lines: list[bytes], _class: type[http.client.HTTPMessage]) -> http.client.HTTPMessage:
    """What http.client makes of these head lines (its parse_headers, after reading them)."""
    message: http.client.HTTPMessage = email.parser.Parser(_class=_class).parsestr(
        b"".join(lines).decode("iso-8859-1"))
    return message


setattr(http.client, "parse_headers", parse_headers)  # noqa: B010  # what begin() calls, by its module's name


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

"""Interim (1xx) responses ahead of the answer, passed over as browsers and curl pass over them.

http.client passes over 100 Continue only, and takes any other 1xx for the answer: a 103 Early
Hints (Node's `writeEarlyHints` and Go's net/http send one over HTTP/1.1 to any client) or a 102
Processing, with no body, and the page behind it was lost as `http-103`. Their heads are hints for
a browser's preloading, nothing a crawler acts on: they are read and dropped.
"""

from __future__ import annotations

import http.client

MAX_INTERIM_RESPONSES = 16  # before one answer; a server that sends more speaks no HTTP we can read


class AnswerAfterInterim(http.client.HTTPResponse):
    """An HTTPResponse that reads past interim responses to the answer (see the module)."""

    def _read_status(self) -> tuple[str, int, str]:
        for _ in range(MAX_INTERIM_RESPONSES):
            version, status, reason = super()._read_status()  # type: ignore[misc]  # private: not in typeshed
            # 100 is passed over by begin() itself; 101 would end HTTP on the connection (never asked for)
            if not 101 < status < 200:
                return version, status, reason
            http.client.parse_headers(self.fp)  # bounded as the answer's head is (100 lines of 64 KiB)
        raise http.client.HTTPException(f"more than {MAX_INTERIM_RESPONSES} interim (1xx) responses")

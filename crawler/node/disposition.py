"""The file name a server gives a response in its Content-Disposition header (RFC 6266).

Forums and galleries serve pictures from `attachment.php?id=…`, whose URL names no file; the
header does, as a browser's "Save image as" and `wget --content-disposition` read it. The name is
passed on as the server sent it: whoever uses it as a file name makes it safe (storage.safe_name).
"""

from __future__ import annotations

import email.header
import email.message
import email.utils

from crawler.messages import MAX_TEXT_CHARS


def disposition_filename(header: str | None) -> str | None:
    """The `filename*` (decoded from its charset) or else the `filename` of a Content-Disposition
    header; None when it gives none, or one longer than MAX_TEXT_CHARS."""
    if not header or len(header) > 4 * MAX_TEXT_CHARS:
        return None
    message = email.message.Message()
    message["Content-Disposition"] = header
    plain: str | None = None
    encoded: str | None = None
    for name, value in message.get_params([], header="content-disposition")[1:]:
        if name != "filename":
            continue
        if isinstance(value, tuple):  # filename*=UTF-8''%E5%86%99… : RFC 6266 says it wins
            try:
                encoded = encoded or email.utils.collapse_rfc2231_value(value, errors="replace")
            except (ValueError, LookupError):  # a charset no codec can be ("a\0b''x.png"): as if absent
                pass
        elif plain is None:
            plain = _encoded_words_decoded(_as_utf8(value))
    filename = encoded or plain
    return filename if filename and len(filename) <= MAX_TEXT_CHARS else None


def _encoded_words_decoded(value: str) -> str:
    """A plain filename sent as MIME encoded words (=?utf-8?B?…?=, as some PHP applications send
    it, and Chromium reads it) decoded; any other text as it is."""
    if not (value.startswith("=?") and value.endswith("?=")):
        return value
    try:
        return str(email.header.make_header(email.header.decode_header(value)))
    except (ValueError, LookupError, UnicodeError):
        return value


def _as_utf8(value: str) -> str:
    """A plain filename whose bytes were UTF-8 (what servers send, and browsers read, though the
    header is Latin-1 on the wire) decoded as such; any other text as it is."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return value

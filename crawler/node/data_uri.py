"""What a `data:` URI (RFC 2397) holds: its media type and its bytes, read as the Fetch standard's
data: URL processor reads them. The extractor asks it what a page's data: picture is; node.inline
decodes the pictures it saves with it."""

from __future__ import annotations

import base64
import binascii
import re
from urllib.parse import unquote_to_bytes

_HEADER = re.compile(r"[\t\n\f\r ]*data:([^,]*),", re.IGNORECASE)
_BASE64 = re.compile(r";[\t\n\f\r ]*base64[\t\n\f\r ]*$", re.IGNORECASE)  # what ends the header of base64 data
_ASCII_WHITESPACE = re.compile(r"[\t\n\f\r ]+")


class UnreadableDataUri(ValueError):
    """A data: URI that holds no bytes to read (`reason`: not-an-image, too-large or corrupt-image,
    as an image that is not saved is counted)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def media_type(uri: str) -> str | None:
    """The media type a data: URI names, lowercased ("" where it names none); None for no data: URI."""
    header = _HEADER.match(uri)
    return header.group(1).split(";", 1)[0].strip(" \t\n\f\r").lower() if header else None


def decoded(uri: str, max_bytes: int) -> bytes:
    """The bytes a data: URI holds (percent-decoded, then forgiving-base64-decoded when its header
    ends in ;base64); raise UnreadableDataUri if it is none, or holds more than `max_bytes`."""
    header = _HEADER.match(uri)
    if header is None:
        raise UnreadableDataUri("not-an-image")
    body = uri[header.end():]
    if len(body) > 3 * max_bytes + 4:  # percent-encoding takes 3 characters a byte, base64 4 for 3
        raise UnreadableDataUri("too-large")
    data = unquote_to_bytes(body)
    if _BASE64.search(header.group(1)):
        text = _ASCII_WHITESPACE.sub("", data.decode("ascii", errors="replace"))
        if len(text) % 4 == 0:
            text = text.removesuffix("=").removesuffix("=")
        if len(text) % 4 == 1:
            raise UnreadableDataUri("corrupt-image")
        try:
            data = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise UnreadableDataUri("corrupt-image") from exc
    if len(data) > max_bytes:
        raise UnreadableDataUri("too-large")
    return data

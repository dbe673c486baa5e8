"""The encoding a page's links are sent in: a browser writes the query of an http(s) URL in its
page's encoding (the URL standard's "query percent-encode"), so `?q=café` on a Windows-1252 page
asks for `?q=caf%E9` and `?p=日本` on a Shift_JIS page for `?p=%93%FA%96%7B`. The path is UTF-8
whatever the page. A character the encoding lacks is sent as its HTML reference, `&#128512;`."""

from __future__ import annotations

import re
from urllib.parse import quote

from crawler.node.charsets import UNICODE, codec_of

_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


def query_codec(label: str | None) -> str | None:
    """The Python codec a page labelled `label` writes its URLs' queries in (as the Encoding standard
    reads the label: node.charsets); None for UTF-8 (an unknown label included: the page is read as
    UTF-8 then)."""
    codec = codec_of(label)
    if codec is None or codec in UNICODE:  # (URLs of UTF-16 pages are UTF-8 too)
        return None
    return codec


def with_query_in(ref: str, codec: str) -> str:
    """`ref` with the non-ASCII characters of its query percent-encoded in `codec`."""
    path, mark, query = ref.partition("?")
    if not mark or query.isascii():
        return ref

    def encoded(run: re.Match[str]) -> str:
        return quote(run.group(0).encode(codec, errors="xmlcharrefreplace"), safe="")

    return f"{path}?{_NON_ASCII.sub(encoded, query)}"

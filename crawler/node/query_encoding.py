"""The encoding a page's links are sent in: a browser writes the query of an http(s) URL in its
page's encoding (the URL standard's "query percent-encode"), so `?q=café` on a Windows-1252 page
asks for `?q=caf%E9` and `?p=日本` on a Shift_JIS page for `?p=%93%FA%96%7B`. The path is UTF-8
whatever the page. A character the encoding lacks is sent as its HTML reference, `&#128512;`."""

from __future__ import annotations

import codecs
import re
from urllib.parse import quote

# Labels whose encoding the Encoding standard (which browsers follow) implements as another,
# wider one: ASCII and Latin-1 pages are read, and their links written, as Windows-1252.
_AS_BROWSERS_READ_THEM = {"ascii": "cp1252", "latin_1": "cp1252", "iso8859_9": "cp1254", "tis_620": "cp874",
                          "shift_jis": "cp932", "euc_kr": "cp949", "gb2312": "gbk", "big5": "big5hkscs"}
_UTF = ("utf_8", "utf_8_sig", "utf_16", "utf_16_le", "utf_16_be")  # URLs of UTF-16 pages are UTF-8 too
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


def query_codec(label: str | None) -> str | None:
    """The Python codec a page labelled `label` writes its URLs' queries in; None for UTF-8 (an
    unknown label included: the page is read as UTF-8 then)."""
    if not label:
        return None
    try:
        name = codecs.lookup(label.strip()).name.replace("-", "_")
    except (LookupError, ValueError):  # unknown, or a NUL in it
        return None
    if name in _UTF:
        return None
    return _AS_BROWSERS_READ_THEM.get(name, name)


def with_query_in(ref: str, codec: str) -> str:
    """`ref` with the non-ASCII characters of its query percent-encoded in `codec`."""
    path, mark, query = ref.partition("?")
    if not mark or query.isascii():
        return ref

    def encoded(run: re.Match[str]) -> str:
        return quote(run.group(0).encode(codec, errors="xmlcharrefreplace"), safe="")

    return f"{path}?{_NON_ASCII.sub(encoded, query)}"

"""A charset label read as browsers read it, by the Encoding standard (the order a page's charsets
are taken in is extract._page_codec's).

The Encoding standard gives several narrow charsets' labels to wider encodings, the ones pages so
labelled are written in: GB2312 is read as GBK, EUC-KR as Windows-949, Shift_JIS as Windows-31J,
Big5 as Big5-HKSCS, ISO-8859-1 and US-ASCII as Windows-1252, ISO-8859-9 as Windows-1254, TIS-620
as Windows-874. Python's codecs of those names are the narrow ones, and read any character outside
them as U+FFFD. webencodings holds the standard's labels (tinycss2, which reads our stylesheets,
decodes with it); a label it lacks is Python's, read as the standard reads Python's name for it.
"""

from __future__ import annotations

import codecs
import functools

import webencodings

# Python's codecs that are no charset a page is written in, as a page or its server may name them
# all the same (charset=idna raised a UnicodeError as the page was decoded, and the page failed);
# base64, rot13 and their kind are no text encoding at all.
_NO_CHARSETS = frozenset({"idna", "punycode", "raw-unicode-escape", "unicode-escape", "undefined"})
UTF_16 = frozenset({"utf-16-le", "utf-16-be", "utf-16"})  # the codecs of its labels
UNICODE = frozenset({"utf-8", "utf-8-sig", *UTF_16})  # the codecs of Unicode's encodings, as codec_of names them


@functools.lru_cache(maxsize=256)  # a crawl meets a few labels, each on every page of a site
def codec_of(label: str | None) -> str | None:
    """The Python codec a text labelled `label` is read in; None where it names no text encoding."""
    if not label:
        return None
    encoding = webencodings.lookup(label)
    if encoding is None:  # not the standard's (cp936, euc_kr, latin-1): Python's codec, by the standard's name for it
        try:
            codec = codecs.lookup(label.strip())
        except (LookupError, ValueError):  # unknown, or a NUL in it
            return None
        if not codec._is_text_encoding or codec.name in _NO_CHARSETS:
            return None
        encoding = webencodings.lookup(codec.name.replace("_", "-"))
        if encoding is None:
            return codec.name
    if encoding.name == "replacement":  # ISO-2022-KR, HZ: a browser shows such a page as one U+FFFD; read as undeclared
        return None
    if encoding.name == "x-user-defined":  # Windows-1252 below 0x80; a private use area above
        return "cp1252"
    return encoding.codec_info.name


def meta_charset(label: str) -> str | None:
    """The codec a page's <meta> charset names: a page read so far in ASCII bytes is no UTF-16 page, so
    UTF-16 there is UTF-8 (Word's HTML says charset=unicode), as the HTML standard says."""
    codec = codec_of(label)
    return "utf-8" if codec in UTF_16 else codec

"""Pictures a page carries inside itself as `data:` URIs (RFC 2397): decoded, checked and saved by
the node that read the page, since no request will ever bring them.

R Markdown and Quarto reports, notebooks exported to HTML, pages made with pandoc's
--embed-resources or saved by SingleFile hold every picture so (the extractor says which of a
page's data: URIs it shows: not a stylesheet's icons, nor a lazy loader's placeholder). They are
checked and filtered as downloaded images are, and saved under the page's host folder.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import unquote_to_bytes

from crawler.config import FetchLimits, ImageFilter
from crawler.messages import InlineImage
from crawler.node.images import NotAnImage
from crawler.node.keep import keep_image

_HEADER = re.compile(r"[\t\n\f\r ]*data:([^,]*),", re.IGNORECASE)
_BASE64 = re.compile(r";[\t\n\f\r ]*base64[\t\n\f\r ]*$", re.IGNORECASE)  # what ends the header of base64 data
_ASCII_WHITESPACE = re.compile(r"[\t\n\f\r ]+")


def decoded(uri: str, max_bytes: int) -> bytes:
    """The bytes a data: URI holds, as the Fetch standard's data: URL processor reads them
    (percent-decoded, then forgiving-base64-decoded when its header ends in ;base64); raise
    NotAnImage if it is none, or holds more than `max_bytes`."""
    header = _HEADER.match(uri)
    if header is None:
        raise NotAnImage("not-an-image")
    body = uri[header.end():]
    if len(body) > 3 * max_bytes + 4:  # percent-encoding takes 3 characters a byte, base64 4 for 3
        raise NotAnImage("too-large")
    data = unquote_to_bytes(body)
    if _BASE64.search(header.group(1)):
        text = _ASCII_WHITESPACE.sub("", data.decode("ascii", errors="replace"))
        if len(text) % 4 == 0:
            text = text.removesuffix("=").removesuffix("=")
        if len(text) % 4 == 1:
            raise NotAnImage("corrupt-image")
        try:
            data = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise NotAnImage("corrupt-image") from exc
    if len(data) > max_bytes:
        raise NotAnImage("too-large")
    return data


def save_inline(entries: Iterable[list[str]], page_url: str, output_dir: Path, limits: FetchLimits,
                image_filter: ImageFilter) -> tuple[list[InlineImage], dict[str, int]]:
    """Save the pictures of `entries` (the page's PageRefs.inline) that are images the crawl keeps;
    return them as the result reports them, and how many were not saved, by reason. A disk that
    cannot be written raises StorageError, as for any image."""
    saved: list[InlineImage] = []
    unsaved: Counter[str] = Counter()
    for uri, _, found_as, alt, title, caption in entries:
        try:
            data = decoded(uri, limits.max_image_bytes)
            image, _info, _written = keep_image(data, hashlib.sha256(data).hexdigest(), page_url, output_dir,
                                                limits.max_image_pixels, image_filter)
        except NotAnImage as exc:  # Unwanted too: filtered out
            unsaved[exc.reason] += 1
            continue
        saved.append({"found_as": found_as, "alt": alt, "title": title, "caption": caption, "image": image})
    return saved, dict(unsaved)

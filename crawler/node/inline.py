"""Pictures a page carries inside itself as `data:` URIs (RFC 2397): decoded, checked and saved by
the node that read the page, since no request will ever bring them.

R Markdown and Quarto reports, notebooks exported to HTML, pages made with pandoc's
--embed-resources or saved by SingleFile hold every picture so (the extractor says which of a
page's data: URIs it shows: not a stylesheet's icons, nor a lazy loader's placeholder). They are
checked and filtered as downloaded images are, and saved under the page's host folder.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from crawler.config import FetchLimits, ImageFilter
from crawler.messages import InlineImage
from crawler.node import data_uri
from crawler.node.images import NotAnImage
from crawler.node.keep import keep_image


def decoded(uri: str, max_bytes: int) -> bytes:
    """The bytes a data: URI holds (node.data_uri); raise NotAnImage if it is none, or holds more
    than `max_bytes`."""
    try:
        return data_uri.decoded(uri, max_bytes)
    except data_uri.UnreadableDataUri as exc:
        raise NotAnImage(exc.reason) from exc


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

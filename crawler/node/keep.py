"""An image's bytes checked, filtered and saved: what a downloaded picture and one written into
its page (a data: URI) go through alike."""

from __future__ import annotations

from pathlib import Path

from crawler.config import ImageFilter
from crawler.messages import SavedImage
from crawler.node.images import ImageInfo, NotAnImage, filter_reason, identify
from crawler.storage import image_path, save_atomic


class Unwanted(NotAnImage):
    """An image the crawl's filters leave out (--types, --min-*): skipped, where NotAnImage fails."""


def keep_image(data: bytes, sha256: str, url: str, output_dir: Path, max_pixels: int, rules: ImageFilter,
               filename: str | None = None) -> tuple[SavedImage, ImageInfo, bool]:
    """Save `data` under the folder of `url`'s host if it is an image the crawl keeps; return what
    the result reports of it, what it is, and whether this call wrote the file (False: the same
    content was there). Raise NotAnImage, or Unwanted, with the reason; StorageError if the disk
    cannot be written."""
    info = identify(data, max_pixels)
    unwanted = filter_reason(info, len(data), rules)
    if unwanted is not None:
        raise Unwanted(unwanted)
    relative = image_path(url, sha256, info.extension)
    written = save_atomic(output_dir, relative, data)
    image: SavedImage = {"path": relative, "sha256": sha256, "bytes": len(data), "content_type": info.content_type,
                         "width": info.width, "height": info.height, "filename": filename}
    return image, info, written

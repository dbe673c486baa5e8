"""Is this really an image? Sniff and check bytes with Pillow, without decoding the pixels."""

from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from crawler.config import ImageFilter

# Pillow format name → (our type name, file extension, content type)
_FORMATS = {
    "JPEG": ("jpeg", "jpg", "image/jpeg"),
    "MPO": ("jpeg", "jpg", "image/jpeg"),  # multi-picture JPEG from cameras; a JPEG to every viewer
    "PNG": ("png", "png", "image/png"),
    "GIF": ("gif", "gif", "image/gif"),
    "WEBP": ("webp", "webp", "image/webp"),
    "BMP": ("bmp", "bmp", "image/bmp"),
    "TIFF": ("tiff", "tif", "image/tiff"),
    "ICO": ("ico", "ico", "image/x-icon"),
    "AVIF": ("avif", "avif", "image/avif"),
}
# Only these parsers ever see downloaded bytes (Pillow knows dozens of rarer, less hardened formats).
Image.init()
_PILLOW_FORMATS = [name for name in _FORMATS if name in Image.OPEN]  # MPO opens through the JPEG parser
_SVG_START = re.compile(rb"^\s*(<\?xml[^>]*>\s*)?(<!--.*?-->\s*)*(<!DOCTYPE svg[^>]*>\s*)?<svg[\s>]", re.S | re.I)


class NotAnImage(Exception):
    """The bytes are not an image we accept; `reason` is the token recorded for it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ImageInfo:
    type: str  # jpeg, png, gif, webp, bmp, tiff, ico, avif or svg
    extension: str
    content_type: str
    width: int | None
    height: int | None


def identify(data: bytes, max_pixels: int) -> ImageInfo:
    """Return what image `data` is, or raise NotAnImage; never decodes more than the header."""
    if _SVG_START.match(data[:4096]):
        return ImageInfo("svg", "svg", "image/svg+xml", None, None)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=_PILLOW_FORMATS) as picture:
                width, height = picture.size
                if width * height > max_pixels:
                    raise NotAnImage("decompression-bomb")
                picture.verify()  # checks structure (PNG chunk CRCs and the like) without decoding
                pillow_format = picture.format or ""
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise NotAnImage("decompression-bomb") from exc
    except UnidentifiedImageError as exc:
        raise NotAnImage("not-an-image") from exc
    except NotAnImage:
        raise
    except Exception as exc:  # Pillow raises many types on corrupt data (SyntaxError, struct.error…)
        raise NotAnImage("corrupt-image") from exc
    if pillow_format not in _FORMATS:
        raise NotAnImage("not-an-image")
    kind, extension, content_type = _FORMATS[pillow_format]
    return ImageInfo(kind, extension, content_type, width, height)


def filter_reason(info: ImageInfo, size: int, rules: ImageFilter) -> str | None:
    """Return why a verified image is not wanted (a `skipped` reason), or None to keep it."""
    if info.type not in rules.types:
        return f"type-{info.type}"
    if size < rules.min_bytes:
        return "too-small-bytes"
    if info.width is not None and info.width < rules.min_width:
        return "too-narrow"
    if info.height is not None and info.height < rules.min_height:
        return "too-short"
    return None

"""Is this really an image? Sniff and check bytes without decoding pixels: Pillow for raster types,
an entity-safe streaming XML parse (defusedxml) for SVG, which is stored as-is and never rendered."""

from __future__ import annotations

import importlib
import io
import re
import warnings
from dataclasses import dataclass
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser
from PIL import Image, UnidentifiedImageError

from crawler.config import ImageFilter
from crawler.messages import Found
from crawler.node import heif, jxl

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
# Only these parsers ever see downloaded bytes (Pillow knows dozens of rarer, less hardened formats),
# and only their modules are loaded: Image.init() would import all of them, 30 ms of every node's start.
Image.preinit()  # BMP, GIF, JPEG, PNG
for _plugin in ("WebP", "Tiff", "Ico", "Avif"):
    try:
        importlib.import_module(f"PIL.{_plugin}ImagePlugin")
    except ImportError:  # AVIF came with Pillow 11.2
        pass
_PILLOW_FORMATS = [name for name in _FORMATS if name in Image.OPEN]  # MPO opens through the JPEG parser
# Pillow's words on a picture's broken metadata ("Corrupt EXIF data"), printed by a node for the first
# of each kind: the picture is still one, and what became of it is said as an outcome. Set once, for
# the process: catch_warnings() is not safe in threads.
warnings.filterwarnings("ignore", category=UserWarning, module=r"PIL\.")
_XML_START = re.compile(rb"^(?:\xef\xbb\xbf)?\s*<")  # no raster format starts with "<"
_SVG_NAMES = ("svg", "{http://www.w3.org/2000/svg}svg")
_SVG_LENGTH = re.compile(r"\s*([0-9]*\.?[0-9]+)\s*(?:px)?\s*")
_SVG_FEED_BYTES = 256 * 1024  # the parser is fed in pieces, so a huge file is never held twice


class NotAnImage(Exception):
    """The bytes are not an image we accept; `reason` is the token recorded for it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ImageInfo:
    type: str  # jpeg, png, gif, webp, bmp, tiff, ico, avif, jxl, heic or svg
    extension: str
    content_type: str
    width: int | None
    height: int | None
    # An SVG's <image href>s (and <use>/<feImage> of another file), each with its found_as: the
    # pictures it loads when it is shown as a document (<object>, <embed>, <iframe>, a link, a
    # <use>); through <img> or CSS it loads none.
    loads: tuple[tuple[str, Found], ...] = ()


def identify(data: bytes, max_pixels: int) -> ImageInfo:
    """Return what image `data` is, or raise NotAnImage; never decodes more than the header."""
    if _XML_START.match(data[:1024]):
        return _identify_svg(data)
    if jxl.is_jxl(data):
        return _sized_by_its_header(jxl.size(data), max_pixels, "jxl", "jxl", "image/jxl")
    if heif.is_heif(data):  # HEVC inside: HEIC; another codec in the container: HEIF
        extension = "heic" if heif.is_hevc(data) else "heif"
        return _sized_by_its_header(heif.size(data), max_pixels, "heic", extension, f"image/{extension}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=_PILLOW_FORMATS) as picture:
                width, height = picture.size
                if width * height > max_pixels:
                    raise NotAnImage("decompression-bomb")
                if _turned_a_quarter(picture):  # as a browser shows it (its naturalWidth and naturalHeight)
                    width, height = height, width
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


_QUARTER_TURNS = frozenset({5, 6, 7, 8})  # EXIF orientations that turn the stored pixels by 90° or 270°


def _turned_a_quarter(picture: Image.Image) -> bool:
    """Whether the picture's EXIF orientation turns it a quarter: a phone stores a portrait photo's
    pixels sideways and says so, and browsers show it turned. Broken EXIF turns nothing (a browser
    shows such a picture as stored), and is no reason to refuse it."""
    block = picture.info.get("exif")  # read with the header (JPEG, WebP, PNG's eXIf): no pixel is decoded
    if not isinstance(block, bytes):
        return False
    try:
        tags = Image.Exif()
        tags.load(block)
        return tags.get(0x0112) in _QUARTER_TURNS  # 0x0112: Orientation
    except Exception:  # whatever a hostile EXIF block makes Pillow's TIFF reader raise
        return False


def _sized_by_its_header(dimensions: tuple[int, int] | None, max_pixels: int, kind: str, extension: str,
                         content_type: str) -> ImageInfo:
    """A picture Pillow does not read (JPEG XL, HEIC), of the size its own header gives (see jxl
    and heif); None there is a header that names none."""
    if dimensions is None:
        raise NotAnImage("corrupt-image")
    width, height = dimensions
    if width * height > max_pixels:
        raise NotAnImage("decompression-bomb")
    return ImageInfo(kind, extension, content_type, width, height)


_SVG_NAMESPACE = "{http://www.w3.org/2000/svg}"
_SVG_LOADERS = {name: found_as for tag, found_as in (("image", Found.SVG_IMAGE), ("use", Found.SVG_USE),
                                                            ("feImage", Found.SVG_IMAGE))
                for name in (tag, _SVG_NAMESPACE + tag)}
_HREFS = ("href", "{http://www.w3.org/1999/xlink}href")
MAX_SVG_LOADS = 1000  # pictures one SVG may name; a file that names more is read no further for them


class _SvgRoot:
    """An XML parser target that keeps the root element and the files the SVG loads (nothing else
    is built in memory)."""

    def __init__(self) -> None:
        self.tag: str | None = None
        self.attributes: dict[str, str] = {}
        self.loads: list[tuple[str, Found]] = []

    def start(self, tag: str, attributes: dict[str, str]) -> None:
        if self.tag is None:
            self.tag, self.attributes = tag, dict(attributes)
        elif tag in _SVG_LOADERS and len(self.loads) < MAX_SVG_LOADS:
            for name in _HREFS:
                ref = attributes.get(name, "").strip()
                if ref and not ref.startswith(("#", "data:")):  # #id is inside this file
                    self.loads.append((ref, _SVG_LOADERS[tag]))

    def end(self, tag: str) -> None:
        pass

    def data(self, text: str) -> None:
        pass

    def close(self) -> None:
        pass


def _identify_svg(data: bytes) -> ImageInfo:
    """Check that `data` is well-formed XML whose root is <svg>, refusing any entity declaration.

    Entities are where XML's dangers live (billion laughs, external files); a DOCTYPE without
    them is common in real SVG and harmless. Scripts inside are kept as they are: the crawler
    never renders an SVG, and the gallery shows it only through <img>, where scripts do not run.
    """
    root = _SvgRoot()
    parser = DefusedXMLParser(target=root, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    try:
        for start in range(0, len(data), _SVG_FEED_BYTES):
            parser.feed(data[start:start + _SVG_FEED_BYTES])
        parser.close()
    except DefusedXmlException as exc:
        raise NotAnImage("unsafe-svg") from exc
    except (ParseError, LookupError) as exc:  # LookupError: an encoding expat does not know (`encoding="x"`)
        raise NotAnImage("corrupt-image" if root.tag in _SVG_NAMES else "not-an-image") from exc
    if root.tag not in _SVG_NAMES:
        raise NotAnImage("not-an-image")
    width, height = _svg_size(root.attributes)
    return ImageInfo("svg", "svg", "image/svg+xml", width, height, tuple(root.loads))


def _svg_size(attributes: dict[str, str]) -> tuple[int | None, int | None]:
    """Pixel width and height from the root's width/height (plain or px), else its viewBox; None if unknown."""
    sizes = [_SVG_LENGTH.fullmatch(attributes.get(name, "")) for name in ("width", "height")]
    if sizes[0] and sizes[1]:
        return round(float(sizes[0].group(1))), round(float(sizes[1].group(1)))
    box = attributes.get("viewBox", "").replace(",", " ").split()
    try:
        if len(box) == 4:
            return round(float(box[2])), round(float(box[3]))
    except ValueError:
        pass
    return None, None


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

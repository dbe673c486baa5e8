import io
import struct
import zlib

import pytest
from PIL import Image

from benchmarks.site import make_image
from crawler.config import ImageFilter
from crawler.node import heif
from crawler.node.images import NotAnImage, filter_reason, identify
from tests.loaded_modules import modules_after

MAX_PIXELS = 100_000_000


@pytest.mark.parametrize("extension, kind, content_type", [
    ("png", "png", "image/png"), ("jpg", "jpeg", "image/jpeg"), ("gif", "gif", "image/gif"),
    ("webp", "webp", "image/webp"),
])
def test_images_identify_sniffs_type_and_size(extension: str, kind: str, content_type: str) -> None:
    info = identify(make_image(3, extension), MAX_PIXELS)
    assert (info.type, info.content_type, info.width, info.height) == (kind, content_type, 24, 16)


def _photo_turned(orientation: int | None, exif: bytes | None = None) -> bytes:
    """A 400×200 JPEG as a phone camera stores it, with the EXIF orientation that turns it upright."""
    out = io.BytesIO()
    if exif is None and orientation is not None:
        tags = Image.Exif()
        tags[0x0112] = orientation
        exif = tags.tobytes()
    Image.new("RGB", (400, 200), "red").save(out, "JPEG", **({"exif": exif} if exif else {}))
    return out.getvalue()


@pytest.mark.parametrize("orientation, size", [(None, (400, 200)), (1, (400, 200)), (3, (400, 200)),
                                               (6, (200, 400)), (8, (200, 400)), (5, (200, 400))])
def test_images_a_photo_is_as_wide_and_tall_as_a_browser_shows_it(orientation: int | None,
                                                                   size: tuple[int, int]) -> None:
    # A phone stores a portrait photo's pixels sideways and says in EXIF how to turn them, as every
    # browser does: a 400×200 file turned by orientation 6 is shown 200 wide and 400 tall (its
    # naturalWidth). It was 400×200 in the manifest, and --min-width 300 kept it.
    info = identify(_photo_turned(orientation), MAX_PIXELS)
    assert (info.width, info.height) == size


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")  # pytest lifts the node's own filter of it
def test_images_a_photo_whose_exif_is_broken_is_still_an_image() -> None:
    info = identify(_photo_turned(None, exif=b"Exif\x00\x00MM\x00*\x00\x00\xff\xff\xff\xff"), MAX_PIXELS)
    assert (info.type, info.width, info.height) == ("jpeg", 400, 200)


def test_images_html_served_as_an_image_is_rejected() -> None:
    with pytest.raises(NotAnImage) as caught:
        identify(b"<!doctype html><html><body>Not found</body></html>", MAX_PIXELS)
    assert caught.value.reason == "not-an-image"


def _png_header_claiming(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64))


def test_images_decompression_bomb_is_rejected_without_decoding() -> None:
    with pytest.raises(NotAnImage) as caught:
        identify(_png_header_claiming(100_000, 100_000), MAX_PIXELS)
    assert caught.value.reason == "decompression-bomb"


def test_images_truncated_png_is_corrupt() -> None:
    data = make_image(5, "png")
    with pytest.raises(NotAnImage) as caught:
        identify(data[: len(data) // 2], MAX_PIXELS)
    assert caught.value.reason in ("corrupt-image", "not-an-image")


@pytest.mark.parametrize("data, size", [
    (b'<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="48" height="32px">'
     b'<rect width="4" height="4"/></svg>', (48, 32)),
    (b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 16"><path d="M0 0h4v4z"/></svg>', (24, 16)),
    (b'\xef\xbb\xbf<!-- logo -->\n<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" '
     b'"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">\n<svg width="100%"><script>alert(1)</script></svg>',
     (None, None)),
])
def test_images_svg_with_or_without_declaration_is_an_image_kept_by_default(data: bytes, size: tuple) -> None:
    info = identify(data, MAX_PIXELS)
    assert (info.type, info.extension, info.content_type) == ("svg", "svg", "image/svg+xml")
    assert (info.width, info.height) == size
    assert filter_reason(info, 100, ImageFilter()) is None  # SVG is on by default
    assert filter_reason(info, 100, ImageFilter(types=("png",))) == "type-svg"  # --types can leave it out


BILLION_LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY lol "lol">'
                  + b"".join(b'<!ENTITY lol%d "%s">' % (n, (b"&lol%d;" % (n - 1) if n > 1 else b"&lol;") * 10)
                             for n in range(1, 10))
                  + b']><svg xmlns="http://www.w3.org/2000/svg"><text>&lol9;</text></svg>')


@pytest.mark.parametrize("data", [
    BILLION_LAUGHS,
    b'<!DOCTYPE svg [<!ENTITY secret SYSTEM "file:///etc/passwd">]><svg><text>&secret;</text></svg>',
])
def test_images_svg_with_entities_is_refused_without_expanding_them(data: bytes) -> None:
    with pytest.raises(NotAnImage) as caught:
        identify(data, MAX_PIXELS)
    assert caught.value.reason == "unsafe-svg"


@pytest.mark.parametrize("data, reason", [
    (b"<svg><rect></svg>", "corrupt-image"),  # an SVG, but not well-formed
    (b'<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"/>', "not-an-image"),
    (b"<feed><entry/></feed>", "not-an-image"),
    # an encoding expat does not know raised LookupError: the node called it an internal error
    (b'<?xml version="1.0" encoding="bogus"?><svg xmlns="http://www.w3.org/2000/svg"/>', "not-an-image"),
])
def test_images_xml_that_is_not_a_well_formed_svg_is_refused(data: bytes, reason: str) -> None:
    with pytest.raises(NotAnImage) as caught:
        identify(data, MAX_PIXELS)
    assert caught.value.reason == reason


def test_images_filters_by_bytes_and_dimensions() -> None:
    picture = Image.new("RGB", (50, 10))
    out = io.BytesIO()
    picture.save(out, "PNG")
    info = identify(out.getvalue(), MAX_PIXELS)
    assert filter_reason(info, 1000, ImageFilter(min_bytes=2000)) == "too-small-bytes"
    assert filter_reason(info, 1000, ImageFilter(min_width=60)) == "too-narrow"
    assert filter_reason(info, 1000, ImageFilter(min_height=11)) == "too-short"
    assert filter_reason(info, 1000, ImageFilter(min_width=50, min_height=10)) is None
    assert filter_reason(info, 1000, ImageFilter(types=("jpeg",))) == "type-png"


def test_images_load_only_the_parsers_of_the_accepted_formats() -> None:
    # Pillow knows dozens of formats; a node loads the parsers of the ones it accepts and no other
    # (Image.init() imported them all: 30 ms of every node's start, and code no image ever needs).
    loaded, _stderr = modules_after("from crawler.node.images import identify\n"
                                    "from benchmarks.site import make_image\n"
                                    "for extension in ('png', 'jpg', 'gif', 'webp'):\n"
                                    "    identify(make_image(1, extension), 10**6)\n", ("PIL.",))
    plugins = {name for name in loaded if name.endswith("ImagePlugin")}
    assert {"PIL.PngImagePlugin", "PIL.JpegImagePlugin", "PIL.WebPImagePlugin", "PIL.IcoImagePlugin"} <= plugins
    assert not plugins & {"PIL.EpsImagePlugin", "PIL.PdfImagePlugin", "PIL.PsdImagePlugin", "PIL.XpmImagePlugin"}


# JPEG XL files cjxl 0.7 wrote (whole, or their first bytes: only the header is read), bare
# codestreams and one in the container. Pillow reads none: they were all "not-an-image".
_JXL_24X16 = bytes.fromhex("ff0a03414271210012880200f4005de5120000152aa38c1bbc9cebf9f24387c5b48deb0c6db56d6149a2c8"
                           "38364927704812ab20ec9c84004a070138f321e0a6b5e67af44486ca50a09204")
_JXL_640X480 = bytes.fromhex("ff0af83e90505c08001288020094c20e0c000000")  # the width as a ratio, 4:3
_JXL_513X9999 = bytes.fromhex("ff0a743801010890505c08001288020030c3255c")  # the width written out


def _box(kind: bytes, content: bytes) -> bytes:
    return struct.pack(">I", 8 + len(content)) + kind + content


_JXL_CONTAINER = b"\x00\x00\x00\x0cJXL \r\n\x87\n" + _box(b"ftyp", b"jxl \x00\x00\x00\x00jxl ")


@pytest.mark.parametrize("data, size", [
    (_JXL_24X16, (24, 16)), (_JXL_640X480, (640, 480)), (_JXL_513X9999, (513, 9999)),
    (_JXL_CONTAINER + _box(b"Exif", b"\x00" * 10) + _box(b"jxlc", _JXL_24X16), (24, 16)),
    (_JXL_CONTAINER + _box(b"jxlp", b"\x00\x00\x00\x00" + _JXL_513X9999[:4])
     + _box(b"jxlp", b"\x80\x00\x00\x01" + _JXL_513X9999[4:]), (513, 9999)),  # split inside its header
])
def test_images_jpeg_xl_is_an_image_of_the_size_its_header_says(data: bytes, size: tuple[int, int]) -> None:
    info = identify(data, MAX_PIXELS)
    assert (info.type, info.extension, info.content_type, (info.width, info.height)) == (
        "jxl", "jxl", "image/jxl", size)
    assert filter_reason(info, len(data), ImageFilter()) is None  # kept by default


@pytest.mark.parametrize("data, reason", [
    (_JXL_513X9999, "decompression-bomb"),  # more pixels than allowed, here 5,129,487
    (b"\xff\x0a\x74", "corrupt-image"),  # the header cut short
    (_JXL_CONTAINER + _box(b"ftyp", b""), "corrupt-image"),  # no codestream
])
def test_images_jpeg_xl_too_large_or_without_a_header_is_refused(data: bytes, reason: str) -> None:
    with pytest.raises(NotAnImage) as caught:
        identify(data, 5_000_000)
    assert caught.value.reason == reason


# The header (everything before the picture's data) of a HEIC file heif-enc (libheif 1.15) wrote
# from a 300x200 PNG, and of the AVIF it wrote from the same PNG. Pillow reads no HEIC: it was
# "not-an-image", and a forum's or gallery's links to iPhone photos were lost.
_HEIC_300X200 = bytes.fromhex(
    "0000001c6674797068656963000000006d696631686569636d696166000001436d657461000000000000002168646c72"
    "000000000000000070696374000000000000000000000000000000000e7069746d00000000000100000022696c6f6300"
    "000000444000010001000000000167000100000000000000720000002369696e6600000000000100000015696e666502"
    "000000000100006876633100000000c369707270000000a56970636f00000079687663430103700000000000000000003c"
    "f000fcfdf8f800000f03200001001840010c01ffff03700000030090000003000003003cba0240210001002c420101037000"
    "00030090000003000003003ca009880c9df96ea4929ae6e04040c0800000030080000003008422000100074401c172b062"
    "400000001469737065000000000000012c000000c8000000107069786900000000030808080000001669706d61000000"
    "0000000001000103810283")
_AVIF_HEADER = bytes.fromhex("0000001c667479706176696600000000617669666d6966316d696166000000ea6d657461")
_HEIF_FTYP = _box(b"ftyp", b"mif1\x00\x00\x00\x00mif1miaf")  # HEIF of another codec: image/heif


def _ispe(width: int, height: int) -> bytes:
    return _box(b"ispe", b"\x00" * 4 + struct.pack(">II", width, height))


def _heif_with(*properties: bytes, ftyp: bytes = _HEIF_FTYP) -> bytes:
    return ftyp + _box(b"meta", b"\x00" * 4 + _box(b"hdlr", b"\x00" * 25) + _box(b"iprp", _box(b"ipco", b"".join(
        properties))))


@pytest.mark.parametrize("data, extension, content_type, size", [
    (_HEIC_300X200, "heic", "image/heic", (300, 200)),
    (_heif_with(_ispe(512, 512), _ispe(4032, 3024), _ispe(320, 240)), "heif", "image/heif", (4032, 3024)),  # a grid
])
def test_images_heic_is_an_image_of_the_size_its_header_says(data: bytes, extension: str, content_type: str,
                                                             size: tuple[int, int]) -> None:
    info = identify(data, MAX_PIXELS)
    assert (info.type, info.extension, info.content_type, (info.width, info.height)) == (
        "heic", extension, content_type, size)
    assert filter_reason(info, len(data), ImageFilter()) is None  # kept by default
    assert not heif.is_heif(_AVIF_HEADER)  # the same container around AV1 is AVIF, Pillow's to read


@pytest.mark.parametrize("data, reason", [
    (_heif_with(_ispe(100_000, 100_000)), "decompression-bomb"),
    (_heif_with(_box(b"colr", b"nclx")), "corrupt-image"),  # no size anywhere
    (_HEIC_300X200[:200], "corrupt-image"),  # cut short before its properties
    (b"\xff\xff\xff\xffftypmif1\x00\x00\x00\x00" + b"mif1" * 100_000, "corrupt-image"),  # brands without end
])
def test_images_heic_too_large_or_without_a_size_is_refused(data: bytes, reason: str) -> None:
    with pytest.raises(NotAnImage) as caught:
        identify(data, 5_000_000)
    assert caught.value.reason == reason


def test_images_heic_boxes_nested_without_end_are_read_to_a_bound() -> None:
    nested = _ispe(5, 6)
    for _ in range(3000):  # deeper than Python's recursion limit
        nested = _box(b"meta", b"\x00" * 4 + nested)
    with pytest.raises(NotAnImage) as caught:
        identify(_HEIF_FTYP + nested, MAX_PIXELS)
    assert caught.value.reason == "corrupt-image"

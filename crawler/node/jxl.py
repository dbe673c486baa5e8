"""JPEG XL: the signature and the picture's size, read from the first bytes of its header.

Pillow reads no JPEG XL. Safari shows it, and sites offer it to the browsers that do in a
<picture>'s <source type="image/jxl">. Its size is the first field of the codestream
(ISO/IEC 18181-1, SizeHeader), in bits read from the lowest of each byte up. The codestream comes
bare, or in the ISO BMFF container, whole in a `jxlc` box or split in `jxlp` boxes.
"""

from __future__ import annotations

import itertools

from crawler.node.bmff import boxes

CODESTREAM = b"\xff\x0a"
CONTAINER = b"\x00\x00\x00\x0cJXL \r\n\x87\n"
_HEADER_BYTES = 16  # what is read of a codestream: a SizeHeader takes 68 bits at most
_MAX_BOXES = 64  # boxes looked through for the codestream (Exif, XMP and the like come first)
# width = height * numerator / denominator, for the seven ratios the header can name
_RATIOS = {1: (1, 1), 2: (12, 10), 3: (4, 3), 4: (3, 2), 5: (16, 9), 6: (5, 4), 7: (2, 1)}
_SIZE_BITS = ((9, 1), (13, 1), (18, 1), (30, 1))  # U32(Bits(9) + 1, Bits(13) + 1, ...)


def is_jxl(data: bytes) -> bool:
    return data.startswith((CODESTREAM, CONTAINER))


def size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a JPEG XL file, or None where its header cannot be read."""
    codestream = data if data.startswith(CODESTREAM) else _codestream_in_boxes(data)
    if codestream is None or not codestream.startswith(CODESTREAM):
        return None
    return _size_header(codestream[2:2 + _HEADER_BYTES])


def _codestream_in_boxes(data: bytes) -> bytes | None:
    """The start of the codestream in the container: a `jxlc` box's content, or the `jxlp` boxes'
    (each after its 4-byte index) joined as far as the header reaches."""
    parts: list[bytes] = []
    for kind, start, end in itertools.islice(boxes(data), _MAX_BOXES):
        if kind == b"jxlc":
            return data[start:end]
        if kind == b"jxlp":
            parts.append(data[start + 4:end])
            if sum(map(len, parts)) >= len(CODESTREAM) + _HEADER_BYTES:
                break
    return b"".join(parts) or None


class _Bits:
    """Bits of `data`, each byte's lowest first."""

    def __init__(self, data: bytes) -> None:
        self._value = int.from_bytes(data, "little")
        self._available = len(data) * 8
        self._at = 0

    def read(self, count: int) -> int:
        if self._at + count > self._available:
            raise EOFError
        value = (self._value >> self._at) & ((1 << count) - 1)
        self._at += count
        return value


def _size_header(header: bytes) -> tuple[int, int] | None:
    bits = _Bits(header)
    try:
        small = bits.read(1)
        height = _dimension(bits, small)
        ratio = bits.read(3)
        if ratio:
            numerator, denominator = _RATIOS[ratio]
            width = height * numerator // denominator
        else:
            width = _dimension(bits, small)
    except EOFError:
        return None
    return width, height


def _dimension(bits: _Bits, small: int) -> int:
    if small:
        return (bits.read(5) + 1) * 8
    count, offset = _SIZE_BITS[bits.read(2)]
    return bits.read(count) + offset

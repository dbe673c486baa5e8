"""HEIF and HEIC: the signature and the picture's size, read from the boxes of the file's header.

Pillow reads no HEIC (HEVC in the HEIF container, ISO/IEC 23008-12): it is what iPhones take, and
Safari shows it. The file starts with an `ftyp` box whose brands name it; the size of each image
is in an `ispe` (image spatial extents) property, in meta > iprp > ipco. Of several (a grid's
tiles, a thumbnail), the largest is the picture's. AVIF is the same container around AV1, and
Pillow's to read.
"""

from __future__ import annotations

import struct

from crawler.node.bmff import boxes

_HEVC_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"})
_HEIF_BRANDS = _HEVC_BRANDS | {b"mif1", b"msf1"}
_AVIF_BRANDS = frozenset({b"avif", b"avis"})
_MAX_BRANDS = 64  # compatible brands read from `ftyp` (files name two to five)
_MAX_BOXES = 4096  # boxes looked through in all, at every level of the header
_MAX_DEPTH = 4  # meta > iprp > ipco > ispe; a file that nests them deeper names no size there
_CONTAINERS = {b"meta": 4, b"iprp": 0, b"ipco": 0}  # the boxes that lead to `ispe`: bytes before their children


def brands(data: bytes) -> frozenset[bytes]:
    """The major and compatible brands of a file that starts with an `ftyp` box; none otherwise."""
    if len(data) < 16 or data[4:8] != b"ftyp":
        return frozenset()
    end = min(struct.unpack(">I", data[:4])[0], len(data), 16 + 4 * _MAX_BRANDS)
    return frozenset([data[8:12], *(data[at:at + 4] for at in range(16, end - 3, 4))])


def is_heif(data: bytes) -> bool:
    """A HEIF file (HEIC among them), not an AVIF one."""
    named = brands(data)
    return bool(named & _HEIF_BRANDS) and not named & _AVIF_BRANDS


def is_hevc(data: bytes) -> bool:
    """A HEIF file whose brands say its pictures are HEVC: image/heic rather than image/heif."""
    return bool(brands(data) & _HEVC_BRANDS)


def size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of the largest image a HEIF file describes, or None where it names none."""
    sizes: list[tuple[int, int]] = []
    budget = [_MAX_BOXES]
    _read_boxes(data, 0, len(data), sizes, budget, _MAX_DEPTH)
    return max(sizes, key=lambda pair: pair[0] * pair[1]) if sizes else None


def _read_boxes(data: bytes, start: int, end: int, sizes: list[tuple[int, int]], budget: list[int],
                depth: int) -> None:
    """Look through the boxes between `start` and `end`, into those that lead to `ispe` (`depth`
    levels more at most)."""
    for kind, content, box_end in boxes(data, start, end):
        if budget[0] <= 0 or box_end > end:
            return  # cut short: what was read so far stands
        budget[0] -= 1
        if kind == b"ispe" and box_end - content >= 12:
            sizes.append(struct.unpack(">II", data[content + 4:content + 12]))
        elif kind in _CONTAINERS and depth > 1:
            _read_boxes(data, content + _CONTAINERS[kind], box_end, sizes, budget, depth - 1)

"""The boxes of the ISO base media file format (ISO/IEC 14496-12), the container of JPEG XL, HEIF
and AVIF files: each a 32-bit size, a 4-byte type, then its content (a size of 1: a 64-bit size
follows the type; 0: the box runs to the end of what holds it)."""

from __future__ import annotations

import struct
from collections.abc import Iterator


def boxes(data: bytes, start: int = 0, end: int | None = None) -> Iterator[tuple[bytes, int, int]]:
    """(type, where its content starts, where it ends) of each box from `start` on, until `end` (the
    end of `data` by default) or a malformed header. A box may claim to end past `end`: the caller
    decides whether what is there will do."""
    end = len(data) if end is None else end
    at = start
    while at + 8 <= end:
        size, kind = struct.unpack(">I4s", data[at:at + 8])
        header = 8
        if size == 1:
            if at + 16 > end:
                return
            size, header = struct.unpack(">Q", data[at + 8:at + 16])[0], 16
        box_end = end if size == 0 else at + size
        if box_end < at + header:
            return
        yield kind, at + header, box_end
        at = box_end

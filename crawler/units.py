"""Numbers as a person reads them: sizes in the unit that suits them, counts with their nouns."""

from __future__ import annotations


def size_text(count: int | float) -> str:
    """Bytes in decimal units that suit the number: 512 B, 3.3 kB, 33 kB, 4.2 MB, 1.25 GB."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= scale:
            value = count / scale
            digits = 2 if unit == "GB" else 0 if value >= 10 and unit == "kB" else 1
            return f"{value:.{digits}f} {unit}"
    return f"{int(count)} B"


def plural(count: int, noun: str, many: str | None = None) -> str:
    """`count` with its noun in the right number: 1 image, 2 images, 1 duplicate, 3 hosts."""
    return f"{count} {noun if count == 1 else many or noun + 's'}"

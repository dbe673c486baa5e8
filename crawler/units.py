"""Numbers as a person reads and types them: sizes and times with units, counts with their nouns, clock times;
and paths as typed in a command to paste."""

from __future__ import annotations

import math
import re
import shlex
import time
from collections.abc import Callable
from datetime import datetime, timezone


def size_text(count: int | float) -> str:
    """Bytes in decimal units that suit the number: 512 B, 3.3 kB, 33 kB, 4.2 MB, 1.25 GB."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= scale:
            value = count / scale
            digits = 2 if unit == "GB" else 0 if value >= 10 and unit == "kB" else 1
            return f"{value:.{digits}f} {unit}"
    return f"{int(count)} B"


def duration_text(seconds: float) -> str:
    """A run's length as a person reads it: 0.42 s (not "0.0 s" for a crawl of one page), 12.3 s,
    4 min 5 s, 2 h 3 min (not "7380.0 s" for a night's crawl)."""
    if seconds < 1:
        return f"{seconds:.2f} s"
    if seconds < 60:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    if whole < 3600:
        return f"{whole // 60} min {whole % 60} s"
    return f"{whole // 3600} h {whole % 3600 // 60} min"


def ascii_digits(text: str) -> bool:
    """Whether `text` is digits as HTTP, ports and our ids write them: ASCII ones. str.isdigit takes
    "²" (Latin-1's 0xB2) too, which int() and float() refuse with a ValueError."""
    return text.isascii() and text.isdigit()


def host_port(host: str, port: int | str) -> str:
    """HOST:PORT as a user gives it back: an IPv6 address in brackets, as URLs write it ([::1]:50000)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def plural(count: int, noun: str, many: str | None = None) -> str:
    """`count` with its noun in the right number: 1 image, 2 images, 1 duplicate, 3 hosts."""
    return f"{count} {noun if count == 1 else many or noun + 's'}"


_SIZE_UNITS = {"": 1, "b": 1, "k": 10**3, "kb": 10**3, "kib": 2**10, "m": 10**6, "mb": 10**6, "mib": 2**20,
               "g": 10**9, "gb": 10**9, "gib": 2**30}
_TIME_UNITS = {"": 1.0, "s": 1.0, "ms": 0.001, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
_NUMBER_AND_UNIT = re.compile(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*")


def parse_size(text: str) -> int:
    """Bytes from `5M`, `20MiB`, `512k`, `1.5GB` or a plain number; ValueError with a sentence otherwise."""
    match = _NUMBER_AND_UNIT.fullmatch(text)
    unit = match.group(2).lower() if match else ""
    if match is None or unit not in _SIZE_UNITS:
        _refuse_negative(text, parse_size)
        raise _not_a_size(text)
    return checked_size(float(match.group(1)) * _SIZE_UNITS[unit], text)


def checked_size(count: float, said: str) -> int:
    """`count` bytes as a size option holds them, if it may (a crawl file gives numbers as they are)."""
    if not math.isfinite(count):
        raise _not_a_size(said)
    if count < 0:
        raise ValueError(f"must not be negative: {said!r}")
    return int(count)


def _not_a_size(text: str) -> ValueError:
    return ValueError(f"{text!r} is not a size (like 5M, 20MiB, 512k or a number of bytes)")


_TIME_PARTS = re.compile(r"(?:[0-9]*\.?[0-9]+[a-zA-Z]+){2,}")  # 1m30s, 1h30m, 2d12h
_TIME_PART = re.compile(r"([0-9]*\.?[0-9]+)([a-zA-Z]+)")


# No option has a use for a longer time, and a thread cannot wait much longer (about 292 years:
# `--timeout 100000000000000000000` killed each node's deadline thread with an OverflowError).
LONGEST_SECONDS = 3650 * 86400.0


def parse_seconds(text: str) -> float:
    """Seconds from `1.5s`, `500ms`, `2m`, `1h`, `1m30s` or a plain number; ValueError with a sentence otherwise."""
    match = _NUMBER_AND_UNIT.fullmatch(text)
    unit = match.group(2).lower() if match else ""
    if match is not None and unit in _TIME_UNITS:
        return checked_seconds(float(match.group(1)) * _TIME_UNITS[unit], text)
    if _TIME_PARTS.fullmatch(text.strip()):  # each part with its unit, as Go and systemd write durations
        parts = [(float(number), unit.lower()) for number, unit in _TIME_PART.findall(text)]
        if all(unit in _TIME_UNITS for _number, unit in parts):
            return checked_seconds(sum(number * _TIME_UNITS[unit] for number, unit in parts), text)
    _refuse_negative(text, parse_seconds)
    raise _not_a_time(text)


def checked_seconds(seconds: float, said: str) -> float:
    """`seconds` as a time option holds them, if it may (a crawl file gives numbers as they are)."""
    if not math.isfinite(seconds):
        raise _not_a_time(said)
    if seconds < 0:
        raise ValueError(f"must not be negative: {said!r}")
    if seconds > LONGEST_SECONDS:
        raise ValueError(f"{said!r} is longer than {seconds_option(LONGEST_SECONDS)} (ten years), "
                         "the longest time an option takes")
    return seconds


def _not_a_time(text: str) -> ValueError:
    return ValueError(f"{text!r} is not a time (like 1.5s, 500ms, 2m, 1h, 1m30s or a number of seconds)")


def _refuse_negative(text: str, parse: Callable[[str], float]) -> None:
    """Say so where `text` is a size or time but for its minus sign (`--delay -1` is no typo)."""
    unsigned = text.strip()
    if not unsigned.startswith("-"):
        return
    try:
        parse(unsigned[1:])
    except ValueError:
        return
    raise ValueError(f"must not be negative: {text!r}")


def size_option(count: int) -> str:
    """A size as it may be typed back: 5MiB, 20MiB, 512k, 0."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10), ("G", 10**9), ("M", 10**6), ("k", 10**3)):
        if count and count % scale == 0:
            return f"{count // scale}{unit}"
    return str(count)


def seconds_option(seconds: float) -> str:
    """A time as it may be typed back: 7d, 1m, 90s, 0.5s."""
    if seconds and seconds % 86400 == 0:
        return f"{seconds / 86400:g}d"
    if seconds and seconds % 3600 == 0:
        return f"{seconds / 3600:g}h"
    if seconds and seconds % 60 == 0:
        return f"{seconds / 60:g}m"
    return f"{seconds:g}s"


_clock_text: tuple[int, str] = (0, "")


def path_option(path: object) -> str:
    """A path as a shell reads it back in a command to paste (`my crawl` → `'my crawl'`)."""
    return shlex.quote(str(path))


def now_iso() -> str:
    """The current UTC time to the second, formatted once per second (records come by the thousand)."""
    global _clock_text
    second = int(time.time())
    if _clock_text[0] != second:
        _clock_text = (second, datetime.fromtimestamp(second, timezone.utc).isoformat(timespec="seconds"))
    return _clock_text[1]

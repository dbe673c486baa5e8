"""Seed lists: one URL per line, blank lines and `#` comments allowed; bad lines reported, not fatal."""

from __future__ import annotations

import codecs
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit

from crawler.errors import ConfigError
from crawler.urls import absolute, canonical


@dataclass
class Seeds:
    urls: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # "file:line: what is wrong", one per bad line


def _check(text: str, where: str, seeds: Seeds) -> None:
    url = absolute(text, text) if "://" in text else None
    if url is None or canonical(url) is None:
        hint = f"; did you mean {_as_url(text, 'https')}?" if "://" not in text and _looks_like_a_host(text) else ""
        what = "an http(s) URL a browser would refuse (its host, port or length)" if _HTTP.match(text) \
            else "not an http(s) URL"
        seeds.problems.append(f"{where}: {what}: {text!r:.100}{hint}")
        return
    parts = urlsplit(url) if "@" in url else None  # a user's name comes before an "@"
    if parts is not None and (parts.username is not None or parts.password is not None):  # it may hold a password
        seeds.problems.append(f"{where}: a user name or password in the URL of {parts.hostname}: put them in an "
                              "--auth-file (lines HOST USER:PASSWORD), where neither ps nor the output shows them")
        return
    seeds.urls.append(url)


_PORT = re.compile(r":\d{1,5}$")
_HTTP = re.compile(r"https?://.", re.IGNORECASE)


def _looks_like_a_host(text: str) -> bool:
    """`example.com`, `example.com/gallery`, `localhost:8080`: a name with a dot or a port (or
    `localhost`), no spaces, not a file name we know."""
    host = text.split("/", 1)[0]
    named = "." in host or bool(_PORT.search(host)) or host.lower() == "localhost"
    return named and " " not in text and not host.endswith((".txt", ".csv", ".list", ".lst"))


def _as_url(text: str, scheme: str) -> str:
    """What `text` (a host and maybe a path) means with a scheme: a bare host gets its root path."""
    return f"{scheme}://{text}" + ("" if "/" in text else "/")


def read_seeds(sources: Iterable[str]) -> Seeds:
    """Return the seed URLs from files and URLs given on the command line, with the bad lines listed."""
    seeds = Seeds()
    for source in sources:
        if "://" in source:
            _check(source.strip(), "command line", seeds)
            continue
        if source == STANDARD_INPUT:
            lines, where = _standard_input_lines(), "standard input"
        else:
            lines, where = _file_lines(source), source
        for number, line in enumerate(lines, start=1):
            text = line.strip()
            if text and not text.startswith("#"):
                _check(text, f"{where}:{number}", seeds)
    return seeds


STANDARD_INPUT = "-"  # a seed list piped in, as wget -i - and gallery-dl -i - read theirs


def _file_lines(source: str) -> list[str]:
    path = Path(source)
    if not path.exists() and _looks_like_a_host(source):
        raise ConfigError(f"{source!r} is neither a seed file nor a URL; did you mean {_as_url(source, 'https')} "
                          f"(or {_as_url(source, 'http')})?")
    try:
        with path.open("rb") as file:
            return _text_of(file, source).splitlines()
    except OSError as exc:
        raise ConfigError(f"cannot read seed file {source}: {exc.strerror}") from exc


_UNICODE_MARKS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),  # before UTF-16's: longer
                  (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
_SNIFFED_BYTES = 8192  # looked at for NUL bytes


def _text_of(file: BinaryIO, where: str) -> str:
    """A seed list's text: UTF-8, a byte order mark (Windows editors write one) not part of line 1;
    UTF-16 or UTF-32 where its mark says so (what Notepad saves as "Unicode"). A file with NUL
    bytes otherwise is no list (a picture given by mistake): one error, not a warning a "line",
    said from its first bytes, before the rest is read (`/dev/zero` has no end)."""
    head = file.read(_SNIFFED_BYTES)
    for mark, encoding in _UNICODE_MARKS:
        if head.startswith(mark):
            return (head + file.read()).decode(encoding, errors="replace")
    if b"\0" in head:
        raise ConfigError(f"{where} is not a list of URLs (it holds binary data): a seed file is text, one URL a line")
    return (head + file.read()).decode("utf-8-sig", errors="replace")


def _standard_input_lines() -> list[str]:
    """The lines piped in (read whole, once: a second "-" finds none), decoded as a seed file is."""
    if sys.stdin is None:  # started with no standard input at all
        return []
    if sys.stdin.isatty():
        print("reading seed URLs from the terminal, one a line; end with Ctrl-D", file=sys.stderr, flush=True)
    return _text_of(sys.stdin.buffer, "standard input").splitlines()

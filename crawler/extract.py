"""HTML bytes → the links and image URLs on the page. Pure: no network, no disk."""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field

from bs4 import BeautifulSoup, SoupStrainer
from bs4.builder import XMLParsedAsHTMLWarning

from crawler.messages import MAX_REFS_PER_PAGE
from crawler.urls import absolute, canonical

# Parse only the tags extraction reads: parsing is the crawler's main CPU cost. A SoupStrainer
# alone still sends every element and every text run through bs4's Python callbacks, so the
# tags we read are first cut out of the bytes (after dropping comments and script-like bodies,
# where a browser would not see tags either), and bs4 parses just those.
_TAGS = ["a", "area", "img", "source", "input", "meta", "base", "link"]
_STRAINER = SoupStrainer(_TAGS)
_HIDDEN = re.compile(rb"<!--.*?-->|<(script|style|template|textarea|noscript)\b.*?</\1\s*>", re.S | re.I)
_WANTED = re.compile(rb"<(?:" + "|".join(_TAGS).encode() + rb")\b(?:[^>\"']|\"[^\"]*\"|'[^']*')*>", re.I)
_LAZY_SRC = ("data-src", "data-original", "data-lazy-src", "data-url")
_LAZY_SRCSET = ("data-srcset", "data-lazy-srcset")
_META_IMAGE = ("og:image", "og:image:url", "og:image:secure_url", "twitter:image", "twitter:image:src")
_WHITESPACE = re.compile(r"\s+")
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?([A-Za-z0-9_.:-]+)", re.I)

warnings.filterwarnings("ignore", category=XMLParsedAsHTMLWarning)


@dataclass
class PageRefs:
    """What a page points at: [url, canonical] pairs, each canonical URL once, in page order."""

    links: list[list[str]] = field(default_factory=list)
    images: list[list[str]] = field(default_factory=list)


def srcset_urls(value: str) -> list[str]:
    """Return the URLs of an HTML `srcset` value ("a.jpg 1x, b.jpg 2x"), following the spec's split."""
    urls, position, length = [], 0, len(value)
    while position < length:
        while position < length and (value[position].isspace() or value[position] == ","):
            position += 1
        start = position
        while position < length and not value[position].isspace():
            position += 1
        url = value[start:position]
        if url.endswith(","):
            url = url.rstrip(",")
        else:  # skip the descriptors ("2x", "640w") up to the next comma, outside parentheses
            depth = 0
            while position < length and (value[position] != "," or depth):
                depth += {"(": 1, ")": -1}.get(value[position], 0)
                position += 1
        if url:
            urls.append(url)
    return urls


def decode(html: bytes, encoding: str | None) -> str:
    """Return `html` as text: the HTTP charset, else a <meta> charset, else UTF-8, else Windows-1252.

    Decided here, as browsers do, because bs4's own guessing runs a statistical detector over
    every undeclared page, which costs more than the parse.
    """
    declared = encoding or _declared_charset(html)
    if declared:
        try:
            return html.decode(declared, errors="replace")
        except LookupError:  # an unknown charset name: fall through to the guesses
            pass
    try:
        return html.decode("utf-8")
    except UnicodeDecodeError:
        return html.decode("windows-1252", errors="replace")


def _declared_charset(html: bytes) -> str | None:
    if html.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    match = _META_CHARSET.search(html[:4096])
    return match.group(1).decode("ascii") if match else None


class _Collector:
    def __init__(self, base: str) -> None:
        self.base = base
        self.refs = PageRefs()
        self._seen: set[str] = set()
        self._count = 0

    def add(self, ref: object, is_image: bool) -> None:
        if not isinstance(ref, str) or self._count >= MAX_REFS_PER_PAGE:
            return
        url = absolute(self.base, ref)
        key = canonical(url) if url else None
        if key is None or (is_image, key) in self._seen:
            return
        self._seen.add((is_image, key))  # type: ignore[arg-type]
        self._count += 1
        (self.refs.images if is_image else self.refs.links).append([url, key])  # type: ignore[list-item]

    def add_srcset(self, value: object) -> None:
        if isinstance(value, str):
            for url in srcset_urls(value):
                self.add(url, is_image=True)


def extract(html: bytes, page_url: str, encoding: str | None = None) -> PageRefs:
    """Return the links and image URLs of `html`, resolved against `page_url` or its <base href>."""
    wanted = b"\n".join(match.group(0) for match in _WANTED.finditer(_HIDDEN.sub(b"", html)))
    soup = BeautifulSoup(decode(wanted, encoding), "lxml", parse_only=_STRAINER)
    base = page_url
    base_tag = soup.find("base", href=True)
    if base_tag is not None:
        base = absolute(page_url, str(base_tag["href"])) or page_url
    found = _Collector(base)
    for tag in soup.find_all(_TAGS):
        name = tag.name
        if name in ("a", "area"):
            found.add(tag.get("href"), is_image=False)
        elif name == "img":
            found.add(tag.get("src"), is_image=True)
            found.add_srcset(tag.get("srcset"))
            for attribute in _LAZY_SRC:
                found.add(tag.get(attribute), is_image=True)
            for attribute in _LAZY_SRCSET:
                found.add_srcset(tag.get(attribute))
        elif name == "source":  # srcset is valid only in <picture>; <video><source src> has none
            found.add_srcset(tag.get("srcset"))
            for attribute in _LAZY_SRCSET:
                found.add_srcset(tag.get(attribute))
        elif name == "input":
            if str(tag.get("type", "")).strip().lower() == "image":
                found.add(tag.get("src"), is_image=True)
        elif name == "meta":
            key = tag.get("property") or tag.get("name")
            if isinstance(key, str) and key.strip().lower() in _META_IMAGE:
                found.add(tag.get("content"), is_image=True)
        elif name == "link":
            rel = tag.get("rel")
            rels = rel if isinstance(rel, list) else _WHITESPACE.split(str(rel or ""))
            if "image_src" in (r.lower() for r in rels):
                found.add(tag.get("href"), is_image=True)
    return found.refs

"""Sitemap bytes → the pages, images and further sitemaps a site lists. Pure and bounded.

Reads what sitemaps.org and Google describe: <urlset> with <url><loc> (pages) and Google's image
extension (<image:image> with <image:loc>, <image:caption>, <image:title>) and video thumbnails;
<sitemapindex> with <sitemap><loc>; text sitemaps (one URL a line); RSS 2.0, RSS 1.0 and Atom
feeds (items' links are pages; image enclosures, Media RSS images and thumbnails, a feed's logo
and icon are pictures); any of them gzipped. Elements are matched by local name, as search engines
do (real sitemaps get their namespaces wrong).

A sitemap is a stranger's file: the XML is parsed as a stream by a defusedxml parser that refuses
entity declarations (billion laughs, external entities); nothing is built but the entries; gzip is
inflated in steps, never past MAX_SITEMAP_BYTES, so a gzip bomb costs at most that.
"""

from __future__ import annotations

import codecs
import itertools
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from crawler.messages import MAX_URL_CHARS, MAX_WORDS_CHARS
from crawler.node.charsets import UNICODE, codec_of

MAX_SITEMAP_BYTES = 50 * 1024 * 1024  # the protocol's limit for one sitemap, uncompressed
MAX_SITEMAP_ENTRIES = 50_000  # the protocol's limit of URLs in one sitemap (images come on top)
_MAX_IMAGES = 100_000  # <image:image> entries read from one sitemap at most (1,000 a page is allowed)
_MAX_NESTING = 32  # elements open at once; a sitemap has four levels
_STEP_BYTES = 256 * 1024  # inflated and fed to the parser at a time
_GZIP_MAGIC = b"\x1f\x8b"
# What servers send an XML sitemap as: nginx and Apache send .xml as text/xml, and a .xml.gz as
# application/gzip, application/x-gzip or (nginx, which maps no .gz) application/octet-stream.
XML_TYPES = ("text/xml", "application/xml")
FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/rdf+xml")
GZIP_TYPES = ("application/gzip", "application/x-gzip", "application/octet-stream")
# The encoding an XML declaration names (its bytes are ASCII's in every encoding but UTF-16's,
# which expat reads itself, as it reads UTF-8)
_DECLARED_ENCODING = re.compile(rb"<\?xml[^>]*?\sencoding\s*=\s*[\"']([A-Za-z0-9._:-]{1,40})[\"']")


class SitemapError(Exception):
    """Not a sitemap we can read; `reason` is the word for the records."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class SitemapEntries:
    # (<url><loc>, its <lastmod> as POSIX time or None); and the lines of a text sitemap
    pages: list[tuple[str, float | None]] = field(default_factory=list)
    images: list[tuple[str, str, str]] = field(default_factory=list)  # (url, title, caption)
    sitemaps: list[str] = field(default_factory=list)  # <sitemap><loc> of an index
    truncated: bool = False  # cut at MAX_SITEMAP_BYTES or at the entry limits


_TEXTS = ("loc", "lastmod", "caption", "title", "thumbnail_loc")  # the elements whose text is kept
_FEED_ROOTS = ("rss", "feed", "RDF")  # RSS 2.0, Atom, RSS 1.0: sitemaps too, to sitemaps.org and Google
_FEED_TEXTS = ("link", "title", "url", "logo", "icon", "updated")


def _posix_time(text: str) -> float | None:
    """A W3C datetime (2024-06-01, 2024-06-01T10:00:00+02:00, …Z) as POSIX time; UTC when no zone is given."""
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return (when if when.tzinfo else when.replace(tzinfo=timezone.utc)).timestamp()


class _Enough(Exception):
    """Raised inside the parse when the limits are reached: what was read so far stands."""


class _Target:
    """A parser target that keeps the locations it passes and nothing else."""

    def __init__(self, found: SitemapEntries) -> None:
        self.found = found
        self.path: list[str] = []  # local names of the open elements
        self.text: list[str] | None = None  # characters of the <loc>/<caption>/<title> being read
        self.text_chars = 0
        self.image: dict[str, str] | None = None  # the <image:image> being read
        self.rooted = False  # the root element was a sitemap's
        self.feed: _Feed | None = None  # the root was a feed's: its reader
        self.page: tuple[str, float | None] = ("", None)  # the <url> being read: its loc and lastmod

    def start(self, tag: str, attributes: dict[str, str]) -> None:
        name = tag.rpartition("}")[2]
        if not self.path and not self.rooted:
            if name not in ("urlset", "sitemapindex", *_FEED_ROOTS):
                raise SitemapError("not-a-sitemap")  # an HTML page, a soft 404
            self.rooted = True
            self.feed = _Feed(self.found) if name in _FEED_ROOTS else None
        if len(self.path) >= _MAX_NESTING:
            raise SitemapError("bad-sitemap")
        self.path.append(name)
        if self.feed is not None:
            self.feed.start(name, attributes)
        elif name == "image" and "url" in self.path:
            self.image = {}
        if name in (_TEXTS if self.feed is None else _FEED_TEXTS):
            self.text, self.text_chars = [], 0

    def data(self, text: str) -> None:
        if self.text is not None and self.text_chars <= MAX_URL_CHARS:
            self.text.append(text)
            self.text_chars += len(text)

    def end(self, tag: str) -> None:
        name = self.path.pop()
        parent = self.path[-1] if self.path else ""
        texts = _TEXTS if self.feed is None else _FEED_TEXTS
        value = " ".join("".join(self.text).split()) if self.text is not None and name in texts else ""
        if name in texts:
            self.text = None
        found = self.found
        if self.feed is not None:
            self.feed.end(name, parent, value)
        elif name == "loc" and parent == "url" and len(self.path) == 2:
            self.page = (value, self.page[1])
        elif name == "lastmod" and parent == "url":
            self.page = (self.page[0], _posix_time(value))
        elif name == "url" and len(self.path) == 1:
            if self.page[0]:
                found.pages.append(self.page)
            self.page = ("", None)
        elif name == "loc" and parent == "sitemap":
            found.sitemaps.append(value)
        elif self.image is not None and parent == "image" and name in ("loc", "caption", "title"):
            self.image[name] = value
        elif name == "thumbnail_loc" and parent == "video" and len(found.images) < _MAX_IMAGES:
            found.images.append((value, "", ""))
        elif name == "image" and self.image is not None:
            if self.image.get("loc") and len(found.images) < _MAX_IMAGES:
                found.images.append((self.image["loc"], self.image.get("title", "")[:MAX_WORDS_CHARS],
                                     self.image.get("caption", "")[:MAX_WORDS_CHARS]))
            self.image = None
        if len(found.pages) + len(found.sitemaps) >= MAX_SITEMAP_ENTRIES:
            raise _Enough

    def close(self) -> None:
        pass


@dataclass
class _Item:
    """A feed's item (or entry) being read."""

    link: str = ""
    title: str = ""
    updated: float | None = None  # an Atom entry's <updated>: its lastmod, as a sitemap's is
    pictures: list[str] = field(default_factory=list)


class _Feed:
    """What a feed lists, as the sitemap target passes its elements (by local name): each item's
    (or entry's) link, a page; its pictures, with its title: an image enclosure (RSS's <enclosure>,
    Atom's <link rel="enclosure">), Media RSS's <media:content medium="image"> and
    <media:thumbnail>, a podcast's <itunes:image>; and the feed's own page, logo and icon."""

    def __init__(self, found: SitemapEntries) -> None:
        self.found = found
        self.item: _Item | None = None

    def start(self, name: str, attributes: dict[str, str]) -> None:
        if name in ("item", "entry"):
            self.item = _Item()
        kind = attributes.get("type", "")
        if name == "link" and "href" in attributes:  # Atom's
            rel = attributes.get("rel", "alternate")
            if rel == "alternate":
                self._page(attributes["href"])
            elif rel == "enclosure" and kind.startswith("image/"):
                self._picture(attributes["href"])
        elif name == "enclosure" and kind.startswith("image/") and "url" in attributes:
            self._picture(attributes["url"])
        elif name == "content" and "url" in attributes and (
                attributes.get("medium") == "image" or kind.startswith("image/")):
            self._picture(attributes["url"])
        elif name == "thumbnail" and "url" in attributes:
            self._picture(attributes["url"])
        elif name == "image" and "href" in attributes:  # a podcast's artwork (<itunes:image href>)
            self._picture(attributes["href"])

    def end(self, name: str, parent: str, value: str) -> None:
        item = self.item
        if name == "link" and value and parent in ("channel", "item"):  # RSS's (an <image>'s is the channel's)
            self._page(value)
        elif name == "title" and item is not None and parent in ("item", "entry"):
            item.title = value[:MAX_WORDS_CHARS]
        elif name == "updated" and item is not None and parent == "entry":
            item.updated = _posix_time(value)
        elif (name == "url" and parent == "image") or (name in ("logo", "icon") and parent == "feed"):
            self._picture(value)
        elif name in ("item", "entry") and item is not None:
            if item.link:
                self.found.pages.append((item.link, item.updated))
            self.found.images.extend((url, item.title, "") for url in item.pictures)
            self.item = None

    def _page(self, url: str) -> None:
        url = url.strip()
        if self.item is not None:
            self.item.link = self.item.link or url
        elif url:
            self.found.pages.append((url, None))

    def _picture(self, url: str) -> None:
        url = url.strip()
        item = self.item
        if not url or len(self.found.images) + (len(item.pictures) if item else 0) >= _MAX_IMAGES:
            return
        if item is not None:
            item.pictures.append(url)
        else:
            self.found.images.append((url, "", ""))


def read_sitemap(body: bytes, xml_only: bool = False) -> SitemapEntries:
    """The entries of a sitemap (XML or, unless `xml_only`, text; gzipped or not); raises
    SitemapError if it is none."""
    found = SitemapEntries()
    chunks = _inflated(body, found) if body.startswith(_GZIP_MAGIC) else _steps(body)
    first = b""
    for first in chunks:
        if first.strip():
            break
    if first.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        _read_xml(first, chunks, found)
    elif xml_only:
        raise SitemapError("not-a-sitemap")
    else:
        _read_text(first, chunks, found)
    return found


def _steps(body: bytes) -> Iterator[bytes]:
    for start in range(0, len(body), _STEP_BYTES):
        yield body[start:start + _STEP_BYTES]


def _inflated(body: bytes, found: SitemapEntries) -> Iterator[bytes]:
    """The gzip stream inflated a step at a time, never past MAX_SITEMAP_BYTES (a bomb stops there)."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    total = 0
    pending = body
    try:
        while pending and not inflater.eof:
            chunk = inflater.decompress(pending, _STEP_BYTES)
            pending = inflater.unconsumed_tail
            total += len(chunk)
            if total > MAX_SITEMAP_BYTES:
                found.truncated = True
                yield chunk[:len(chunk) - (total - MAX_SITEMAP_BYTES)]
                return
            yield chunk
    except zlib.error as exc:
        raise SitemapError("corrupt-sitemap") from exc
    if not inflater.eof:  # the stream stops before its end: cut in transit, or no gzip at all
        if total == 0:
            raise SitemapError("corrupt-sitemap")
        found.truncated = True


def _read_xml(first: bytes, rest: Iterator[bytes], found: SitemapEntries) -> None:
    target = _Target(found)
    parser = DefusedXMLParser(target=target, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    try:
        for chunk in _as_expat_reads_it(first, rest):
            parser.feed(chunk)
        parser.close()
    except _Enough:
        found.truncated = True
    except DefusedXmlException as exc:
        raise SitemapError("unsafe-sitemap") from exc
    # LookupError: an encoding expat does not know (`encoding="x"`); ValueError: a multi-byte one it
    # does not read, nor do browsers (ISO-2022-KR: read as nothing)
    except (ParseError, LookupError, ValueError) as exc:
        if not target.rooted:
            raise SitemapError("not-a-sitemap") from exc  # not XML at all: an HTML page
        if not (found.pages or found.sitemaps or found.images):
            raise SitemapError("bad-sitemap") from exc
        found.truncated = True  # cut short (by the size cap, or broken at the end): the entries before stand


def _as_expat_reads_it(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    """The XML's chunks, from its first "<" (blank lines before a declaration made it no XML to
    expat), in UTF-8 where it declares another encoding: expat reads no multi-byte one (a GBK or
    Shift_JIS sitemap raised ValueError), and a label is read as the Encoding standard reads it."""
    first = first.removeprefix(codecs.BOM_UTF8).lstrip(b" \t\r\n")
    declared = _DECLARED_ENCODING.match(first)
    codec = codec_of(declared.group(1).decode("ascii")) if declared else None
    if declared is None or codec is None or codec in UNICODE:  # expat reads them itself
        yield first
        yield from rest
        return
    yield first[:declared.start(1)] + b"UTF-8" + first[declared.end(1):declared.end()]
    decoder = codecs.getincrementaldecoder(codec)(errors="replace")
    yield decoder.decode(first[declared.end():]).encode()
    for chunk in rest:
        yield decoder.decode(chunk).encode()
    yield decoder.decode(b"", final=True).encode()


def _read_text(first: bytes, rest: Iterator[bytes], found: SitemapEntries) -> None:
    """A text sitemap: one absolute http(s) URL a line; anything else on a line makes it no sitemap."""
    carried = b""
    for chunk in itertools.chain((first,), rest):
        lines = (carried + chunk).split(b"\n")
        carried = lines.pop()
        for line in lines:
            _text_line(line, found)
            if len(found.pages) >= MAX_SITEMAP_ENTRIES:
                found.truncated = True
                return
    _text_line(carried, found)


def _text_line(line: bytes, found: SitemapEntries) -> None:
    url = line.decode("utf-8", errors="replace").strip().lstrip("\ufeff")
    if not url:
        return
    if not url.lower().startswith(("http://", "https://")) or " " in url:
        if not found.pages:
            raise SitemapError("not-a-sitemap")  # an error page, a script: not a list of URLs
        return
    found.pages.append((url, None))

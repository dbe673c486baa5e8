"""HTML bytes → the pages, stylesheets and images a page refers to, each image with how it was found. Pure.

"Every image a browser would show": `<img>` and the attributes the common lazy-loading scripts
read (backgrounds on any element included), `srcset` and `<picture>`, `<noscript>` fallbacks, CSS
in `style=""` attributes and `<style>` blocks (their `@import`s become stylesheet tasks; linked
stylesheets too), icons (and the implicit `/favicon.ico` a browser asks for when a page declares
none), preloads (`<link rel=preload as=image>`, and the same in the page's Link header), `<video
poster>`, SVG `<image>`, `<use>` and `<feImage>`, `<object>`/`<embed>` of image type, the old
`background` attribute, AMP's `<amp-img>` and friends, the image metadata of Open Graph,
Twitter, microdata and JSON-LD, and the pictures of a Magento product gallery in its script data.
Frames are pages, like links; an iframe's `srcdoc` and a `<template shadowrootmode>` are shown in
place, read as part of the page. Pictures written into the page as `data:` URIs are kept apart
(`PageRefs.inline`): no request brings them, the node that read the page saves them (node.inline).
"""

from __future__ import annotations

import codecs
import functools
import html as html_text
import json
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol, TypeGuard

from lxml import etree

from crawler.messages import (
    GALLERY_DATA_FILE,
    MAX_INLINE_IMAGES,
    MAX_REF_CHARS_PER_PAGE,
    MAX_REFS_PER_PAGE,
    MAX_WORDS_CHARS,
    Found,
    is_picture_data,
)
from crawler.node import css, data_uri, script_galleries
from crawler.node.charsets import UTF_16, codec_of, meta_charset
from crawler.node.link_header import parse_link_header
from crawler.node.menus import DOCFX_NAVIGATION, docfx_menu, is_fgallery_viewer, is_menu_file
from crawler.node.optout import TDM_RESERVED, meta_directives, tdm_reserved
from crawler.node.query_encoding import query_codec, with_query_in
from crawler.node.refresh import refresh_target
from crawler.node.srcset import srcset_urls, widest_candidate
from crawler.urls import (
    CONTROL_CHARACTERS,
    absolute,
    canonical,
    https_form,
    looks_like_an_image,
    origin_of,
    referrer_policy,
)

# Parsing is the crawler's main CPU cost. Only the start tags extraction reads are cut out of the
# bytes (after dropping comments and the bodies of script-like elements, where a browser sees no
# tags either) and libxml2's HTML parser, through lxml, parses just those into a tree built in C;
# Python touches only the cut elements. (bs4 over the same lxml parser built a Python object per
# tag: 60 % of extraction's time.) Each cut tag is renamed `q-NAME` and closed at once: an HTML
# tree builder would otherwise re-nest or drop them (a second <body>, a <td> outside a table, the
# raw-text content of an unclosed <iframe>), and unclosed custom elements would nest thousands deep.
_TAGS = ("a", "area", "img", "source", "input", "meta", "base", "link", "iframe", "frame", "video", "image",
         "use", "feimage", "object", "embed", "body", "table", "td", "th", "amp-img", "amp-anim", "amp-video",
         "amp-iframe")


def _alternation(names: tuple[str, ...]) -> bytes:
    """A regex matching any of `names`, their common prefixes written once ("a(?:mp-img|rea)?"):
    the pattern is tried at every "<" of a page, and a flat list of names tried each in turn."""
    tree: dict[str, dict] = {}
    for name in names:
        node = tree
        for char in name:
            node = node.setdefault(char, {})
        node[""] = {}  # a name ends here

    def pattern(node: dict[str, dict]) -> str:
        branches = [re.escape(char) + pattern(child) for char, child in sorted(node.items()) if char]
        if not branches:
            return ""
        if "" in node:
            return "(?:" + "|".join(branches) + ")?"
        return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"

    return pattern(tree).encode()


# A tag's attributes, as an HTML tokenizer reads them: a value in quotes (after "=") may hold a ">"
# or a whole tag; a quote elsewhere is part of a name. Where the page ends inside a tag (no ">", or a
# value's quote never closed), the tag runs to the end, as in a browser, which drops it and shows
# nothing after it; so do a comment and a script, style, etc. that are never closed. Nothing read is
# read again (atomic groups): a page of thousands of unclosed tags is read once, not once from
# each of them (a 75 KB page of them took 12 s to read before).
_ATTRIBUTE_TEXT = rb"(?>[^>=]++|=\s*+(?:\"[^\"]*+(?:\"|\Z)|'[^']*+(?:'|\Z)|[^\s>]*+))*+"
_ATTRIBUTES = _ATTRIBUTE_TEXT + rb"(?:(?P<closed>>)|\Z)"
# What a browser does not show as markup: comments and the content of these elements (text, not tags).
# A comment is "<!-->" or "<!--->" (empty), or ends at "-->" or "--!>"; a name ends at a space, "/"
# or ">" (<title-bar> is a custom element); SVG's <title/> and <style/> are empty, where an HTML
# <script/> is not (a browser reads on to </script>). Each counts only where a tag may begin
# (_Hidden.hide): a "<script>" or "<!--" in an attribute's value is none.
_RAW_TEXT = rb"(?:script|style|template|textarea|noscript|title|xmp)(?![^\s/>])"
_HIDDEN_START = re.compile(rb"<(?:!--|" + _RAW_TEXT + rb")", re.IGNORECASE)
_HIDDEN = re.compile(
    rb"<!--(?:-?>|.*?--!?>|.*)"
    rb"|<(?:style|title)(?![^\s/>])" + _ATTRIBUTE_TEXT + rb"(?<=/)>"
    rb"|<(?P<name>" + _RAW_TEXT + rb")(?P<attributes>" + _ATTRIBUTE_TEXT + rb")"
    rb"(?:>(?P<content>.*?)(?:</(?P=name)\s*>|\Z)|\Z)", re.DOTALL | re.IGNORECASE)
_TAG_OR_END_TAG = re.compile(rb"</?[a-zA-Z]" + _ATTRIBUTE_TEXT + rb">")
_TAG_START = re.compile(rb"<[a-zA-Z]")
_WANTED = re.compile(rb"<(" + _alternation(_TAGS) + rb")\b" + _ATTRIBUTES, re.IGNORECASE)
_ANY_TAG = re.compile(rb"<([a-zA-Z][a-zA-Z0-9:-]*)\b" + _ATTRIBUTES)  # for style="" on any element
# <figure> and <picture> (start and end) and <figcaption>: the words of the images inside them
_GROUPING = re.compile(rb"<(/?)(figure|picture|figcaption)\b" + _ATTRIBUTES, re.IGNORECASE)
_MAX_CAPTION_MARKUP = 16 * 1024  # bytes of a <figcaption> read for its text (an unclosed one ends here)
# Captions as they were written before <figure>, and still are by WordPress (a theme that has not
# asked for HTML5's captions: Twenty Ten to Twenty Twelve, many since), MediaWiki (before 1.40),
# DocBook's stylesheets and docutils (before 0.17: Sphinx sites built until 2021), and by hand:
# a container's class, the tag it is on, and the classes of its caption element.
#   <div class="wp-caption"><img><p class="wp-caption-text">…</p></div>        (WordPress)
#   <dl class="gallery-item"><dt><img></dt><dd class="gallery-caption">…</dd></dl>
#   <div class="thumbinner"><img><div class="thumbcaption">…</div></div>      (MediaWiki)
#   <li class="gallerybox"><div class="thumb"><img></div><div class="gallerytext">…</div></li>
#   <div class="figure"><div class="figure-contents"><img></div><p class="title">…</p></div>  (DocBook)
#   <div class="figure"><img><p class="caption">…</p></div>                    (docutils, by hand)
#   <table class="tr-caption-container"><tr><td><img></td></tr><tr><td class="tr-caption">…  (Blogger)
#   <div class="thumbnail"><img><div class="caption">…</div></div>            (Bootstrap 3)
_CLASSIC_FIGURES = {b"wp-caption": b"div", b"gallery-item": b"dl", b"thumbinner": b"div", b"gallerybox": b"li",
                    b"figure": b"div", b"tr-caption-container": b"table", b"thumbnail": b"div"}
_CLASSIC_CAPTIONS = frozenset((b"wp-caption-text", b"gallery-caption", b"thumbcaption", b"gallerytext", b"title",
                               b"caption", b"tr-caption"))
_CLASSIC_CAPTION_TAGS = (b"p", b"dd", b"div", b"td")


def _classed(tags: Iterable[bytes], words: Iterable[bytes]) -> re.Pattern[bytes]:
    """A start tag of one of `tags` whose class attribute holds one of `words` (a class is then
    checked whole: see _classes)."""
    return re.compile(rb"<(" + b"|".join(sorted(set(tags))) + rb")\b(?=[^>]*?class\s*=\s*[\"']?[^\"'>]*?(?:"
                      + b"|".join(re.escape(word) for word in words) + rb"))" + _ATTRIBUTES, re.IGNORECASE)


_CLASSIC_FIGURE = _classed(_CLASSIC_FIGURES.values(), _CLASSIC_FIGURES)
_CLASSIC_CAPTION = _classed(_CLASSIC_CAPTION_TAGS, _CLASSIC_CAPTIONS)
_CLASS = re.compile(rb"""(?:^|[\s"'/])class\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)
# what a page holding one of them has in its bytes: each look reads the whole page (60 us for 90 KB)
_CLASSIC_MARKS = (b"caption", b"gallery", b"figure")
_MAX_CLASSIC_FIGURE = 64 * 1024  # bytes of a container read for its caption (an unclosed one ends here)
_MARKUP_TAG = re.compile(rb"<[^>]*>?")
# The tags of text-level elements: a caption's words inside them run on, as a browser shows them
# ("(<i>Tyto alba</i>)", "2<sup>nd</sup>"), where other tags part them
_PHRASING_TAG = re.compile(rb"</?(?:a|abbr|b|bdi|bdo|cite|code|data|dfn|em|font|i|kbd|mark|q|s|samp|small|span"
                           rb"|strong|sub|sup|time|u|var)(?:[\s/][^>]*)?>", re.IGNORECASE)
_CSS_FUNCTIONS = (b"url(", b"image-set(")
_SHADOW_ROOT = re.compile(rb"\bshadowrootmode\s*=", re.IGNORECASE)
_JSON_LD = re.compile(rb"type\s*=\s*[\"']?application/ld\+json", re.IGNORECASE)
# Magento's product pages send one <img> and the whole gallery as data for its gallery script
# (Fotorama), which shows each picture's thumb and img, and full in full screen and the magnifier.
_MAGENTO_INIT = re.compile(rb"type\s*=\s*[\"']?text/x-magento-init", re.IGNORECASE)
_MAGENTO_GALLERY = "mage/gallery/gallery"
# Webflow's lightbox: the pictures it opens, as JSON in a script of class w-json inside its link
_WEBFLOW_LIGHTBOX = re.compile(rb"""class\s*=\s*["']?(?:[^"'>]*\s)?w-json(?:[\s"'>]|$)""", re.IGNORECASE)
_GALLERY_SIZES = ("thumb", "img", "full")  # smallest first: --srcset largest keeps the last one given
# A <script>'s src, in its attributes as the hidden pass has them: a menu's data file (node.menus)
_SCRIPT_SRC = re.compile(rb"(?:^|[\s/])src\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>]+))", re.IGNORECASE)
# What lazy-loading scripts (lazysizes, slick, Flickity, Splide, vanilla-lazyload, lozad, Swiper, WP
# Rocket, jQuery Lazy Load, jQuery Lazy, bLazy, echo.js, unveil, Owl Carousel, Slider Revolution, imgix.js,
# and the parallax of WPBakery and parallax.js) and the services that rewrite pages for them (Ezoic,
# Cloudflare, Optimole) turn into the image a browser then shows: on <img> a URL or a srcset, and
# on any element a background or a gallery's thumbnail, given as a URL,
# as CSS (url(), image-set()) or, for the *set names, as srcset candidates in groups split by "|",
# each with an optional [media query]. The same names also serve as switches (data-lazy="true"): a
# value that is not written as a path is no image.
_LAZY_SRC = ("data-src", "data-original", "data-lazy-src", "data-url", "data-lazy", "data-flickity-lazyload",
             "data-lazyload", "data-ezsrc", "data-cfsrc", "data-echo", "data-src-retina", "data-opt-src",
             "data-splide-lazy",
             "data-image",  # Unite Gallery's picture of its slider (the src is its thumbnail); Squarespace's
             "data-full",  # Fotorama's picture in full screen
             # Jetpack's carousel (WordPress.com's, and every WordPress with Jetpack): the original
             # it opens (larger than any size in the srcset, named nowhere else), the size it shows
             "data-orig-file", "data-large-file",
             "ix-src")  # imgix.js (v3), which makes it the src and writes a srcset of the same picture
_LAZY_SRCSET = ("data-srcset", "data-lazy-srcset", "data-flickity-lazyload-srcset", "data-ezsrcset",
                "data-splide-lazy-srcset")
# a module script's static or dynamic import of a script file: `from "x.js"`, `import("x.js")`
_MODULE_IMPORT = re.compile(rb"""(?<![\w$.])(?:from|import)\s*\(?\s*["']"""
                            rb"""([^"'\s]{1,2048}\.js(?:\?[^"'\s]{0,512})?)["']""")
# A stylesheet a page's own script has the browser load, named as a literal: a <link>'s href set to
# it (`.setAttribute("href", "style/offline.css")`, as every page of Qt's offline documentation does
# at once, or `.href = "…"`), or Filament Group's `loadCSS("…")`. Its pictures are the page's as a
# linked stylesheet's are. Read from each ".css" of a script back to its call: a framework's data
# (a megabyte of JSON in a script) is not read whole for them (a pattern run over it took 39 ms).
_STYLESHEET_CALL = re.compile(rb"""(?:\.setAttribute\(\s*["']href["']\s*,|(?<![\w$])href\s*=|(?<![\w$.])loadCSS\()"""
                              rb"""\s*\Z""")
_AFTER_CSS = re.compile(rb"""(\?[^"'\s]{0,512})?(["'])""")  # a query, then the literal's closing quote
_MAX_SCRIPT_URL = 2048
_SPACE = re.compile(rb"\s")  # no URL a script writes as a literal holds one
# on <a>: Fancybox's and lightGallery's, Magnific Popup's, nanogallery2's, Fotorama's full screen
_LIGHTBOX_SRC = ("data-src", "data-mfp-src", "data-ngsrc", "data-full")
_LIGHTBOX_MARKS = tuple(name.encode() for name in _LIGHTBOX_SRC)  # one look at a page's bytes spares a look per <a>
_LAZY_FRAME_SRC = ("data-src", "data-lazy-src", "data-ezsrc")  # on <iframe>: a page, as its src would be
_LAZY_BACKGROUNDS = ("data-bg", "data-background", "data-background-image", "data-bg-multi", "data-bg-hidpi",
                     "data-bg-multi-hidpi", "data-flickity-bg-lazyload", "data-echo-background",
                     "data-thumb",  # WooCommerce's and Slider Revolution's gallery thumbnails
                     "data-thumbnail",  # Elementor's Gallery widget (its e-gallery script)
                     "data-ngthumb",  # nanogallery2's thumbnails (the <a>'s href is the picture)
                     "data-img",  # Fotorama's frame given as a <div>
                     "data-vc-parallax-image", "data-image-src")  # WPBakery's and parallax.js's parallax
# data-src on an element with no src of its own (a <div>, an <li>): the background jQuery Lazy and
# bLazy give it, or the picture a gallery (lightGallery) opens from it. On these it stands for the src.
_OWN_LAZY_SRC = frozenset({"img", "amp-img", "amp-anim", "image", "source", "iframe", "frame", "amp-iframe",
                           "video", "amp-video", "audio", "track", "embed", "object", "input", "script",
                           "a", "area", "link", "use"})
_LAZY_BACKGROUND_SETS = ("data-bgset", "data-bg-set")
# A gallery's thumbnail named on the element that names its picture too (Fotorama's data-thumb
# beside its href or data-img, nanogallery2's data-ngthumb beside its href or data-ngsrc, Unite
# Gallery's src beside its data-image): with --srcset largest, one size of each picture, the picture
_THUMBNAILS = frozenset({"data-thumb", "data-ngthumb", "data-thumbnail"})
_PICTURES_OF_THUMBNAILS = ("href", "data-ngsrc", "data-img", "data-image", "data-full")
_PICTURES_OF_A_SRC = ("data-image", "data-full")  # on an <img>: what Unite Gallery and Fotorama show larger
_JETPACK_ORIGINAL = "data-orig-file"  # on an <img>: the original Jetpack's carousel opens (see _LAZY_SRC)
_LOZAD_IMAGE_SET = "data-background-image-set"  # the arguments of an image-set(), which lozad wraps
# Elementor's background slideshow: the pictures its script shows, in the JSON of data-settings
_SLIDESHOW_SETTINGS, _SLIDESHOW = "data-settings", "background_slideshow_gallery"
# Wix renders each picture as <wow-image> (or <wix-image>) with a blurred placeholder as its <img
# src>; its script swaps in the picture named in the JSON of data-image-info ({"imageData": {"uri":
# "11062b_…~mv2.jpg"}}), cut to the layout's size. The picture whole is at its media server's URL.
_WIX_IMAGE_INFO, _WIX_MEDIA = "data-image-info", "https://static.wixstatic.com/media/"
# nanogallery2's container, whose options (JSON) may give the base its anchors' URLs follow
_NANOGALLERY2, _NANOGALLERY2_ITEMS = "data-nanogallery2", ("href", "data-ngsrc", "data-ngthumb")
# in a tag that may have one of those
_LAZY_BACKGROUND_MARKS = (b"data-bg", b"data-background", b"data-flickity-bg", b"data-echo-background",
                          b"data-thumb", b"data-ngthumb", b"data-img", b"data-vc-parallax-image", b"data-image-src",
                          _SLIDESHOW.encode(), _NANOGALLERY2.encode(),
                          b"data-image-info")
_MEDIA_OF_A_SET = re.compile(r"\[[^\]]*\]\s*$")
# lazysizes' rias plugin (Shopify's Debut theme) fills {width} in a lazy URL from data-widths, or
# from its own list (36 * 5, 10, ... up to 3024), with what the layout asks for: a crawler asks for
# the widest. {height} is emptied (no ratio is known), any other {name} filled from data-NAME.
_PLACEHOLDER = re.compile(r"\s*\{\s*([a-z0-9]+)\s*\}\s*", re.IGNORECASE)
_RIAS_WIDEST = 3024
_MAX_WIDTHS_CHARS = 1000  # a data-widths longer than this is not read
_META_IMAGE = ("og:image", "og:image:url", "og:image:secure_url", "twitter:image", "twitter:image:src")
_PAGINATION_RELS = frozenset({"next", "prev", "previous"})  # <link rel>: a series' neighbouring pages
_ICON_RELS = frozenset({"icon", "apple-touch-icon", "apple-touch-icon-precomposed", "mask-icon",
                        "apple-touch-startup-image", "fluid-icon"})
_BACKGROUND_TAGS = frozenset({"body", "table", "td", "th"})
_WHITESPACE = re.compile(r"\s+")
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?([A-Za-z0-9_.:-]+)", re.IGNORECASE)
_MAX_JSON_LD_CHARS = 1024 * 1024  # one JSON-LD block read at most; larger ones are skipped
_MAX_JSON_LD_NODES = 10_000  # values visited in one block
# Shadow roots in shadow roots: each level is one more pass over what it holds (and a call deeper:
# thousands of unclosed ones, each running to the end of the page, overflowed Python's stack).
MAX_SHADOW_DEPTH = 32
MAX_SRCDOC_DEPTH = 3  # iframes in srcdoc in srcdoc...: each level is one more parse of its text
MAX_SRCDOCS = 256  # srcdoc documents read in one page (a page of 150,000 tiny ones tripled its parse)
_DATA_URI = re.compile(r"[\t\n\f\r ]*data:", re.IGNORECASE)  # a picture inside the page (RFC 2397)
_DATA_URI_STARTS = "dD\t\n\f\r "  # how one can begin: the regex runs for few references


def _is_data_uri(ref: object) -> TypeGuard[str]:
    return isinstance(ref, str) and ref[:1] in _DATA_URI_STARTS and _DATA_URI.match(ref) is not None


# Where a data: picture is not taken as one the page shows: metadata names a picture for others to
# show (a link preview, a search result), and a stylesheet's are the icons of a whole interface, most
# of them on no element of the page (every notebook nbconvert exports carries JupyterLab's 100).
_NOT_SHOWN_INLINE = frozenset({Found.META, Found.JSON_LD, Found.CSS_STYLE, Found.CSS_LINKED})
# The forms of an http:// picture that Chromium asks for over https on a secure page (mixed content
# it upgrades). It blocks srcset and <picture> candidates (and shows the <img>'s src): those are
# taken as written, as the lazy forms, which may be either, since `--srcset largest` takes one
# candidate of a tag and would have none left.
_UPGRADED_ON_HTTPS = frozenset({Found.IMG, Found.CSS_INLINE, Found.CSS_STYLE, Found.CSS_LINKED, Found.POSTER,
                                Found.SVG_IMAGE, Found.BACKGROUND, Found.PRELOAD})
# On an <img>, the mark of a placeholder that a script swaps for the picture (Gatsby's blur-up)
_PLACEHOLDER_MARKS = ("data-placeholder-image",)
# The sizer Gatsby's image component and Next.js's before 13 put before a picture: an <img> of an
# SVG with a width and a height and nothing in it, which holds the picture's room in the layout
# and draws nothing. One is a few hundred characters; a longer data: URI is not looked into.
_SIZER = re.compile(rb"\s*<svg\b[^>]*?(?:/>|>\s*</svg>)\s*", re.IGNORECASE)
_MAX_SIZER_CHARS = 1000


@dataclass
class PageRefs:
    """What a page points at, each canonical URL once, in page order.

    links and stylesheets: [url, canonical] pairs; images: [url, canonical, found_as, alt, title,
    caption], the words from the first reference that had them ("" where none did).
    """

    links: list[list[str]] = field(default_factory=list)
    images: list[list[str]] = field(default_factory=list)
    stylesheets: list[list[str]] = field(default_factory=list)
    sitemaps: list[list[str]] = field(default_factory=list)  # [url, canonical] pairs (a sitemap index's)
    menus: list[list[str]] = field(default_factory=list)  # [url, canonical] of navigation data (see node.menus)
    robots: set[str] = field(default_factory=set)  # <meta name=robots> directives for us (when read)
    refresh: list[str] | None = None  # [url, canonical] the page sends its reader to at once (see _read_refresh)
    referrer_policy: str | None = None  # the page's Referrer-Policy header, or its last <meta name=referrer>
    referrer_policies: dict[str, str] = field(default_factory=dict)  # canonical → an <img referrerpolicy>
    # Pictures written into the page as data: URIs, each once: [the URI, "", found_as, alt, title,
    # caption] (the layout of `images`, with no canonical URL), at most MAX_INLINE_IMAGES
    inline: list[list[str]] = field(default_factory=list)
    capped: bool = False  # it held more than MAX_REFS_PER_PAGE or MAX_REF_CHARS_PER_PAGE: the rest was left out


def decode(html: bytes, encoding: str | None) -> str:
    """Return `html` as text: in the charset its BOM, its server (`encoding`) or its <meta> declares
    (_page_codec), else UTF-8, else Windows-1252.

    Decided here, as browsers do, not by a parser's guessing (bs4's runs a statistical detector
    over every undeclared page, which costs more than the parse).
    """
    declared = _page_codec(html, encoding)
    if not declared:  # most such pages are UTF-8: one pass both tells and decodes
        try:
            return html.decode("utf-8")
        except UnicodeDecodeError:
            pass
    return html.decode(_page_encoding(html, declared), errors="replace")


def _page_encoding(html: bytes, declared: str | None) -> str:
    """The codec a page is read in (and its links' queries written in: see query_encoding): the one
    it declares (_page_codec), else UTF-8 where its bytes are UTF-8, else Windows-1252."""
    if declared:
        return declared
    try:
        html.decode("utf-8")
    except UnicodeDecodeError:
        return "windows-1252"
    return "utf-8"


def _page_codec(html: bytes, transport: str | None) -> str | None:
    """The codec a page declares, in the HTML standard's order: a UTF-8 byte order mark (UTF-16's are
    read before: _ascii_compatible), the charset its server names (one that names none is no
    declaration), then a <meta>'s in its first 4 KiB (one later: _Document.of). Each label as the
    Encoding standard reads it (node.charsets)."""
    if html.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    codec = codec_of(transport)
    return codec if codec is not None else _meta_codec(html[:4096])


def _meta_codec(markup: bytes) -> str | None:
    """The codec the first <meta> charset in `markup` names, if any."""
    match = _META_CHARSET.search(markup)
    return meta_charset(match.group(1).decode("ascii")) if match else None


def words(value: object) -> str:
    """An alt, title or caption as the manifest keeps it: whitespace collapsed, no control characters
    (`inspect --search` prints them to a terminal), at most MAX_WORDS_CHARS."""
    if not isinstance(value, str):
        return ""
    text = " ".join(value.split())
    return (text if text.isprintable() else CONTROL_CHARACTERS.sub("", text))[:MAX_WORDS_CHARS]


@dataclass
class _Figure:
    images: list[list[str]] = field(default_factory=list)  # entries of the images inside it
    caption: str = ""  # its <figcaption>'s text


_QUOTES = ("\"", "'")


class Collector:
    """Resolves references against a base URL and keeps each canonical URL once per list, in order.

    Images keep their words: alt and title from their own tag (or the <img> of their <picture>),
    the caption from the <figcaption> of the innermost <figure> around them that has one.
    """

    def __init__(self, base: str, agent: str | None = None, widest_only: bool = False,
                 query_codec: Callable[[], str | None] | None = None) -> None:
        self.base = base
        self._secure = base[:6].lower() == "https:"  # the document's own scheme, whatever its <base href> says
        # what gives the codec the page's links write their queries in (see query_encoding), asked
        # the first time a query needs it; None: UTF-8, as for sitemaps, stylesheets and SVGs
        self._query_codec = query_codec
        self._codec: str | None = None
        self.agent = agent  # our name for robots directives; None: the site's opt-outs are not read
        self.widest_only = widest_only  # of an image's srcset candidates (and its src), only the widest
        self.refs = PageRefs()
        self._seen: set[tuple[int, str]] = set()
        self._count = 0
        self._chars = 0  # of the URLs kept: bounded by MAX_REF_CHARS_PER_PAGE
        # An index page links the same few pages thousands of times (page.html#one, page.html#two):
        # each reference, fragment dropped, is resolved once per page.
        self._resolved: dict[str, tuple[str | None, str | None]] = {}
        self._image_entries: dict[str, list[str]] = {}  # canonical → its entry in refs.images
        self._inline_entries: dict[str, list[str]] = {}  # data: URI → its entry in refs.inline
        self._figures: list[_Figure] = []  # the <figure>s open where the parse is
        self._pictures: list[list[list[str]]] = []  # open <picture>s: their image entries
        self.srcdoc_depth = 0  # how many iframe srcdoc documents deep the parse is
        self.srcdocs_read = 0
        self.element_policy: str | None = None  # the referrerpolicy of the tag being read, if it sets one
        self.attributes: Callable[[], list[tuple[str, str]]] = list  # the tag being read's, for the few that ask
        self.lightboxes = False  # whether the markup being read has lightbox anchors (see _anchor)
        self.items_base = ""  # the itemsBaseURL of the nanogallery2 container being read (see _nanogallery2)

    def _resolve(self, ref: object, which: int) -> list[str] | None:
        if not isinstance(ref, str):
            return None
        if self._count >= MAX_REFS_PER_PAGE or self._chars >= MAX_REF_CHARS_PER_PAGE:
            self.refs.capped = True  # the page's record says so (see node.handlers)
            return None
        ref = ref.partition("#")[0]
        if ref[:1] in _QUOTES and ref[-1:] == ref[:1] and len(ref) > 1:
            ref = ref[1:-1]  # a tag written in another's attribute value, its quotes as &quot; (a tooltip's)
        known = self._resolved.get(ref)
        if known is None:
            sent = ref if ref.isascii() else self._as_sent(ref)
            url = absolute(self.base, sent) if ref.strip() else None  # "#top" is this page itself
            known = self._resolved[ref] = (url, canonical(url) if url else None)
        url, key = known
        if url is None or key is None or (which, key) in self._seen:
            return None
        self._seen.add((which, key))
        self._count += 1
        self._chars += len(url) + len(key)
        return [url, key]

    def _as_sent(self, ref: str) -> str:
        """`ref` (not ASCII) with its query in the page's encoding, as a browser sends it."""
        if self._query_codec is not None:  # once a page
            self._codec, self._query_codec = self._query_codec(), None
        return with_query_in(ref, self._codec) if self._codec else ref

    def link(self, ref: object) -> None:
        pair = self._resolve(ref, 0)
        if pair is not None:
            self.refs.links.append(pair)

    def stylesheet(self, ref: object) -> None:
        pair = self._resolve(ref, 1)
        if pair is not None:
            self.refs.stylesheets.append(pair)

    def sitemap(self, ref: object) -> None:
        pair = self._resolve(ref, 3)
        if pair is not None:
            self.refs.sitemaps.append(pair)

    def menu(self, ref: object) -> None:
        pair = self._resolve(ref, 5)
        if pair is not None:
            self.refs.menus.append(pair)

    def refresh_to(self, ref: str, seconds: int, page_url: str) -> None:
        """The page sends its reader to `ref` after `seconds`: at once, a redirect (a browser shows
        nothing of the page); later, a link like others. One back to the page itself reloads it: none."""
        pair = self._resolve(ref, 4)
        if pair is None or pair[1] == canonical(page_url):
            return
        if seconds == 0:
            self.refs.refresh = pair
        else:
            self.link(pair[0])

    def image(self, ref: object, found_as: Found, alt: object = None, title: object = None,
              caption: object = None) -> None:
        if _is_data_uri(ref):
            entry = self._inline(ref, found_as)
        elif (pair := self._resolve(ref, 2)) is not None:
            if self._secure and pair[0][:5] == "http:" and found_as in _UPGRADED_ON_HTTPS:
                entry = self._upgraded(pair, found_as)
            else:
                entry = self._new_image(pair, found_as)
        elif isinstance(ref, str) and (alt or title or caption or self._figures or self._pictures):
            key = self._resolved.get(ref.partition("#")[0], (None, None))[1]  # an image seen before on this page
            entry = self._image_entries.get(key) if key else None
        else:
            return
        if entry is None:
            return
        if alt or title or caption:
            self._add_words(entry, words(alt), words(title), words(caption))
        if self._figures:
            self._figures[-1].images.append(entry)
        if self._pictures:
            self._pictures[-1].append(entry)

    def gallery_picture(self, sizes: list[str], title: object = None, caption: object = None) -> None:
        """A picture a gallery script shows from its data, each size given (smallest first), or the largest alone."""
        for url in sizes[-1:] if self.widest_only else sizes:
            self.image(url, Found.GALLERY, None, title, caption)

    def _new_image(self, pair: list[str], found_as: Found) -> list[str]:
        """The entry of a picture new to the page: [url, canonical, found_as, alt, title, caption]."""
        entry = [*pair, found_as.value, "", "", ""]
        self.refs.images.append(entry)
        self._image_entries[entry[1]] = entry
        if self.element_policy is not None:  # the first reference decides, as for found_as
            self.refs.referrer_policies[entry[1]] = self.element_policy
        return entry

    def _upgraded(self, pair: list[str], found_as: Found) -> list[str] | None:
        """An http:// picture of a secure page, as Chromium asks for it: over https, port 80 as 443.
        The entry of the same picture met before on the page (written so, or over https) if there
        is one; None if it is no URL then."""
        url, key = pair
        upgraded_url = https_form(url)
        upgraded = canonical(upgraded_url) if upgraded_url else None
        if upgraded_url is None or upgraded is None:
            return None
        entry = self._image_entries.get(upgraded)
        if entry is None:
            self._seen.add((2, upgraded))
            entry = self._new_image([upgraded_url, upgraded], found_as)
        self._image_entries[key] = entry  # the http form, if it comes again with words
        return entry

    def _inline(self, uri: str, found_as: Found) -> list[str] | None:
        """The entry of a picture written into the page (a data: URI), new or met before on it."""
        if found_as in _NOT_SHOWN_INLINE:
            return None
        uri = uri.strip("\t\n\f\r ")
        entry = self._inline_entries.get(uri)
        if entry is None:
            if len(self.refs.inline) >= MAX_INLINE_IMAGES:
                self.refs.capped = True
                return None
            entry = self._inline_entries[uri] = [uri, "", found_as.value, "", "", ""]
            self.refs.inline.append(entry)
        return entry

    def _add_words(self, entry: list[str], alt: str, title: str, caption: str = "") -> None:
        """Fill the entry's words that are still empty (the first reference with words gives them)."""
        for index, text in ((3, alt), (4, title), (5, caption)):
            if text and not entry[index] and self._chars < MAX_REF_CHARS_PER_PAGE:
                entry[index] = text
                self._chars += len(text)

    def open_group(self, name: str) -> None:
        """A <figure> or <picture> starts."""
        if name == "figure":
            self._figures.append(_Figure())
        else:
            self._pictures.append([])

    def close_group(self, name: str) -> None:
        """A <figure> ends: its caption goes to its images (without one, they belong to the figure
        around it); a <picture> ends."""
        if name == "picture":
            if self._pictures:
                self._pictures.pop()
            return
        if not self._figures:
            return
        figure = self._figures.pop()
        if not figure.caption:
            if self._figures:  # its pictures go to the figure around it, the shorter list into the longer
                around = self._figures[-1]  # (copying the inner list each time, unclosed figures cost n²)
                if len(around.images) < len(figure.images):
                    around.images, figure.images = figure.images, around.images
                around.images.extend(figure.images)
            return
        for entry in figure.images:
            if not entry[5] and self._chars < MAX_REF_CHARS_PER_PAGE:
                entry[5] = figure.caption
                self._chars += len(figure.caption)

    def caption(self, text: object) -> None:
        """A <figcaption>'s text: the caption of the figure it is in (the first one counts), less
        the ¶ of a permalink after it (Sphinx's, which a browser shows on hover)."""
        if self._figures and not self._figures[-1].caption:
            self._figures[-1].caption = words(text).rstrip("¶ ")

    def picture_words(self, alt: object, title: object) -> None:
        """The <img> of a <picture>: its alt and title are the words of every source in it."""
        if self._pictures:
            for entry in self._pictures[-1]:
                self._add_words(entry, words(alt), words(title))

    @contextmanager
    def groups_set_aside(self) -> Iterator[None]:
        """A document inside the page (an iframe's srcdoc): its figures and pictures are its own."""
        figures, pictures = self._figures, self._pictures
        self._figures, self._pictures = [], []
        try:
            yield
        finally:
            self._figures, self._pictures = figures, pictures

    @contextmanager
    def based_on(self, href: object) -> Iterator[None]:
        """A document inside the page with a <base href> of its own: its references resolve against
        it (itself resolved against the page's base), the page's as before once it ends."""
        if not isinstance(href, str):
            yield
            return
        base, resolved = self.base, self._resolved
        self.base, self._resolved = absolute(base, href) or base, {}
        try:
            yield
        finally:
            self.base, self._resolved = base, resolved

    def close_groups(self) -> None:
        """The end of a document: figures and pictures left open end here."""
        while self._figures:
            self.close_group("figure")
        self._pictures.clear()

    def css_images(self, urls: list[str], found_as: Found) -> None:
        for url in urls:
            self.image(url, found_as)

    def stylesheet_contents(self, refs: css.CssRefs, found_as: Found) -> None:
        """A stylesheet's images (shown as `found_as`) and the stylesheets it @imports."""
        self.css_images(refs.images, found_as)
        for imported in refs.imports:
            self.stylesheet(imported)


@dataclass
class _Hidden:
    """What the comment-and-script pass set aside: <noscript> markup, <style> CSS and JSON-LD texts."""

    noscript: list[bytes] = field(default_factory=list)
    styles: list[bytes] = field(default_factory=list)
    json_ld: list[bytes] = field(default_factory=list)
    galleries: list[bytes] = field(default_factory=list)  # Magento's script data with a product gallery
    lightboxes: list[bytes] = field(default_factory=list)  # Webflow's lightbox data (w-json)
    menus: list[bytes] = field(default_factory=list)  # the src of scripts' navigation data (see node.menus)
    inline_scripts: list[bytes] = field(default_factory=list)  # the code of scripts with no src
    # gallery scripts a <script src> loads (Galleria, nanogallery2), which show what inline scripts give them
    galleries_loaded: list[script_galleries.Library] = field(default_factory=list)
    loads_fgallery: bool = False  # a <script src> loads fgallery's viewer, which draws data.json (node.menus)
    shadow_depth: int = 0  # declarative shadow roots open around the markup being read

    def hide(self, markup: bytes) -> bytes:
        """`markup` without its comments and the content of its raw-text elements (_HIDDEN), each set
        aside (keep) or, for a declarative shadow root, read in place. Until 2026-12-08 each was
        found by its opening text alone: a title="<script>" or an SVG icon's <title/> hid the rest of
        the page."""
        parts: list[bytes] = []
        shown = boundary = 0  # what is in `parts`; a place known to be outside any tag
        while (start := _HIDDEN_START.search(markup, boundary)) is not None:
            inside = _inside_a_tag(markup, boundary, start.start())
            if inside is not None:
                boundary = inside  # its end is outside any tag
                continue
            hidden = _HIDDEN.match(markup, start.start())
            assert hidden is not None  # every start is one (a comment or element the page ends in runs to its end)
            parts += (markup[shown:start.start()], self.keep(hidden))
            shown = boundary = hidden.end()
        parts.append(markup[shown:])
        return b"".join(parts)

    def keep(self, match: re.Match[bytes]) -> bytes:
        name, attributes = (match.group("name") or b"").lower(), match.group("attributes")
        content = match.group("content") or b""  # none where the page ends inside its start tag
        if name == b"template" and _SHADOW_ROOT.search(attributes) and self.shadow_depth < MAX_SHADOW_DEPTH:
            # Declarative shadow DOM: a browser renders this template's content in place.
            self.shadow_depth += 1
            try:
                return self.hide(content)
            finally:
                self.shadow_depth -= 1
        if name == b"noscript":
            self.noscript.append(content)
        elif name == b"style":
            self.styles.append(content)
        elif name == b"script" and _JSON_LD.search(attributes):
            self.json_ld.append(content)
        elif name == b"script" and _MAGENTO_INIT.search(attributes) and b"gallery" in content:
            self.galleries.append(content)
        elif name == b"script" and _WEBFLOW_LIGHTBOX.search(attributes):
            self.lightboxes.append(content)
        elif name == b"script":
            self._script(attributes, content)
        return b""

    def _script(self, attributes: bytes, content: bytes) -> None:
        """A script that is neither JSON-LD nor Magento's: a menu's data file, a gallery script, or inline code."""
        source = _SCRIPT_SRC.search(attributes)
        if source is None:
            self.inline_scripts.append(content)  # read only where a gallery script is loaded (node.script_galleries)
            if b"import" in content:  # a module's: `import PhotoSwipeLightbox from "/js/photoswipe-lightbox.esm.js"`
                for imported in _MODULE_IMPORT.finditer(content):
                    self._gallery_loaded(imported.group(1).decode("latin-1"))
        elif b".js" in attributes:
            src = next(value for value in source.groups() if value is not None)
            name = src.decode("latin-1")
            if is_menu_file(name):
                self.menus.append(src)
            elif is_fgallery_viewer(name):
                self.loads_fgallery = True
            else:
                self._gallery_loaded(name)

    def _gallery_loaded(self, script: str) -> None:
        """Note the gallery library the script at `script` is, if it is one (node.script_galleries)."""
        if (library := script_galleries.library_of(script)) is not None and library not in self.galleries_loaded:
            self.galleries_loaded.append(library)


class _Marks(NamedTuple):
    """What a markup may hold, from a look at its bytes: what its tags are then asked for."""

    lazy_backgrounds: bool  # a lazy background's attribute: every cut tag is asked for one
    lightboxes: bool  # a lightbox's data-src or data-mfp-src: anchors are asked for it
    element_sources: bool  # a data-src on an element with no src of its own: cut tags are asked for it


def _cut_tags(markup: bytes) -> tuple[bytes, _Marks]:
    """The start tags extraction reads, each renamed q-NAME and closed, in page order, and what
    they may hold.

    <figure>, <picture> and their ends become q-figure, q-figure-end and so on, and a <figcaption>
    a q-figcaption whose `text` attribute holds its text: what gives images their captions.
    """
    cut = {match.start(): (match.group(1), match.group(0)) for match in _WANTED.finditer(markup)
           if match.group("closed")}
    lowered = markup.lower()
    lazy, sources = _cut_marked_tags(markup, lowered, cut)
    parts = []
    imgs = False
    for start in sorted(cut):
        name, tag = cut[start]
        name = name.lower()
        imgs = imgs or name == b"img"
        parts.append(b"<q-" + name + tag[1 + len(name):] + b"</q-" + name + b">")
    marks = _Marks(lazy, any(mark in lowered for mark in _LIGHTBOX_MARKS), sources)
    # (each look for a classic figure's mark reads the whole page: only where an <img> may have a caption)
    classic = imgs and any(mark in lowered for mark in _CLASSIC_MARKS)
    if classic or b"<fig" in lowered or b"<picture" in lowered:
        return _with_groups(markup, lowered, cut, parts, classic), marks
    return b"".join(parts), marks  # no text between the tags: no text nodes for the parser to build


# What extraction reads on any element, not only on _TAGS: a style's url() or image-set(), a lazy
# background (_LAZY_BACKGROUND_MARKS) and a data-src. The tags that hold them are found from where
# these names are in the page: trying every tag of a page cost one with a single styled <div> three
# quarters more than one with none. Past _MAX_PLACES places, every tag is tried (a page of text
# full of "url(").
_ANY_ELEMENT_NAMES = (*_CSS_FUNCTIONS, *_LAZY_BACKGROUND_MARKS, b"data-src")
_MAX_PLACES = 4096
_DATA_SRC_ATTRIBUTE = re.compile(rb"[\t\n\f\r ]data-src[\t\n\f\r ]*=")


def _cut_marked_tags(markup: bytes, lowered: bytes, cut: dict[int, tuple[bytes, bytes]]) -> tuple[bool, bool]:
    """Add to `cut` the tags holding what extraction reads on any element; whether one may hold a
    lazy background, and whether one holds a data-src of an element with no src of its own."""
    places: list[int] = []
    for name in _ANY_ELEMENT_NAMES:
        at = lowered.find(name)
        while at >= 0 and len(places) <= _MAX_PLACES:
            places.append(at)
            at = lowered.find(name, at + len(name))
    tags = _ANY_TAG.finditer(markup) if len(places) > _MAX_PLACES else _tags_holding(markup, sorted(places))
    lazy = sources = False
    for tag in tags:
        if not tag.group("closed"):
            break  # the page ends inside this tag: nothing after it is one
        text = lowered[tag.start():tag.end()]
        background = any(name in text for name in _LAZY_BACKGROUND_MARKS)
        source = (_DATA_SRC_ATTRIBUTE.search(text) is not None
                  and tag.group(1).lower().decode("ascii") not in _OWN_LAZY_SRC)
        if background or source or any(function in text for function in _CSS_FUNCTIONS):
            cut.setdefault(tag.start(), (tag.group(1), tag.group(0)))
            lazy, sources = lazy or background, sources or source
    return lazy, sources


# Text and whole tags (closed before where the reading stops), read on from a place where one
# begins, as an HTML tokenizer reads them (a quoted value may hold a ">" or a whole tag: a tooltip's
# data-content="<b>…</b>"), each character in one way as in _ATTRIBUTES.
_TEXT_AND_TAGS = re.compile(rb"(?:[^<]++|<(?![a-zA-Z])|<[a-zA-Z][a-zA-Z0-9:-]*+"
                            rb"(?>[^>=]++|=\s*+(?:\"[^\"]*+\"|'[^']*+'|[^\s>]*+))*+>)*+")


def _inside_a_tag(markup: bytes, boundary: int, at: int) -> int | None:
    """Where the tag that `at` stands inside ends, or None where `at` is in text or at a tag's start
    (`boundary`: a place before it outside any tag). Most often the last tag before `at` shows it at
    once; otherwise the tags from `boundary` on are read whole, as a tokenizer reads them, each
    value in quotes to its closing quote (or the page's end).

    What the last tag cannot show: that it is itself text in a value of a tag around it, as in
    `<a title="<b>x</b>" data-x="<!--">`. Against html5lib on 3,000 random documents of such
    pieces, 53 differed (1,335 before 2026-12-08); none where no value holds a whole tag. Reading
    every tag from the boundary, which would rule it out, cost 14 % of a page's extraction."""
    last_open = markup.rfind(b"<", boundary, at)
    if last_open < 0:
        return None  # only text since the boundary
    last_close = markup.rfind(b">", last_open, at)
    if last_close >= 0:
        tag = _TAG_OR_END_TAG.match(markup, last_open, at)
        if tag is not None and tag.end() == last_close + 1:
            return None  # the last tag before `at` ends before it
    tag_from = boundary
    while (start := _TAG_START.search(markup, tag_from, at)) is not None:
        tag = _ANY_TAG.match(markup, start.start())
        tag_from = tag.end() if tag is not None else len(markup)  # (every "<" and letter begins one)
        if tag_from > at:
            return tag_from
    return None


def _tags_holding(markup: bytes, places: list[int]) -> Iterator[re.Match[bytes]]:
    """Each tag that one of `places` (in page order) is in, once, reading the page on from one to
    the next; the last may be one the page ends inside (see _ATTRIBUTES)."""
    boundary = 0  # where a tag or text begins
    for at in places:
        if at < boundary:
            continue  # in the tag found last
        read = _TEXT_AND_TAGS.match(markup, boundary, at)
        stop = read.end() if read else boundary  # the start of a tag not whole by `at`
        boundary = at
        if stop == at:
            continue  # in text
        tag = _ANY_TAG.match(markup, stop)
        if tag is not None and tag.end() > at:
            boundary = tag.end()
            yield tag


def _with_groups(markup: bytes, lowered: bytes, cut: dict[int, tuple[bytes, bytes]], parts: list[bytes],
                 classic: bool) -> bytes:
    """`parts` (the cut tags, in the order of `cut`'s starts) with the grouping markers put in place,
    those of the captions written before <figure> too where the page may hold them (`classic`)."""
    markers: list[tuple[int, bytes]] = []
    for match in _GROUPING.finditer(markup):
        if not match.group("closed"):
            break  # the page ends inside it
        closing, name = match.group(1), match.group(2).lower()
        if name != b"figcaption":
            marker = b"q-" + name + (b"-end" if closing else b"")
            markers.append((match.start(), b"<" + marker + b"></" + marker + b">"))
        elif not closing:
            # it ends at its end tag, or where the next one opens (so no text is read twice)
            limit = match.end() + _MAX_CAPTION_MARKUP
            following = lowered.find(b"<figcaption", match.end(), limit)
            limit = following if following >= 0 else limit
            end = lowered.find(b"</figcaption", match.end(), limit)
            inner = markup[match.end():end if end >= 0 else limit]
            markers.append((match.start(), _caption_marker(inner)))
    if classic:
        markers.extend(_classic_figures(markup, lowered))
    merged = sorted([*zip(sorted(cut), parts), *markers])
    return b"".join(part for _start, part in merged)


def _caption_marker(inner: bytes) -> bytes:
    """The q-figcaption that gives the figure around it the text of `inner` (markup)."""
    text = _MARKUP_TAG.sub(b" ", _PHRASING_TAG.sub(b"", inner)).replace(b'"', b"&quot;").replace(b"<", b"&lt;")
    return b'<q-figcaption text="' + text + b'"></q-figcaption>'


def _classes(tag: re.Match[bytes]) -> list[bytes]:
    """The classes of a tag, lowercased."""
    found = _CLASS.search(tag.group(0))
    return next(value for value in found.groups() if value is not None).lower().split() if found else []


def _classic_figures(markup: bytes, lowered: bytes) -> Iterator[tuple[int, bytes]]:
    """The markers of the captions written before <figure> (_CLASSIC_FIGURES): each container is a
    q-figure to its end tag, and the first caption element in it (not in a container inside it) its
    q-figcaption. The page is read through once, however many containers it has."""
    # (a class that only contains a container's name, wp-caption-text, makes no container)
    containers = [(match.start(), match.end(), b"") for match in _CLASSIC_FIGURE.finditer(markup)
                  if match.group("closed") and any(_CLASSIC_FIGURES.get(name) == match.group(1).lower()
                                                   for name in _classes(match))]
    if not containers:
        return
    captions = [(match.start(), match.end(), match.group(1).lower()) for match in _CLASSIC_CAPTION.finditer(markup)
                if match.group("closed") and not _CLASSIC_CAPTIONS.isdisjoint(_classes(match))]
    ends = _element_ends(lowered)
    around: list[list[int]] = []  # [end, captioned] of the containers open where the reading is
    marked = sorted([*containers, *captions])
    for index, (start, tag_end, caption_tag) in enumerate(marked):
        while around and around[-1][0] <= start:
            around.pop()
        if not caption_tag:  # a container
            end = min(ends.get(start, len(markup)), tag_end + _MAX_CLASSIC_FIGURE)
            around.append([end, 0])
            yield start, b"<q-figure></q-figure>"
            yield end, b"<q-figure-end></q-figure-end>"
        elif around and not around[-1][1]:
            around[-1][1] = 1
            # no text is read twice: a caption ends where the next container or caption begins
            following = marked[index + 1][0] if index + 1 < len(marked) else len(markup)
            limit = min(around[-1][0], tag_end + _MAX_CAPTION_MARKUP, following)
            if caption_tag == b"div":  # to its end tag
                inner_end = min(ends.get(start, limit), limit)
            else:  # a <p>, <dd> or <td>: to its end tag (or the container's)
                closing = lowered.find(b"</" + caption_tag, tag_end, limit)
                inner_end = closing if closing >= 0 else limit
            yield start, _caption_marker(markup[tag_end:inner_end])


# the start and end tags of the elements that may be a classic figure (or a <div> caption)
_BLOCK_TAGS = re.compile(rb"<(/?)(" + b"|".join(sorted(set(_CLASSIC_FIGURES.values()))) + rb")[\s/>]")


def _element_ends(lowered: bytes) -> dict[int, int]:
    """{start: end} of each element of _BLOCK_TAGS of the page that has an end tag: where its start
    tag and its end tag begin, each end tag closing the last element of its name still open."""
    ends: dict[int, int] = {}
    open_ones: dict[bytes, list[int]] = {name: [] for name in _CLASSIC_FIGURES.values()}
    for tag in _BLOCK_TAGS.finditer(lowered):
        opened = open_ones[tag.group(2)]
        if not tag.group(1):
            opened.append(tag.start())
        elif opened:
            ends[opened.pop()] = tag.start()
    return ends


def _ascii_compatible(html: bytes, encoding: str | None) -> tuple[bytes, str | None]:
    """UTF-16 is the one encoding pages come in whose tags are not ASCII bytes, and the cuts below
    work on bytes: such a page is re-encoded as UTF-8 first. A BOM decides, as in browsers."""
    if html.startswith(codecs.BOM_UTF8):
        return html, "utf-8-sig"
    if html.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return html.decode("utf-16", errors="replace").encode("utf-8"), "utf-8"
    if (codec := codec_of(encoding)) in UTF_16:
        return html.decode(codec, errors="replace").encode("utf-8"), "utf-8"
    return html, encoding


def extract(html: bytes, page_url: str, encoding: str | None = None, agent: str | None = None,
            refresh_header: str | None = None, referrer_header: str | None = None, srcset: str = "all",
            link_header: str | None = None) -> PageRefs:
    """Return the pages, stylesheets and images `html` refers to, resolved against `page_url` or <base href>,
    where the page (or its Refresh header, `refresh_header`) sends its reader at once, and the
    Referrer Policy its images are asked for with (its Referrer-Policy header, `referrer_header`,
    then its <meta name=referrer>s; an <img referrerpolicy> for that image). `link_header`: the
    page's Link header, whose image preloads are images of the page.

    With `agent` (our name for robots directives), links marked rel=nofollow are left out and the
    page's <meta name=robots> (or name=`agent`) directives are kept in `robots`. With `srcset`
    "largest", an image's srcset candidates and its src count as one picture: only the widest is kept.
    """
    html, encoding = _ascii_compatible(html, encoding)
    charset = _page_codec(html, encoding)
    document = _Document.of(html, charset)
    base = page_url
    base_href = document.base_href()
    if base_href is not None:
        base = absolute(page_url, base_href) or page_url
    found = Collector(base, agent, widest_only=srcset == "largest",
                      query_codec=lambda: query_codec(_page_encoding(html, document.charset)))
    metas = [tag for tag in document.tags if tag.tag == "q-meta"]  # the page's, not its srcdocs' nor <noscript>'s
    _read_refresh(refresh_header, metas, found, page_url)
    found.refs.referrer_policy = _read_referrer_policy(referrer_header, metas)
    declared_icon = document.read(found)
    if link_header:
        _read_link_header(link_header, found, page_url)
    if not declared_icon:  # what every browser asks for when a page names no icon
        found.image(origin_of(page_url) + "/favicon.ico", Found.FAVICON)
    return found.refs


def _read_link_header(header: str, found: Collector, page_url: str) -> None:
    """The pictures the page's Link header preloads (`rel=preload; as=image`, with an `imagesrcset`
    and a `referrerpolicy` as on a <link>), which Chromium fetches as it reads the header, before
    the page. Read after the page, so that what the page shows is named by how it shows it; their
    references are relative to the page's URL, not to its <base href>. Browsers take nothing else
    from the header (no stylesheet, no icon), and neither does the crawl."""
    image, srcset = _image_readers(found, None)
    with found.based_on(page_url):
        for target, parameters in parse_link_header(header):
            if "preload" in _tokens(parameters.get("rel")):
                _HEADER_PRELOAD({**parameters, "href": target}.get, found, image, srcset)


def _read_refresh(header: str | None, metas: list[etree._Element], found: Collector, page_url: str) -> None:
    """Where the page sends its reader: its Refresh header (relative to the page's URL), else its
    first <meta http-equiv=refresh> (not one inside <noscript>, which a browser running scripts
    ignores, nor one in an iframe's srcdoc), as a browser reads them."""
    target = refresh_target(header) if header else None
    if target is not None:
        url = absolute(page_url, target[1])
        if url is not None:
            found.refresh_to(url, target[0], page_url)
        return
    for tag in metas:
        if str(tag.get("http-equiv") or "").strip().lower() == "refresh":
            target = refresh_target(str(tag.get("content") or ""))
            if target is None:
                continue
            found.refresh_to(target[1], target[0], page_url)
            return


def _read_referrer_policy(header: str | None, metas: list[etree._Element]) -> str | None:
    """The page's Referrer Policy: its header's, then each valid <meta name=referrer> in turn (HTML)."""
    policy = referrer_policy(header)
    for tag in metas:
        if str(tag.get("name") or "").strip().lower() == "referrer":
            policy = referrer_policy(str(tag.get("content") or "")) or policy
    return policy


@dataclass
class _Document:
    """A page's (or a srcdoc's) markup cut for reading: its tags, and what the hidden pass set aside."""

    tags: list[etree._Element]
    marks: _Marks  # what the tags may hold
    hidden: _Hidden
    charset: str | None

    @classmethod
    def of(cls, html: bytes, charset: str | None) -> _Document:
        hidden = _Hidden()
        visible = hidden.hide(html)
        if charset is None:  # none in its first 4 KiB: a browser takes a <meta> it meets later still
            charset = _meta_codec(visible)  # (after a long script or comment; not one inside them)
        return cls(*_tags(visible, charset), hidden, charset)

    def base_href(self) -> str | None:
        """The href of its first <base> that has one, as the HTML standard takes it."""
        return next((str(tag.get("href")) for tag in self.tags if tag.tag == "q-base" and tag.get("href") is not None),
                    None)

    def read(self, found: Collector) -> bool:
        """Collect everything the document refers to; True if it declared an icon."""
        declared_icon = _read_tags(self.tags, self.marks, found, None)
        for markup in self.hidden.noscript:  # lazy-loading galleries put the real <img> here
            _read_tags(*_tags(markup, self.charset), found=found, only_as=Found.NOSCRIPT)
        for block in self.hidden.styles:
            text = decode(block, self.charset)
            if css.might_refer(text):
                found.stylesheet_contents(_style_block_refs(text), Found.CSS_STYLE)
        for block in self.hidden.json_ld:
            _read_json_ld(decode(block, self.charset), found)
        for block in self.hidden.galleries:
            _read_magento_gallery(decode(block, self.charset), found)
        for block in self.hidden.lightboxes:
            _read_webflow_lightbox(decode(block, self.charset), found)
        for src in self.hidden.menus:
            found.menu(html_text.unescape(decode(src, self.charset)).strip())
        if self.hidden.loads_fgallery:
            found.menu(GALLERY_DATA_FILE)  # relative to the page, as its script asks for it
        for block in self.hidden.inline_scripts:
            for named in _script_stylesheets(block):
                found.stylesheet(decode(named, self.charset))
        for library in self.hidden.galleries_loaded:
            for block in self.hidden.inline_scripts:
                _read_script_gallery(decode(block, self.charset), library, found)
        return declared_icon


def _script_stylesheets(block: bytes) -> Iterator[bytes]:
    """The stylesheets an inline script has the browser load (_STYLESHEET_CALL), in its order."""
    places = sorted(at for needle in (b".css", b".CSS") for at in _all_places(block, needle))
    for at in places:
        start = max(0, at - _MAX_SCRIPT_URL)
        quote = max(block.rfind(b'"', start, at), block.rfind(b"'", start, at))
        after = _AFTER_CSS.match(block, at + 4)
        if (quote < 0 or after is None or after.group(2) != block[quote:quote + 1]
                or _SPACE.search(block, quote + 1, at) is not None
                or _STYLESHEET_CALL.search(block, max(0, quote - 64), quote) is None):
            continue
        yield block[quote + 1:after.start(2)]


def _all_places(data: bytes, needle: bytes) -> Iterator[int]:
    at = data.find(needle)
    while at >= 0:
        yield at
        at = data.find(needle, at + len(needle))


def _read_srcdoc(markup: str, found: Collector) -> None:
    """An iframe's srcdoc: a document the browser shows in place. Its references count as the
    page's, resolved against its own <base href> if it has one, else the page's base, as a browser
    does; srcdocs in it to MAX_SRCDOC_DEPTH, MAX_SRCDOCS in a page."""
    if found.srcdoc_depth >= MAX_SRCDOC_DEPTH or found.srcdocs_read >= MAX_SRCDOCS:
        return
    found.srcdocs_read += 1
    found.srcdoc_depth += 1
    try:
        document = _Document.of(markup.encode("utf-8"), "utf-8")
        with found.groups_set_aside(), found.based_on(document.base_href()):
            document.read(found)
    finally:
        found.srcdoc_depth -= 1


# A site's pages mostly carry the same <style> blocks: its theme's (WordPress's global styles, AMP's
# inlined CSS, the 300 KB of JupyterLab's in every notebook nbconvert exports). Tokenizing is the
# cost, and the URLs it finds do not depend on the page (they are resolved against its base later):
# each block is read once per worker process, as long as it stays among the recent ones.
_CACHED_STYLE_CHARS = (4096, 1024 * 1024)  # smaller ones cost little; larger ones would crowd memory


def _style_block_refs(text: str) -> css.CssRefs:
    """The images and imports of a <style> block (shared: read them, never change them)."""
    if _CACHED_STYLE_CHARS[0] <= len(text) <= _CACHED_STYLE_CHARS[1]:
        return _recent_style_block_refs(text)
    return css.stylesheet_refs(text)


@functools.lru_cache(maxsize=32)
def _recent_style_block_refs(text: str) -> css.CssRefs:
    return css.stylesheet_refs(text)


_PARSER = etree.HTMLParser(recover=True, no_network=True, remove_comments=True, remove_pis=True)


def _tags(markup: bytes, charset: str | None) -> tuple[list[etree._Element], _Marks]:
    """The tags extraction reads (see _cut_tags) as elements, and what they may hold."""
    cut, marks = _cut_tags(markup)
    return _parse(cut, charset), marks


def _parse(markup: bytes, charset: str | None) -> list[etree._Element]:
    """The cut tags (`_cut_tags`' markup) as elements, in page order."""
    root = etree.fromstring(decode(markup, charset), _PARSER) if markup.strip() else None
    if root is None:
        return []
    return [element for element in root.iter() if isinstance(element.tag, str) and element.tag.startswith("q-")]


def _image_readers(found: Collector, only_as: Found | None) -> tuple[_Image, _Image]:
    """What a tag's reader is given to report pictures: one reference, and each candidate of a
    srcset, as images of the page (`only_as` overrides how they were found: <noscript>)."""
    def image(ref: object, found_as: Found, alt: object = None, title: object = None) -> None:
        found.image(ref, only_as or found_as, alt, title)

    def srcset(ref: object, found_as: Found, alt: object = None, title: object = None) -> None:
        if isinstance(ref, str):
            for url in srcset_urls(ref):
                found.image(url, only_as or found_as, alt, title)

    return image, srcset


def _read_tags(tags: list[etree._Element], marks: _Marks, found: Collector, only_as: Found | None) -> bool:
    """Collect from the cut tags; `only_as` overrides how images were found (noscript). `marks`
    says what the markup may hold (a lazy background: every tag is asked for one). True if an
    icon was declared."""
    image, srcset = _image_readers(found, only_as)
    declared_icon = False
    lightboxes, found.lightboxes = found.lightboxes, marks.lightboxes  # a srcdoc read inside has its own
    for tag in tags:
        name = tag.tag[2:]
        get = tag.get
        found.attributes = tag.items
        reader = _READERS.get(name)
        if reader is not None and reader(get, found, image, srcset):
            declared_icon = True
        style = get("style")
        if isinstance(style, str) and css.might_refer(style):
            urls = css.inline_style_images(style)
            if name in _PICTURE_TAGS:  # a data: background behind a picture is its blur-up placeholder (Next.js)
                urls = [url for url in urls if not _is_data_uri(url)]
            found.css_images(urls, only_as or Found.CSS_INLINE)
        if marks.lazy_backgrounds:
            _nanogallery2(get, found)
            _lazy_backgrounds(get, found, only_as or Found.LAZY)
            _background_slideshow(get, found, only_as or Found.GALLERY)
            _wix_image(get, found, only_as or Found.LAZY)
        if marks.element_sources and name not in _OWN_LAZY_SRC:
            _element_source(get, found, only_as or Found.LAZY)
    found.lightboxes = lightboxes
    found.close_groups()
    return declared_icon


def _nanogallery2(get: _Get, found: Collector) -> None:
    """A nanogallery2 container: the itemsBaseURL of its options, which its anchors' URLs follow."""
    options = get(_NANOGALLERY2)
    if isinstance(options, str):
        parsed = _bounded_json(options)
        base = parsed.get("itemsBaseURL") if isinstance(parsed, dict) else None
        found.items_base = base.strip() if isinstance(base, str) else ""


def _in_gallery(get: _Get, base: str, attribute: str, value: object) -> object:
    """An attribute's value after a nanogallery2 container's itemsBaseURL, `base`, where it is one of
    its item's URLs, as its script joins them (not before an absolute URL); else the value as it is."""
    if isinstance(value, str) and attribute in _NANOGALLERY2_ITEMS and get("data-ngthumb") is not None:
        return script_galleries.after_base(base, value)
    return value


def _lazy_backgrounds(get: _Get, found: Collector, found_as: Found) -> None:
    """The backgrounds a lazy-loading script would give the element (see _LAZY_BACKGROUNDS)."""
    base = found.items_base
    thumbnails_too = not (found.widest_only and _names_a_picture(get, _PICTURES_OF_THUMBNAILS))
    for attribute in (*_LAZY_BACKGROUNDS, *_LAZY_BACKGROUND_SETS):
        value = get(attribute) if not base else _in_gallery(get, base, attribute, get(attribute))
        if not isinstance(value, str) or not thumbnails_too and attribute in _THUMBNAILS:
            continue
        if css.might_refer(value):
            found.css_images(css.inline_style_images(value), found_as)
        elif attribute in _LAZY_BACKGROUND_SETS:
            for group in value.split("|"):
                for url in srcset_urls(_MEDIA_OF_A_SET.sub("", group)):
                    found.image(url, found_as)
        elif _looks_like_a_path(value):  # not a colour, a keyword or a theme's settings
            found.image(value.strip(), found_as)
    image_set = get(_LOZAD_IMAGE_SET)
    if isinstance(image_set, str):
        found.css_images(_lozad_image_set(image_set), found_as)


def _names_a_picture(get: _Get, attributes: tuple[str, ...]) -> bool:
    """Whether one of the element's `attributes` names a picture (a URL ending as a picture's file
    name does): the larger size of a thumbnail the element names too."""
    return any(_is_a_lazy_source(value := get(attribute)) and looks_like_an_image(str(value))
               for attribute in attributes)


def _element_source(get: _Get, found: Collector, found_as: Found) -> None:
    """The data-src of an element with no src of its own (see _OWN_LAZY_SRC): a picture where its
    path says so, else a link, which is saved as a picture if it is one when fetched."""
    ref = get("data-src")
    if not _is_a_lazy_source(ref):
        return
    for picture in _retina_pair(ref, found.widest_only):
        if looks_like_an_image(picture):
            found.image(picture, found_as)
        else:
            found.link(picture)


def _retina_pair(ref: str, widest_only: bool) -> list[str]:
    """bLazy's "picture|retina picture" in one lazy source, of which its script loads one by the
    screen's pixel ratio: both, or with --srcset largest the retina one. A "|" in a query (a static
    map's markers) is part of the URL, unless both sides end as pictures' names do."""
    if "|" not in ref:
        return [ref]
    pair = [part.strip() for part in ref.split("|", 1)]
    in_the_path = "|" in ref.split("?", 1)[0]
    if not (all(looks_like_an_image(part) for part in pair)
            or in_the_path and all(_is_written_as_a_url(part) for part in pair)):
        return [ref]
    return pair[1:] if widest_only else pair


def _background_slideshow(get: _Get, found: Collector, found_as: Found) -> None:
    """The pictures of an Elementor background slideshow ({"background_background": "slideshow",
    "background_slideshow_gallery": [{"id", "url"}…]} in data-settings), which its script shows in turn."""
    settings = get(_SLIDESHOW_SETTINGS)
    if not isinstance(settings, str) or _SLIDESHOW not in settings:
        return
    given = _bounded_json(settings)
    if not isinstance(given, dict) or given.get("background_background") != "slideshow":
        return
    slides = given.get(_SLIDESHOW)
    for slide in slides[:_MAX_JSON_LD_NODES] if isinstance(slides, list) else []:
        if isinstance(slide, dict) and isinstance(slide.get("url"), str):
            found.image(slide["url"], found_as)


def _wix_image(get: _Get, found: Collector, found_as: Found) -> None:
    """The picture a Wix <wow-image> or <wix-image> shows once its script runs (see _WIX_IMAGE_INFO)."""
    info = get(_WIX_IMAGE_INFO)
    if not isinstance(info, str) or "imageData" not in info:
        return
    given = _bounded_json(info)
    picture = given.get("imageData") if isinstance(given, dict) else None
    if not isinstance(picture, dict):
        return
    uri = picture.get("uri")
    if isinstance(uri, str) and _looks_like_a_path(uri):
        found.image(uri if uri.startswith(("https://", "http://")) else _WIX_MEDIA + uri.lstrip("/"), found_as)


def _lozad_image_set(value: str) -> list[str]:
    """The images of lozad's data-background-image-set, `url(a.jpg) 1x, "b.jpg" 2x`: lozad sets it as
    image-set(value). Unquoted bare URLs make no valid image-set; lozad then shows the first alone."""
    if css.might_refer(value) or '"' in value or "'" in value:
        return css.inline_style_images(f"image-set({value})")
    first = value.split(",", 1)[0].split()
    return first[:1] if first and _looks_like_a_path(first[0]) else []


_Get = Callable[[str], object]


class _Image(Protocol):
    """Collects an image (or each image of a srcset) with the words its tag gives."""

    def __call__(self, ref: object, found_as: Found, alt: object = None, title: object = None) -> None: ...


_Reader = Callable[[_Get, Collector, _Image, _Image], bool]  # one tag's reader: True if it declared an icon


def _anchor(get: _Get, found: Collector, image: _Image, srcset: _Image) -> bool:
    if found.agent is not None and "nofollow" in _tokens(get("rel")):
        return False  # the site asks crawlers not to follow it (wget does the same)
    # an <a> of an inline SVG (a clickable map) may name its target in xlink:href; href wins (SVG 2)
    href, base = get("href"), found.items_base
    if base:
        href = _in_gallery(get, base, "href", href)
    if not (found.widest_only and _names_a_picture(get, ("data-full",)) and looks_like_an_image(str(href))):
        found.link(href if href is not None else get("xlink:href"))  # a link straight to a picture is saved as one
    if found.lightboxes:  # what a lightbox opens, where the anchor has no href to it
        for attribute in _LIGHTBOX_SRC:
            ref = get(attribute) if not base else _in_gallery(get, base, attribute, get(attribute))
            if _is_a_lazy_source(ref):  # a URL, not a switch (data-full="true")
                found.link(ref)
    return False


def _frame(get: _Get, found: Collector, image: _Image, srcset: _Image) -> bool:
    found.link(get("src"))
    for attribute in _LAZY_FRAME_SRC:  # frames lazy-loading scripts load when scrolled to
        found.link(get(attribute))
    srcdoc = get("srcdoc")
    if isinstance(srcdoc, str) and srcdoc.strip():
        _read_srcdoc(srcdoc, found)
    return False


def _img(get: _Get, found: Collector, image: _Image, srcset: _Image) -> bool:
    alt, title = get("alt"), get("title")
    if found.widest_only and _names_a_picture(get, (_JETPACK_ORIGINAL,)):  # the original: wider than any size
        image(get(_JETPACK_ORIGINAL), Found.LAZY, alt, title)
        found.picture_words(alt, title)
        return False
    if found.widest_only and _widest_of_sets(get, image, _IMG_SETS, alt, title):
        found.picture_words(alt, title)
        return False
    src = get("src")
    sourceless = not isinstance(src, str) or not src.strip() or _is_data_uri(src)
    unnamed = _sources_of_its_own(found.attributes()) if sourceless else []
    if not (_is_data_uri(src) and (unnamed or _swapped_by_a_script(get) or _is_a_sizer(src))
            or found.widest_only and _names_a_picture(get, _PICTURES_OF_A_SRC)):
        image(src, Found.IMG, alt, title)
    for picture in unnamed:
        image(picture, Found.LAZY, alt, title)
    srcset(get("srcset"), Found.SRCSET, alt, title)
    for attribute in _LAZY_SRC:
        ref = get(attribute)
        if _is_a_lazy_source(ref):
            filled = _placeholders_filled(ref, get)  # None where a placeholder cannot be filled
            for picture in _retina_pair(filled, found.widest_only) if isinstance(filled, str) else ():
                image(picture, Found.LAZY, alt, title)
    for attribute in _LAZY_SRCSET:
        srcset(_placeholders_filled(get(attribute), get), Found.LAZY, alt, title)
    found.picture_words(alt, title)  # the sources of its <picture> say what it says
    return False


def _is_a_sizer(uri: str) -> bool:
    """Whether the data: URI `uri` holds an SVG that draws nothing, a layout's sizer (_SIZER)."""
    if len(uri) > _MAX_SIZER_CHARS or data_uri.media_type(uri) != "image/svg+xml":
        return False
    try:
        return _SIZER.fullmatch(data_uri.decoded(uri, _MAX_SIZER_CHARS)) is not None
    except data_uri.UnreadableDataUri:
        return False


def _sources_of_its_own(attributes: list[tuple[str, str]]) -> list[str]:
    """The pictures an <img> with no src (or a data: placeholder) names in data- attributes of
    its site's own lazy loader (data-img-src, data-hi-res-src): values written as one path that
    ends as a picture's file name does, at most _MAX_OWN_SOURCES. None where it has a srcset or
    what a known lazy-loading script reads: that names its picture."""
    found: list[str] = []
    for name, value in attributes:
        if _names_a_scripts_picture(name, value) or name == "srcset" and value.strip():
            return []
        if name.startswith("data-") and _looks_like_a_path(value) and looks_like_an_image(value):
            found.append(value.strip())
    return found[:_MAX_OWN_SOURCES]


_MAX_OWN_SOURCES = 4


def _swapped_by_a_script(get: _Get) -> bool:
    """Whether a script replaces the <img>'s src: it names a lazy source, or marks its src as a
    placeholder. The data: picture it shows until then is no picture of the page."""
    return any(_names_a_scripts_picture(name, get(name)) for name in _SCRIPTS_NAMES)


def _names_a_scripts_picture(name: str, value: object) -> bool:
    """Whether the attribute `name` = `value` is what a known lazy-loading script shows in place of
    a src: a lazy source (not a switch), a lazy srcset, or a placeholder's mark."""
    if name in _LAZY_SRC_NAMES:
        return _is_a_lazy_source(value)
    if name in _LAZY_SRCSET_NAMES:
        return bool(str(value or "").strip())
    return name in _PLACEHOLDER_MARKS and value is not None


_LAZY_SRC_NAMES, _LAZY_SRCSET_NAMES = frozenset(_LAZY_SRC), frozenset(_LAZY_SRCSET)
_SCRIPTS_NAMES = (*_LAZY_SRC, *_LAZY_SRCSET, *_PLACEHOLDER_MARKS)


def _is_a_lazy_source(ref: object) -> TypeGuard[str]:
    """Whether a _LAZY_SRC attribute's value is a picture's URL (not a switch such as "true")."""
    return isinstance(ref, str) and _is_written_as_a_url(ref)


_IMG_SETS = (("srcset", Found.SRCSET), *((name, Found.LAZY) for name in _LAZY_SRCSET))
_SOURCE_SETS = (("srcset", Found.PICTURE), *((name, Found.LAZY) for name in _LAZY_SRCSET))


def _widest_of_sets(get: _Get, image: _Image, sets: tuple[tuple[str, Found], ...], alt: object = None,
                    title: object = None) -> bool:
    """The widest candidate of a tag's srcsets, `sets` (attribute, how it shows an image); for an
    <img>, its src and lazy src are the same picture, smaller or as large. False if none has one."""
    best: tuple[str, tuple[int, float], Found] | None = None
    for attribute, found_as in sets:
        value = _placeholders_filled(get(attribute), get)
        widest = widest_candidate(value) if isinstance(value, str) else None
        if widest is not None and (best is None or widest[1] > best[1]):
            best = (*widest, found_as)
    if best is None:
        return False
    image(best[0], best[2], alt, title)
    return True


def _source(get: _Get, found: Collector, image: _Image, srcset: _Image) -> bool:
    if found.widest_only:  # each <source> is its own format or crop: its widest
        _widest_of_sets(get, image, _SOURCE_SETS)
        return False
    given = get("srcset")  # valid only in <picture>; <video><source src> has none
    if not (_is_data_uri(given) and _swapped_by_a_script(get)):
        srcset(given, Found.PICTURE)
    for attribute in _LAZY_SRCSET:
        srcset(_placeholders_filled(get(attribute), get), Found.LAZY)
    return False


def _input(get: _Get, found: Collector, image: _Image, srcset: _Image) -> bool:
    if str(get("type") or "").strip().lower() == "image":
        image(get("src"), Found.IMG, get("alt"), get("title"))
    return False


def _grouping(name: str, opens: bool) -> _Reader:
    """The reader of a <figure> or <picture> marker (its start, or with `opens` False its end)."""
    def read(get: _Get, found: Collector, image: _Image, srcset: _Image) -> bool:
        (found.open_group if opens else found.close_group)(name)
        return False
    return read


def _figcaption(get: _Get, found: Collector, image: _Image, srcset: _Image) -> bool:
    found.caption(get("text"))
    return False


def _meta(get: _Get, found: Collector, image: _Image, srcset: _Image) -> bool:
    key = get("property") or get("name")
    if found.agent is not None and isinstance(key, str) and key.strip().lower() in ("robots", found.agent):
        found.refs.robots |= meta_directives(get("content"))
    elif found.agent is not None and isinstance(key, str) and key.strip().lower() == TDM_RESERVED:
        if tdm_reserved(get("content")):
            found.refs.robots |= {TDM_RESERVED}
    if (isinstance(key, str) and key.strip().lower() in _META_IMAGE) or _is_token(get("itemprop"), "image"):
        image(get("content"), Found.META)
    elif isinstance(key, str) and key.strip().lower() in DOCFX_NAVIGATION and isinstance(get("content"), str):
        if get("property") is not None:  # DocFX's default template: its script shows the links of this page
            found.link(get("content"))
        else:  # its modern template: its script reads them from the JSON of the same name (see node.menus)
            found.menu(docfx_menu(str(get("content"))))
    return False


def _link(get: _Get, found: Collector, image: _Image, srcset: _Image) -> bool:
    rels = _tokens(get("rel"))
    declared_icon = "icon" in rels
    if rels & _PAGINATION_RELS and not (found.agent is not None and "nofollow" in rels):
        found.link(get("href"))  # the next page an endless gallery's script loads (wget follows it too)
    if "stylesheet" in rels or ("preload" in rels and _is_token(get("as"), "style")):
        found.stylesheet(get("href"))
    if rels & _ICON_RELS:
        image(get("href"), Found.ICON)
    if "manifest" in rels and isinstance(href := get("href"), str) and is_picture_data(href.strip()):
        found.menu(href)  # a web app manifest: its icons (node.menus), by the names sites give it
    if "preload" in rels:
        _preload(get, found, image, srcset)
    if "image_src" in rels:
        image(get("href"), Found.LINK)
    if _is_token(get("itemprop"), "image"):
        image(get("href"), Found.META)
    return declared_icon


def _preload(get: _Get, found: Collector, image: _Image, srcset: _Image) -> bool:
    """A preload (a <link rel=preload> or a Link header's): the picture it names, if `as=image`."""
    if _is_token(get("as"), "image"):
        widest = widest_candidate(str(get("imagesrcset"))) if found.widest_only and get("imagesrcset") else None
        if widest is not None:
            image(widest[0], Found.PRELOAD)
        else:
            image(get("href"), Found.PRELOAD)
            srcset(get("imagesrcset"), Found.PRELOAD)
    return False


def _video(get: _Get, found: Collector, image: _Image, srcset: _Image) -> bool:
    image(get("poster"), Found.POSTER)
    image(get("data-poster"), Found.LAZY)
    return False


def _svg_reader(found_as: Found) -> _Reader:
    def read(get: _Get, found: Collector, image: _Image, srcset: _Image) -> bool:
        for attribute in ("href", "xlink:href"):
            ref = get(attribute)
            if isinstance(ref, str) and not ref.strip().startswith("#"):  # #id points into this page
                image(ref, found_as)
        return False
    return read


_svg_image = _svg_reader(Found.SVG_IMAGE)
# A <use> of another file shows it as a document, which loads the pictures it names (Chromium does);
# one through <image> or <feImage> is an image, which loads none.
_svg_use = _svg_reader(Found.SVG_USE)


_FRAME_TYPES = frozenset({"", "text/html", "application/xhtml+xml"})  # an <object> of these is a page in a frame


def _object(get: _Get, found: Collector, image: _Image, srcset: _Image) -> bool:
    """<object data>, <embed src>: a picture where its type, or else its path, says so; a page where
    its type is HTML's or not given (a browser shows it as a frame, with its pictures, when the
    server sends a page); a plug-in's file (Flash, a PDF with its type) is neither."""
    ref = get("data") if get("data") is not None else get("src")
    declared = str(get("type") or "").split(";", 1)[0].strip().lower()  # "text/html; charset=utf-8"
    if declared.startswith("image/") or (not declared and isinstance(ref, str) and looks_like_an_image(ref)):
        image(ref, Found.OBJECT)
    elif declared in _FRAME_TYPES:
        found.link(ref)
    return False


def _background(get: _Get, found: Collector, image: _Image, srcset: _Image) -> bool:
    image(get("background"), Found.BACKGROUND)
    return False


def _with_element_policy(reader: _Reader) -> _Reader:
    """`reader`, with the Referrer Policy the tag's referrerpolicy attribute sets for its images
    kept in the collector while it reads (the attribute is rare: one lookup when it is absent)."""
    def read(get: _Get, found: Collector, image: _Image, srcset: _Image) -> bool:
        given = get("referrerpolicy")
        if given is None:
            return reader(get, found, image, srcset)
        found.element_policy = referrer_policy(str(given))
        try:
            return reader(get, found, image, srcset)
        finally:
            found.element_policy = None
    return read


_IMG = _with_element_policy(_img)
_HEADER_PRELOAD = _with_element_policy(_preload)
_PICTURE_TAGS = frozenset({"img", "amp-img", "amp-anim"})  # the elements _IMG reads


def _image_element(get: _Get, found: Collector, image: _Image, srcset: _Image) -> bool:
    """<image>: in SVG a picture in href; in HTML the parser makes it an <img>, with its src and the rest
    (an SVG <image> has no src, an <img> no href: both are read, whichever this one is)."""
    _svg_image(get, found, image, srcset)
    return _IMG(get, found, image, srcset)


_READERS: dict[str, _Reader] = {
    "a": _anchor, "area": _anchor, "iframe": _frame, "frame": _frame, "img": _IMG, "source": _source,
    "input": _input, "meta": _meta, "link": _with_element_policy(_link), "video": _video, "image": _image_element,
    "use": _svg_use, "feimage": _svg_image, "object": _object, "embed": _object,
    **{name: _background for name in _BACKGROUND_TAGS},
    **{name + end: _grouping(name, not end) for name in ("figure", "picture") for end in ("", "-end")},
    "figcaption": _figcaption,
    # AMP pages have no <img>: the AMP runtime renders these custom elements as what they name
    "amp-img": _IMG, "amp-anim": _IMG, "amp-video": _video, "amp-iframe": _frame,
}


def _tokens(value: object) -> set[str]:
    """An attribute's space-separated tokens, lower-cased."""
    return set(_WHITESPACE.split(str(value or "").strip().lower())) - {""}


def _is_token(value: object, wanted: str) -> bool:
    return wanted in _tokens(value)


def _looks_like_a_path(value: str) -> bool:
    """One URL or path, written as such: no space in it, a slash or a dot."""
    value = value.strip()
    return bool(value) and not any(space in value for space in " \t\n\r\f") and ("/" in value or "." in value)


def _placeholders_filled(value: object, get: _Get) -> object:
    """A lazy URL (or srcset) with rias placeholders filled in (see _PLACEHOLDER), or None where one
    cannot be: the element's data-widths is read on the element itself (for a <source>, rias
    would read its <picture>'s <img>)."""
    if not isinstance(value, str) or "{" not in value:
        return value
    unknown = False

    def fill(match: re.Match[str]) -> str:
        nonlocal unknown
        name = match.group(1).lower()
        if name == "width":
            return str(_widest(get("data-widths")))
        if name == "height":
            return ""
        given = get("data-" + name)
        if isinstance(given, str) and given.strip():
            return given.strip()
        unknown = True
        return match.group(0)

    filled = _PLACEHOLDER.sub(fill, value)
    return None if unknown else filled


def _widest(widths: object) -> int:
    """The largest width in a data-widths JSON list, or rias' own largest."""
    if isinstance(widths, str) and len(widths) <= _MAX_WIDTHS_CHARS:
        try:
            listed = json.loads(widths)
        except ValueError:
            listed = None
        if isinstance(listed, list):
            numbers = [int(width) for width in listed
                       if isinstance(width, (int, float)) and not isinstance(width, bool) and 0 < width < 100_000]
            if numbers:
                return max(numbers)
    return _RIAS_WIDEST


def _is_written_as_a_url(value: str) -> bool:
    """A path or URL, as a lazy attribute's image is, and not a switch ("true", "1", ""): it has a
    slash or a dot. Spaces may be in it, as in <img src> (a browser encodes them)."""
    return "/" in value or "." in value


def _bounded_json(text: str) -> object:
    """A script's JSON data, or None where it is too long (_MAX_JSON_LD_CHARS) or no JSON."""
    if len(text) > _MAX_JSON_LD_CHARS:
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def _read_magento_gallery(text: str, found: Collector) -> None:
    """Collect the pictures of Magento's product gallery data ({selector: {"mage/gallery/gallery":
    {"data": [{"thumb", "img", "full", "caption"}…]}}}), each size of each, or its largest alone."""
    budget = _MAX_JSON_LD_NODES
    stack = [_bounded_json(text)]
    while stack and budget > 0:
        value = stack.pop()
        budget -= 1
        if not isinstance(value, dict):
            continue
        gallery = value.get(_MAGENTO_GALLERY)
        items = gallery.get("data") if isinstance(gallery, dict) else None
        items = items[:budget] if isinstance(items, list) else []
        budget -= len(items)  # each picture is a value visited, as in _read_json_ld
        for item in items:
            if isinstance(item, dict):
                found.gallery_picture([item[size] for size in _GALLERY_SIZES if isinstance(item.get(size), str)],
                                      None, item.get("caption"))
        stack.extend(item for key, item in value.items() if key != _MAGENTO_GALLERY and isinstance(item, dict))


def _read_webflow_lightbox(text: str, found: Collector) -> None:
    """Collect the pictures of a Webflow lightbox's data ({"items": [{"url", "type", "caption",
    "thumbnailUrl"}…], "group"}): an image's url (what it opens) and any item's thumbnailUrl (its
    strip's; a video's is a picture, its url a page of the video site)."""
    data = _bounded_json(text)
    items = data.get("items") if isinstance(data, dict) else None
    for item in items[:_MAX_JSON_LD_NODES] if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        sizes = [item["thumbnailUrl"]] if isinstance(item.get("thumbnailUrl"), str) else []
        if item.get("type", "image") == "image" and isinstance(item.get("url"), str):
            sizes.append(item["url"])
        caption = item.get("caption")
        found.gallery_picture(sizes, None, caption if isinstance(caption, str) else None)


def _read_script_gallery(text: str, library: script_galleries.Library, found: Collector) -> None:
    """Collect the pictures of a gallery script's data in a script."""
    for picture in script_galleries.items(text, library):
        found.gallery_picture(*picture)


def _read_json_ld(text: str, found: Collector) -> None:
    """Collect `image` values of JSON-LD: a URL, a list, or an ImageObject's url / contentUrl."""
    budget = _MAX_JSON_LD_NODES
    stack: list[tuple[object, bool]] = [(_bounded_json(text), False)]
    while stack and budget > 0:
        value, is_image = stack.pop()
        budget -= 1
        if isinstance(value, str):
            if is_image:
                found.image(value, Found.JSON_LD)
        elif isinstance(value, list):
            stack.extend((item, is_image) for item in reversed(value))
        elif isinstance(value, dict):
            kind = value.get("@type")
            if is_image or kind == "ImageObject" or (isinstance(kind, list) and "ImageObject" in kind):
                for key in ("contentUrl", "url"):
                    if isinstance(value.get(key), str):
                        found.image(value[key], Found.JSON_LD)
            for key, item in value.items():
                if key in ("image", "thumbnailUrl", "logo"):
                    stack.append((item, True))
                elif isinstance(item, (dict, list)):
                    stack.append((item, False))

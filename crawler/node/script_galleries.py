"""Pictures a gallery script shows from data a page's own script gives it.

Galleria (galleria.io: sigal's `galleria` theme, Galleria's WordPress and Drupal modules),
nanogallery2 (its WordPress plugins) and Fotorama build their stage and thumbnails from a list of
items, Vegas and Backstretch (jQuery background slideshows: many themes' full-screen hero) their
slides, most often written into the page as a JavaScript literal:

    var data = [{thumb: "thumbnails/p00.jpg", image: "p00.jpg", big: "full/p00.jpg",
                 title: "Lake", description: "At dawn"}, …];          Galleria.run(…, {dataSource: data})
    $("#g").nanogallery2({items: [{src: "p00.jpg", srct: "p00_t.jpg", title: "Lake"}, …],
                          itemsBaseURL: "https://photos.example/2026/"})
    $("body").vegas({slides: [{src: "img/hero1.jpg"}, {src: "img/hero2.jpg"}]})
    $(".fotorama").fotorama({data: [{img: "1.jpg", thumb: "1_t.jpg", full: "1_f.jpg", caption: "…"}]})
    $.backstretch(["img/hero1.jpg", "img/hero2.jpg"], {duration: 3000})

Galleria shows each item's `thumb` in its strip, its `image` on the stage and its `big` in full
screen, relative to the page as an `<img src>` is; nanogallery2 its `srct` as the thumbnail (or
`src` where there is none) and its `src` when opened, each after its `itemsBaseURL` unless it
starts with `http://`, `https://` (or ftp, file); Vegas each slide's `src` in turn, relative to
the page, as its background; Fotorama each item's `thumb`, `img` and `full` (its full screen);
and Backstretch (a jQuery background slideshow of Bootstrap's era) the URLs it is called with,
`$.backstretch([…])` or `$("#hero").backstretch("a.jpg")` (or items' `url`). lightGallery in
its dynamic mode and PhotoSwipe open slides a script gives them:

    lightGallery(button, {dynamic: true, dynamicEl: [{src: "1.jpg", thumb: "1_t.jpg", subHtml: "…"}]})
    new PhotoSwipe(element, PhotoSwipeUI_Default, [{src: "1.jpg", msrc: "1_s.jpg", w: 1200, h: 900}])
    new PhotoSwipeLightbox({dataSource: [{src: "1.jpg", width: 1200, height: 900}], …})
    Fancybox.show([{src: "1.jpg", thumb: "1_t.jpg", caption: "…"}, {src: "#dialog", type: "inline"}])

each slide's `src`, and lightGallery's `thumb` in its strip, PhotoSwipe's `msrc` while it loads,
Fancybox's `thumb` (5: `thumbSrc`) unless the slide's `type` is other than "image". A slide that
is a video (`.mp4`, a YouTube or Vimeo page…), HTML or an element of the page is none of its
pictures. The page's markup names none of them: a crawl of a sigal gallery found its theme's two
icons and none of its photos. The items are read only on a page that loads the library (a
`<script src>` whose file is `galleria….js`, `jquery.nanogallery2….js`, `vegas….js`,
`fotorama….js`, `jquery.backstretch….js`, `lightgallery….js`, `photoswipe….js`, `fancybox….js`,
or a module script's `import` of one): elsewhere such keys are some other script's business.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import NamedTuple


class Library(NamedTuple):
    """A gallery script: its file's name, and the keys of its items."""

    script: re.Pattern[str]  # the file of a <script src> that loads it
    sizes: tuple[str, ...]  # the keys of an item's pictures, smallest first: --srcset largest keeps the last
    title: str | None = None
    caption: str | None = None
    base: str | None = None  # the option whose value goes before an item's relative URLs
    call: str | None = None  # a function whose first argument is a picture's URL, or a list of them
    kind: str | None = None  # the key of an item's type: an item of a type other than "image" is no picture


GALLERIA = Library(re.compile(r"(?:^|/)galleria[\w.-]{0,64}\.js(?:[?#]|$)", re.IGNORECASE),
                   ("thumb", "image", "big"), "title", "description")
NANOGALLERY2 = Library(re.compile(r"(?:^|/)(?:jquery\.)?nanogallery2[\w.-]{0,64}\.js(?:[?#]|$)", re.IGNORECASE),
                       ("srct", "src"), "title", "description", base="itemsBaseURL")
VEGAS = Library(re.compile(r"(?:^|/)(?:jquery\.)?vegas[\w.-]{0,64}\.js(?:[?#]|$)", re.IGNORECASE), ("src",))
FOTORAMA = Library(re.compile(r"(?:^|/)fotorama[\w.-]{0,64}\.js(?:[?#]|$)", re.IGNORECASE),
                   ("thumb", "img", "full"), caption="caption")
BACKSTRETCH = Library(re.compile(r"(?:^|/)(?:jquery\.)?backstretch[\w.-]{0,64}\.js(?:[?#]|$)", re.IGNORECASE),
                      ("url",), call="backstretch")
# lightGallery's dynamic mode (dynamicEl) and PhotoSwipe (v4's items, v5's dataSource): the slides
# they show once the gallery is opened; lightGallery's thumbnails at once, in its strip
LIGHTGALLERY = Library(re.compile(r"(?:^|/)lightgallery[\w.-]{0,64}\.js(?:[?#]|$)", re.IGNORECASE), ("thumb", "src"))
PHOTOSWIPE = Library(re.compile(r"(?:^|/)photoswipe[\w.-]{0,64}\.js(?:[?#]|$)", re.IGNORECASE), ("msrc", "src"),
                     "title")
# Fancybox 4 and 5 (@fancyapps/ui), opened by a script: Fancybox.show([{src, thumb (5: thumbSrc), caption}])
FANCYBOX = Library(re.compile(r"(?:^|/)(?:jquery\.)?fancybox[\w.-]{0,64}\.js(?:[?#]|$)", re.IGNORECASE),
                   ("thumb", "thumbSrc", "src"), caption="caption", kind="type")
LIBRARIES = (GALLERIA, NANOGALLERY2, VEGAS, FOTORAMA, BACKSTRETCH, LIGHTGALLERY, PHOTOSWIPE, FANCYBOX)

# An item: a flat object literal (an item with nested objects is read from its innermost one)
_ITEM = re.compile(r"\{[^{}]{1,8192}\}")
# key: "string" or 'string', the key bare or quoted (JSON), a whole name (not the end of
# 'background-image' or of data.image); what a variable or an expression gives is not known
_LITERAL = r"""(?:"((?:[^"\\\n]|\\.){0,4096})"|'((?:[^'\\\n]|\\.){0,4096})')"""  # "…" or '…': two groups
_VALUE = r"\s*:\s*" + _LITERAL
_KEY = r"""(?<![\w$.-])["']?({})["']?"""
_ESCAPE = re.compile(r"\\(?:u([0-9a-fA-F]{4})|x([0-9a-fA-F]{2})|(.))", re.DOTALL)
_SINGLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}
_STARTS_WITH_PROTOCOL = re.compile(r"^(?:https?|ftps?|file)://")  # what nanogallery2 leaves without its base
_STRING = re.compile(_LITERAL)
# a call's first argument: a list of strings (no objects in it: those are items) or one string
_LIST_OF_STRINGS = r"""\s*\(\s*(\[[^\[\]{}]{0,65536}\]|"[^"\n]{0,4096}"|'[^'\n]{0,4096}')"""
MAX_ITEMS = 10_000  # a page's items; the page's references are bounded anyway (extract)
# A slide that is a video (a file, or a page of a video site the library embeds) is no picture,
# nor one given as HTML or as an element of the page (Fancybox's "<p>…</p>", "#dialog")
_NOT_A_PICTURE = re.compile(r"^#|<|\.(?:mp4|m4v|webm|ogv|mov|m3u8|mpd)(?:[?#]|$)|^(?:https?:)?//(?:[\w-]+\.)*"
                            r"(?:youtube\.com|youtube-nocookie\.com|youtu\.be|vimeo\.com|dailymotion\.com)(?:[/?#]|$)",
                            re.IGNORECASE)


class GalleryPicture(NamedTuple):
    """A picture of a gallery's data: its sizes' URLs as the script takes them, smallest first, and its words."""

    sizes: list[str]
    title: str | None
    caption: str | None


def library_of(src: str) -> Library | None:
    """The gallery script a `<script src>` loads (its core, a build of it, or one of its themes), if any."""
    return next((library for library in LIBRARIES if library.script.search(src)), None)


def _text(literal: str) -> str:
    """A JavaScript string literal's content, its escapes read (`\\/`, `\\u00e9`, `\\x41`, `\\n`)."""
    if "\\" not in literal:
        return literal
    return _ESCAPE.sub(lambda m: chr(int(m[1] or m[2], 16)) if m[1] or m[2] else _SINGLE_ESCAPES.get(m[3], m[3]),
                       literal)


def _pairs(keys: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile(_KEY.format("|".join(keys)) + _VALUE)


_PATTERNS = {library: _pairs(tuple(key for key in (*library.sizes, library.title, library.caption, library.kind)
                                   if key))
             for library in LIBRARIES}
_BASES = {library: _pairs((library.base,)) for library in LIBRARIES if library.base}
_CALLS = {library: re.compile(r"(?<![\w$])" + library.call + _LIST_OF_STRINGS) for library in LIBRARIES if library.call}


def after_base(base: str, url: str) -> str:
    """An item's URL as nanogallery2 joins it to its itemsBaseURL: the base before it, unless it
    starts with a protocol (http://, https://, ftp://, file://)."""
    url = url.strip()
    return url if _STARTS_WITH_PROTOCOL.match(url) else base + url


def _content(match: re.Match[str], group: int) -> str:
    """The content of the string literal _LITERAL matched from `group` on (its two quotes' groups)."""
    double = match.group(group)
    return _text(double if double is not None else match.group(group + 1)).strip()


def items(script: str, library: Library) -> Iterator[GalleryPicture]:
    """The items of `library`'s data in a script's text that name at least one picture."""
    base = ""
    if library.base and (option := _BASES[library].search(script)) is not None:
        base = _content(option, 2)
    count = 0
    if library.call:  # $.backstretch(["a.jpg", "b.jpg"]), $("#hero").backstretch("a.jpg")
        for call in _CALLS[library].finditer(script):
            for literal in _STRING.finditer(call.group(1)):
                url = _content(literal, 1)
                if "." in url or "/" in url:  # not a method's name: backstretch("pause"), ("destroy")
                    yield GalleryPicture([url], None, None)
                    count += 1
                    if count >= MAX_ITEMS:
                        return
    for item in _ITEM.finditer(script):
        values: dict[str, str] = {}
        for pair in _PATTERNS[library].finditer(item.group()):
            values.setdefault(pair.group(1), _content(pair, 2))
        if library.kind and values.get(library.kind, "image").lower() != "image":
            continue  # Fancybox's iframe, inline, html, video…
        sizes = [values[size] for size in library.sizes if values.get(size) and not _NOT_A_PICTURE.search(values[size])]
        if sizes:
            if base:
                sizes = [after_base(base, size) for size in sizes]
            title, caption = values.get(library.title or ""), values.get(library.caption or "")
            yield GalleryPicture(sizes, title or None, caption or None)
            count += 1
            if count >= MAX_ITEMS:
                return

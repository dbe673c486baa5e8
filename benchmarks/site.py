"""Deterministic synthetic sites with their ground truth: the one generator for tests, benchmarks and the demo.

- `generate_site`: one host, every way a page can show an image (`image_markup`'s FORMS), broken
  links, redirects, an optional CDN host; what the tests and the coverage benchmark crawl.
- `generate`: the throughput benchmark's site, two hosts of ~10 KiB pages showing a few photos each
  in the CLASSIC_FORMS, with a robots.txt that disallows a folder.
- `generate_demo`: the small site committed in seeds/demo-site that `crawler demo` serves.

Not product code: the crawler never imports it.
"""

from __future__ import annotations

import hashlib
import io
import json
import random
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageDraw

_FORMATS = [("png", "PNG"), ("jpg", "JPEG"), ("gif", "GIF"), ("webp", "WEBP")]


def make_image(number: int, extension: str, size: tuple[int, int] = (24, 16)) -> bytes:
    """Return small image bytes that differ from number to number (ground truth is always the bytes' hash)."""
    digest = hashlib.sha256(str(number).encode()).digest()
    picture = Image.new("RGB", size, tuple(digest[:3]))
    draw = ImageDraw.Draw(picture)
    draw.rectangle((0, 0, digest[3] % size[0], digest[4] % size[1]), fill=tuple(digest[5:8]))
    for x in range(size[0]):  # a stripe that spells the number in colours
        draw.point((x, size[1] - 1), fill=tuple(digest[(x * 3) % 30:(x * 3) % 30 + 3]))
    out = io.BytesIO()
    picture.save(out, dict(_FORMATS)[extension], **({"quality": 90} if extension == "jpg" else {}))
    return out.getvalue()


@dataclass
class SiteTruth:
    """What a complete crawl of a generated site must find: URL paths from the site root for
    `generate_site`, whole URLs for `generate` (two hosts)."""

    pages: list[str] = field(default_factory=list)
    images: dict[str, str] = field(default_factory=dict)  # reachable image path → sha256
    broken: list[str] = field(default_factory=list)  # referenced paths that do not exist
    disallowed: list[str] = field(default_factory=list)  # linked, but robots.txt forbids them
    redirects: dict[str, str] = field(default_factory=dict)  # path → target path (served by the test server)
    external: list[str] = field(default_factory=list)  # out-of-scope pages the pages link to
    cdn_images: dict[str, str] = field(default_factory=dict)  # image URL on the other host → sha256
    stylesheets: list[str] = field(default_factory=list)  # stylesheet paths a complete crawl fetches
    forms: dict[str, set[str]] = field(default_factory=dict)  # image path → every found_as it is shown with
    browser_images: set[str] = field(default_factory=set)  # image paths a browser loads (no JavaScript run)

    def distinct_images(self) -> int:
        return len(set(self.images.values()))

    def requests(self) -> int:
        """HTTP requests a perfect crawl of `generate`'s site makes (its two robots.txt included)."""
        return len(self.pages) + len(self.images) + len(self.broken) + 2


@dataclass(frozen=True)
class Markup:
    """How one page shows one image: HTML for its head and body, and stylesheet files it needs."""

    found_as: str  # the manifest's found_as for it
    head: str = ""
    body: str = ""
    stylesheets: dict[str, str] = field(default_factory=dict)  # path from the site root → CSS text
    browser_loads: bool = True  # False: only a crawler reads it (lazy attributes, metadata, noscript)


_PLACEHOLDER_GIF = "data:image/gif;base64,R0lGODlhAQABAAAAACH5BAEKAAEALAAAAAABAAEAAAICTAEAOw=="  # 1x1, see-through
_MIME = {"png": "image/png", "jpg": "image/jpeg", "gif": "image/gif", "webp": "image/webp", "svg": "image/svg+xml"}


def image_markup(form: int, url: str, key: str) -> Markup:
    """Return form number `form` (cycling through FORMS) of showing image `url`; `key` names its stylesheets."""
    mime = _MIME.get(url.rsplit(".", 1)[-1], "image/png")
    box = 'style="width:24px;height:16px"'
    forms = [
        lambda: Markup("img", body=f'<img src="{url}" alt="">'),
        lambda: Markup("srcset", body=f'<img srcset="{url} 2x" alt="">'),
        lambda: Markup("lazy", body=f'<img class="lazy" data-src="{url}" alt="">', browser_loads=False),
        lambda: Markup("picture", body=f'<picture><source srcset="{url}" type="{mime}"><img alt=""></picture>'),
        lambda: Markup("img", body=f'<input type="image" src="{url}" alt="go">'),
        lambda: Markup("lazy", body=f'<img data-original="{url}" alt="">', browser_loads=False),
        lambda: Markup("lazy", body=f'<img data-srcset="{url} 1x" alt="">', browser_loads=False),
        lambda: Markup("noscript", body=f'<img class="lazy" alt=""><noscript><img src="{url}" alt=""></noscript>',
                       browser_loads=False),
        lambda: Markup("css-inline", body=f'<div style="background-image: url(&quot;{url}&quot;);{box[7:-1]}"></div>'),
        lambda: Markup("css-style", head=f"<style>.s-{key} {{ background: #eee url('{url}') no-repeat }}</style>",
                       body=f'<div class="s-{key}" {box}></div>'),
        lambda: Markup("css-linked", head=f'<link rel="stylesheet" href="/css/{key}.css">',
                       body=f'<div class="l-{key}" {box}></div>', stylesheets={f"css/{key}.css": (
                           "@font-face { font-family: Brand; src: url(/fonts/brand.woff2) format('woff2') }\n"
                           f'.l-{key} {{ background-image: url("{url}") }}\n')}),
        lambda: Markup("css-linked", head=f"<style>@import url(/css/{key}-a.css);</style>",
                       body=f'<div class="i-{key}" {box}></div>', stylesheets={
                           f"css/{key}-a.css": f'@import "{key}-b.css";\n',
                           f"css/{key}-b.css": f'.i-{key} {{ background-image: image-set("{url}" 1x) }}\n'}),
        lambda: Markup("poster", body=f'<video poster="{url}" width="24" height="16"></video>'),
        lambda: Markup("svg-image",
                       body=f'<svg width="24" height="16"><image href="{url}" width="24" height="16"/></svg>'),
        lambda: Markup("object", body=f'<object data="{url}" type="{mime}" width="24" height="16"></object>'),
        lambda: Markup("object", body=f'<embed src="{url}" type="{mime}" width="24" height="16">'),
        lambda: Markup("background", body=f'<table background="{url}"><tr><td>cell</td></tr></table>'),
        lambda: Markup("meta", head=f'<meta itemprop="image" content="{url}">', browser_loads=False),
        lambda: Markup("json-ld", head='<script type="application/ld+json">'
                       f'{{"@type": "ImageObject", "contentUrl": "{url}"}}</script>', browser_loads=False),
        lambda: Markup("preload", head=f'<link rel="preload" as="image" href="{url}">'),
        lambda: Markup("link", body=f'<a href="{url}">full size</a>', browser_loads=False),
        lambda: Markup("lazy", body=f'<div class="slider"><img data-lazy="{url}" alt=""></div>', browser_loads=False),
        lambda: Markup("lazy", body=f'<div class="lazyload" data-bg="{url}" {box}></div>', browser_loads=False),
        lambda: Markup("lazy", body=f'<div class="lazyload" data-bgset="{url} [(min-width: 1px)]" {box}></div>',
                       browser_loads=False),
        lambda: Markup("img", body=f'<iframe srcdoc="&lt;img src=&quot;{url}&quot; alt=&quot;&quot;&gt;" '
                                   'width="40" height="30"></iframe>'),
        lambda: Markup("img", body=f'<x-card><template shadowrootmode="open"><img src="{url}" alt="">'
                                   "</template></x-card>"),
        lambda: Markup("img", body=f'<p><image src="{url}" alt=""></p>'),  # HTML's parser makes it an <img>
        lambda: Markup("gallery", body='<div data-gallery-role="gallery-placeholder"></div>'
                       '<script type="text/x-magento-init">' + json.dumps({"[data-gallery-role=gallery-placeholder]": {
                           "mage/gallery/gallery": {"data": [{"img": url, "isMain": True}]}}}) + "</script>",
                       browser_loads=False),  # Magento's product gallery, which its script shows
        lambda: Markup("lazy", body=f'<div class="e-gallery-image" data-thumbnail="{url}" {box}></div>',
                       browser_loads=False),  # Elementor's Gallery widget, which its script shows
        lambda: Markup("gallery", body="<section data-settings='" + json.dumps({
            "background_background": "slideshow", "background_slideshow_gallery": [{"id": 1, "url": url}]})
                       + "'></section>", browser_loads=False),  # Elementor's background slideshow
        lambda: Markup("lazy", body=f'<div class="vc_row vc_parallax" data-vc-parallax="1.5" '
                                    f'data-vc-parallax-image="{url}" {box}></div>', browser_loads=False),  # WPBakery
        lambda: Markup("link", body=f'<a data-fancybox="gallery" data-src="{url}">open</a>', browser_loads=False),
        lambda: Markup("lazy", body=f'<div class="b-lazy" data-src="{url}" {box}></div>',
                       browser_loads=False),  # bLazy's and jQuery Lazy's background
        lambda: Markup("lazy", body=f'<img class="b-lazy" data-src="{url}|{url}" alt="">',
                       browser_loads=False),  # bLazy's picture and its retina twin (here the same one)
        lambda: Markup("lazy", body=f'<img src="{_PLACEHOLDER_GIF}" data-img-src="{url}" alt="">',
                       browser_loads=False),  # a site's own lazy loader, under a name of its own
        lambda: Markup("svg-image", body=f'<svg width="24" height="16"><filter id="f-{key}"><feImage href="{url}"/>'
                                         f'</filter><rect width="24" height="16" filter="url(#f-{key})"/></svg>'),
        lambda: Markup("gallery", body=f'<div class="galleria-{key}"></div><script src="/js/galleria.min.js"></script>'
                       f"<script>Galleria.run('.galleria-{key}', {{dataSource: [{{image: \"{url}\", "
                       f"title: 'Photo'}}]}});</script>", browser_loads=False),  # Galleria: sigal's theme
    ]
    return forms[form % len(forms)]()


FORMS = 37  # how many forms image_markup knows
CLASSIC_FORMS = 7  # the first ones: what the extractor read before stylesheets and friends


def page_html(title: str, markups: list[Markup], body: str, head: str = "") -> str:
    """A whole page showing `markups` after `body`."""
    return (f"<!doctype html><html><head><title>{title}</title>{head}{''.join(m.head for m in markups)}</head>"
            f"<body><h1>{title}</h1>{body}{''.join(m.body for m in markups)}</body></html>")


def generate_site(root: Path, pages: int = 200, images: int = 500, *, seed: int = 7,
                  external_base: str | None = None, external_root: Path | None = None, first_image: int = 0,
                  forms: int = FORMS) -> SiteTruth:
    """Write a site of `pages` HTML pages and `images` image URLs under `root`; return its ground truth.

    Every page is reachable from index.html. About one image in ten has the same bytes as another
    under a different URL; some images are shown on many pages; a few links and images are broken;
    `/moved.html` and `/img/moved.png` are meant to be redirects (the server must do that part);
    with `external_base`, every page links to a page there (out of scope) and shows an image from
    there, as sites show images from a CDN, and the home page links to a picture there; those images
    are written under `external_root` if given
    (`truth.cdn_images`), else they are missing. Images are shown in the first `forms` of
    `image_markup`'s forms, in rotation. Image bytes depend on their number plus `first_image`,
    so two sites with different offsets share no image.
    """
    rng = random.Random(seed)
    truth = SiteTruth()
    (root / "p").mkdir(parents=True, exist_ok=True)
    (root / "img").mkdir(parents=True, exist_ok=True)
    image_paths = []
    for number in range(images):
        extension = _FORMATS[number % len(_FORMATS)][0]
        path = f"img/{number}.{extension}"
        original = number - 1 if number % 10 == 9 else number  # identical bytes, another URL
        data = make_image(original + first_image,
                          extension if original == number else _FORMATS[original % 4][0])
        if original != number:
            path = f"img/{number}.{_FORMATS[original % 4][0]}"
        (root / path).write_bytes(data)
        image_paths.append(path)
    page_paths = ["index.html"] + [f"p/{n}.html" for n in range(1, pages)]
    shown: dict[int, list[str]] = {n: [] for n in range(pages)}
    for number, path in enumerate(image_paths):  # every image on at least one page
        shown[number % pages].append(path)
    for path in image_paths[:5]:  # popular images, on many pages
        for page in rng.sample(range(pages), min(pages, 20)):
            shown[page].append(path)
    truth.redirects = {"moved.html": page_paths[min(1, pages - 1)], "img/moved.png": image_paths[0]}
    for number, page_path in enumerate(page_paths):
        links = [page_paths[(number + 1) % pages]] + [page_paths[rng.randrange(pages)] for _ in range(3)]
        body = [f'<a href="/{link}">page</a>' for link in links]
        if number % 40 == 3:
            broken = f"missing/{number}.html"
            body.append(f'<a href="/{broken}">gone</a>')
            truth.broken.append(broken)
        if number % 50 == 5:
            broken = f"img/missing-{number}.png"
            body.append(f'<img src="/{broken}">')
            truth.broken.append(broken)
        if number == 0:
            body.append('<a href="/moved.html">moved</a><img src="/img/moved.png">')
        if external_base is not None:
            external, cdn_image = f"{external_base}page-{number}.html", f"{external_base}img-{number}.png"
            body.append(f'<a href="{external}">elsewhere</a><img src="{cdn_image}">')
            truth.external.append(external)
            if number == 0:  # the home page links to a picture there, as a gallery's thumbnail does
                body.append(f'<a href="{external_base}full-0.png">full size</a>')
            if external_root is not None:
                external_root.mkdir(parents=True, exist_ok=True)
                shown_there = [(cdn_image, 1_000_000 + number)]
                if number == 0:
                    shown_there.append((f"{external_base}full-0.png", 2_000_000))
                for url, image_number in shown_there:
                    data = make_image(image_number + first_image, "png")
                    (external_root / url.rsplit("/", 1)[1]).write_bytes(data)
                    truth.cdn_images[url] = hashlib.sha256(data).hexdigest()
        body.append('<a href="mailto:someone@example.com">mail</a><a href="javascript:void(0)">js</a>')
        markups: list[Markup] = []
        for form, path in enumerate(shown[number], start=number):
            markup = image_markup(form % forms, f"/{path}", f"p{number}-{len(markups)}")
            markups.append(markup)
            truth.forms.setdefault(path, set()).add(markup.found_as)
            if markup.browser_loads:
                truth.browser_images.add(path)
            for css_path, text in markup.stylesheets.items():
                (root / css_path).parent.mkdir(parents=True, exist_ok=True)
                (root / css_path).write_text(text, encoding="utf-8")
                truth.stylesheets.append(css_path)
        # the home page names the site's web app manifest, whose icon a browser loads with it
        head = ('<meta property="og:image" content="/img/0.png"><link rel="manifest" href="/site.webmanifest">'
                if number == 0 else "")
        (root / page_path).write_text(page_html(f"Page {number}", markups, "".join(body), head), encoding="utf-8")
        truth.pages.append(page_path)
    # No page declares an icon, so a browser (and the crawler) asks for /favicon.ico; PNG bytes, as many sites serve.
    (root / "favicon.ico").write_bytes(make_image(-1 - first_image, "png"))
    image_paths.append("favicon.ico")
    truth.forms["favicon.ico"] = {"favicon"}
    truth.browser_images.add("favicon.ico")
    (root / "img" / "app-icon.png").write_bytes(make_image(-2 - first_image, "png"))
    (root / "site.webmanifest").write_text(json.dumps({"name": "Generated", "icons": [
        {"src": "img/app-icon.png", "sizes": "192x192", "type": "image/png"}]}), encoding="utf-8")
    image_paths.append("img/app-icon.png")
    truth.forms["img/app-icon.png"] = {"icon"}
    truth.browser_images.add("img/app-icon.png")
    truth.images = {path: hashlib.sha256((root / path).read_bytes()).hexdigest() for path in image_paths}
    return truth


_DEMO_PAGES = {
    "index.html": ("Queue-crawler demo gallery", ["birds.html", "boats.html", "about.html"],
                   ["sun.png", "sea.jpg"]),
    "birds.html": ("Birds", ["index.html", "birds/owl.html"], ["robin.jpg", "finch.png", "sun.png"]),
    "birds/owl.html": ("The owl", ["../birds.html", "../private/notes.html"], ["../owl.webp", "../finch.png"]),
    "boats.html": ("Boats", ["index.html", "nowhere.html"], ["sail.gif", "sea.jpg", "ferry.jpg"]),
    "about.html": ("About", ["index.html", "mailto:demo@example.com"], ["logo.png"]),
    "private/notes.html": ("Private notes", ["../index.html"], ["../secret.png"]),
}


def _demo_picture(seed: int, size: tuple[int, int]) -> Image.Image:
    rng = random.Random(seed)
    picture = Image.new("RGB", size)
    draw = ImageDraw.Draw(picture)
    top, bottom = [tuple(rng.randrange(256) for _ in range(3)) for _ in range(2)]
    for y in range(size[1]):  # a vertical gradient and a few shapes: small files, clearly different
        mix = y / max(1, size[1] - 1)
        draw.line((0, y, size[0], y), fill=tuple(int(a + (b - a) * mix) for a, b in zip(top, bottom)))
    for _ in range(4):
        x, y, r = rng.randrange(size[0]), rng.randrange(size[1]), rng.randrange(8, 40)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=tuple(rng.randrange(256) for _ in range(3)))
    return picture


_DEMO_EXTRAS = {  # page → markup showing the forms a modern site uses beside <img src>
    "index.html": ('<link rel="stylesheet" href="css/site.css">', '<div class="masthead">Demo</div>'),
    "birds.html": ("", ('<img class="lazy" data-sizes="auto" alt="heron">'
                       '<noscript><img src="img/heron.jpg" alt="heron"></noscript>')),
    "boats.html": ("", "<div style=\"height:120px; background-image: url('img/wave.png')\"></div>"),
    "about.html": ('<link rel="stylesheet" href="css/site.css">',
                   '<img src="img/logo.svg" alt="logo" width="64"><span class="badge">demo</span>'),
}
_DEMO_CSS = {
    "css/site.css": '@import "theme.css";\n.masthead { height: 120px; background: url(../img/masthead.jpg) }\n',
    "css/theme.css": ("@font-face { font-family: Demo; src: url(../fonts/demo.woff2) format('woff2') }\n"
                      ".badge { padding-left: 20px; background-image: url(../img/badge.svg) }\n"),
}
_DEMO_SVG = ('<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="{size}" '
             'height="{size}" viewBox="0 0 10 10"><circle cx="5" cy="5" r="4" fill="{colour}"/></svg>\n')


def generate_demo(root: Path) -> None:
    """Write the small demo site that `crawler demo` crawls (committed in seeds/demo-site)."""
    images = {"sun.png": "PNG", "sea.jpg": "JPEG", "robin.jpg": "JPEG", "finch.png": "PNG", "owl.webp": "WEBP",
              "sail.gif": "GIF", "ferry.jpg": "JPEG", "logo.png": "PNG", "secret.png": "PNG"}
    # numbered after the first ones, so those stay byte for byte as they were
    later = {"heron.jpg": "JPEG", "wave.png": "PNG", "masthead.jpg": "JPEG"}
    (root / "img").mkdir(parents=True, exist_ok=True)
    for number, (name, kind) in enumerate(sorted(images.items()) + sorted(later.items())):
        picture = _demo_picture(number, (64, 64) if name == "logo.png" else (320, 200))
        picture.save(root / "img" / name, kind, **({"quality": 80} if kind == "JPEG" else {}))
    (root / "img" / "sea-copy.jpg").write_bytes((root / "img" / "sea.jpg").read_bytes())
    (root / "img" / "logo.svg").write_text(_DEMO_SVG.format(size=64, colour="#2a6"), encoding="utf-8")
    (root / "img" / "badge.svg").write_text(_DEMO_SVG.format(size=16, colour="#c33"), encoding="utf-8")
    _demo_picture(99, (32, 32)).save(root / "favicon.ico", "ICO", sizes=[(32, 32)])  # asked for by every page
    for css_path, text in _DEMO_CSS.items():
        (root / css_path).parent.mkdir(parents=True, exist_ok=True)
        (root / css_path).write_text(text, encoding="utf-8")
    for path, (title, links, pictures) in _DEMO_PAGES.items():
        prefix = "../" * path.count("/")
        refs = "".join(f'<li><a href="{link}">{link}</a></li>' for link in links)
        tags = "".join(f'<img src="{prefix}img/{p.removeprefix("../")}" alt="{p}" width="320">' for p in pictures)
        if path == "boats.html":
            tags += '<img srcset="img/sea-copy.jpg 1x" alt="the same sea, another URL">'
        head, body = _DEMO_EXTRAS.get(path, ("", ""))
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(
            f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title>"
            f"<meta property='og:image' content='{prefix}img/sun.png'>{head}</head>"
            f"<body><h1>{title}</h1>{body}<ul>{refs}</ul>{tags}</body></html>\n", encoding="utf-8")
    (root / "robots.txt").write_text("User-agent: *\nDisallow: /private/\n", encoding="utf-8")


# -- the throughput benchmark's two-host site ----------------------------------------------------

_WORDS = ("crawler queue image scheduler node frontier lease robots politeness manifest gallery thumbnail "
          "canonical shared disk pixel lens harbour mountain river forest meadow city bridge tower").split()


def make_photo(number: int) -> bytes:
    """A small but real photo-like image (JPEG or PNG, a few KiB) unique to `number`: what the
    throughput benchmark moves (make_image's tiles are for tests, where size does not matter)."""
    rng = random.Random(number)
    picture = Image.new("RGB", (96, 64), tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(picture)
    for _ in range(6):
        x, y = rng.randrange(96), rng.randrange(64)
        draw.ellipse((x, y, x + rng.randrange(8, 40), y + rng.randrange(8, 30)),
                     fill=tuple(rng.randrange(256) for _ in range(3)))
    draw.text((4, 4), str(number), fill=(255, 255, 255))
    out = io.BytesIO()
    if number % 3 == 0:
        picture.save(out, "PNG")
    else:
        picture.save(out, "JPEG", quality=85)
    return out.getvalue()


def extension_of(number: int) -> str:
    return "png" if number % 3 == 0 else "jpg"


def _filler(rng: random.Random, target_bytes: int) -> str:
    parts, size = [], 0
    while size < target_bytes:
        words = " ".join(rng.choice(_WORDS) for _ in range(rng.randrange(20, 60)))
        chunk = f'<div class="c{rng.randrange(9)}"><p>{words} <span>{rng.choice(_WORDS)}</span></p></div>\n'
        parts.append(chunk)
        size += len(chunk)
    return "".join(parts)


def generate(root: Path, bases: tuple[str, str], pages: int, images_per_page: int = 3, seed: int = 11,
             pictures: dict[int, bytes] | None = None) -> SiteTruth:
    """Write the site for origins `bases` (URLs ending in /) under root/a and root/b; return the truth."""
    rng = random.Random(seed)
    pictures = pictures if pictures is not None else {}
    homes = [root / "a", root / "b"]
    for home in homes:
        (home / "p").mkdir(parents=True, exist_ok=True)
        (home / "img").mkdir(parents=True, exist_ok=True)
        (home / "private").mkdir(parents=True, exist_ok=True)
        (home / "robots.txt").write_text("User-agent: *\nDisallow: /private/\n")

    def host_of(page: int) -> int:
        return 1 if page % 4 == 3 else 0

    def page_url(page: int) -> str:
        return f"{bases[host_of(page)]}p/{page}.html"

    popular = list(range(20))  # images on host A shown on many pages
    links: dict[str, list[str]] = {}
    images_of: dict[str, list[str]] = {}
    sha_of: dict[str, str] = {}
    next_image = 20
    for number in popular:
        _write_image(homes[0], number, number, pictures, bases[0], sha_of)
    for page in range(pages):
        host = host_of(page)
        url = page_url(page)
        targets = [page_url((page + 1) % pages)] + [page_url(rng.randrange(pages)) for _ in range(4)]
        if page % 100 == 7:
            targets.append(f"{bases[host]}missing/{page}.html")
        if page % 50 == 9:
            targets.append(f"{bases[host]}private/{page}.html")
            (homes[host] / "private" / f"{page}.html").write_text("<html><body>private</body></html>")
        shown = []
        for _ in range(images_per_page):
            number = next_image
            next_image += 1
            content = number - 1 if number % 10 == 0 else number  # one in ten repeats another's bytes
            shown.append(_write_image(homes[host], number, content, pictures, bases[host], sha_of))
        if page % 3 == 0:
            number = rng.choice(popular)
            shown.append(f"{bases[0]}img/{number}.{extension_of(number)}")
        links[url], images_of[url] = targets, shown
        body = "".join(f'<a href="{t}">link</a> ' for t in targets)
        body += "".join(image_markup((page + k) % CLASSIC_FORMS, image, "").body for k, image in enumerate(shown))
        html = (f"<!doctype html><html><head><title>Page {page}</title></head><body><h1>Page {page}</h1>"
                f"<nav>{body}</nav>{_filler(rng, 9000)}</body></html>")
        (homes[host] / "p" / f"{page}.html").write_text(html)
    for home in homes:
        (home / "index.html").write_text(f'<html><body><a href="{page_url(0)}">start</a></body></html>')
    links[bases[0]] = [page_url(0)]  # the root (index.html) links to the first page
    return _reachable(bases[0], links, images_of, sha_of)


def _write_image(home: Path, number: int, content: int, pictures: dict[int, bytes], base: str,
                 sha_of: dict[str, str]) -> str:
    data = pictures.get(content)
    if data is None:
        data = pictures[content] = make_photo(content)
    name = f"{number}.{extension_of(content)}"
    (home / "img" / name).write_bytes(data)
    url = f"{base}img/{name}"
    sha_of[url] = hashlib.sha256(data).hexdigest()
    return url


def _reachable(start: str, links: dict[str, list[str]], images_of: dict[str, list[str]],
               sha_of: dict[str, str]) -> SiteTruth:
    """Breadth-first from `start`, as a perfect crawler that obeys robots.txt would go."""
    pages, broken, disallowed = {start}, set(), set()
    images: dict[str, str] = {}
    queue = deque([start])
    while queue:
        url = queue.popleft()
        for image in images_of.get(url, []):
            images[image] = sha_of[image]
        for target in links.get(url, []):
            if "/private/" in target:
                disallowed.add(target)
            elif "/missing/" in target:
                broken.add(target)
            elif target not in pages:
                pages.add(target)
                queue.append(target)
    return SiteTruth(pages=sorted(pages), images=images, broken=sorted(broken), disallowed=sorted(disallowed))

"""Deterministic synthetic sites with known ground truth, for tests, benchmarks and the demo."""

from __future__ import annotations

import hashlib
import io
import json
import random
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
    """What a complete crawl of a generated site must find (paths are URL paths from the site root)."""

    pages: list[str] = field(default_factory=list)
    images: dict[str, str] = field(default_factory=dict)  # reachable image path → sha256
    broken: list[str] = field(default_factory=list)  # referenced paths that do not exist
    redirects: dict[str, str] = field(default_factory=dict)  # path → target path (served by the test server)
    external: list[str] = field(default_factory=list)  # out-of-scope URLs the pages link to

    def distinct_images(self) -> int:
        return len(set(self.images.values()))

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.__dict__, indent=1, sort_keys=True))


def _image_tag(form: int, path: str) -> str:
    """One of the ways a page can show an image, in rotation."""
    return [
        f'<img src="/{path}" alt="">',
        f'<img srcset="/{path} 2x" alt="">',
        f'<img class="lazy" data-src="/{path}" alt="">',
        f'<picture><source srcset="/{path}" type="image/x"><img alt=""></picture>',
        f'<input type="image" src="/{path}" alt="go">',
        f'<img data-original="/{path}" alt="">',
        f'<img data-srcset="/{path} 1x" alt="">',
    ][form % 7]


def generate_site(root: Path, pages: int = 200, images: int = 500, *, seed: int = 7,
                  external_base: str = "http://localhost:9/", first_image: int = 0) -> SiteTruth:
    """Write a site of `pages` HTML pages and `images` image URLs under `root`; return its ground truth.

    Every page is reachable from index.html. About one image in ten has the same bytes as another
    under a different URL; some images are shown on many pages; a few links and images are broken;
    `/moved.html` and `/img/moved.png` are meant to be redirects (the server must do that part);
    every page links out of scope to `external_base`. Image bytes depend on their number plus
    `first_image`, so two sites with different offsets share no image.
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
        external = f"{external_base}page-{number}.html"
        body.append(f'<a href="{external}">elsewhere</a><img src="{external_base}img-{number}.png">')
        truth.external += [external, f"{external_base}img-{number}.png"]
        body += [_image_tag(form, path) for form, path in enumerate(shown[number], start=number)]
        body.append('<a href="mailto:someone@example.com">mail</a><a href="javascript:void(0)">js</a>')
        head = '<meta property="og:image" content="/img/0.png">' if number == 0 else ""
        html = (f"<!doctype html><html><head><title>Page {number}</title>{head}</head><body>"
                f"<h1>Page {number}</h1>{''.join(body)}</body></html>")
        (root / page_path).write_text(html, encoding="utf-8")
        truth.pages.append(page_path)
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


def generate_demo(root: Path) -> None:
    """Write the small demo site that `crawler demo` crawls (committed in seeds/demo-site)."""
    images = {"sun.png": "PNG", "sea.jpg": "JPEG", "robin.jpg": "JPEG", "finch.png": "PNG", "owl.webp": "WEBP",
              "sail.gif": "GIF", "ferry.jpg": "JPEG", "logo.png": "PNG", "secret.png": "PNG"}
    (root / "img").mkdir(parents=True, exist_ok=True)
    for number, (name, kind) in enumerate(sorted(images.items())):
        picture = _demo_picture(number, (64, 64) if name == "logo.png" else (320, 200))
        picture.save(root / "img" / name, kind, **({"quality": 80} if kind == "JPEG" else {}))
    (root / "img" / "sea-copy.jpg").write_bytes((root / "img" / "sea.jpg").read_bytes())
    for path, (title, links, pictures) in _DEMO_PAGES.items():
        prefix = "../" * path.count("/")
        refs = "".join(f'<li><a href="{link}">{link}</a></li>' for link in links)
        tags = "".join(f'<img src="{prefix}img/{p.removeprefix("../")}" alt="{p}" width="320">' for p in pictures)
        if path == "boats.html":
            tags += '<img srcset="img/sea-copy.jpg 1x" alt="the same sea, another URL">'
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(
            f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title>"
            f"<meta property='og:image' content='{prefix}img/sun.png'></head>"
            f"<body><h1>{title}</h1><ul>{refs}</ul>{tags}</body></html>\n", encoding="utf-8")
    (root / "robots.txt").write_text("User-agent: *\nDisallow: /private/\n", encoding="utf-8")

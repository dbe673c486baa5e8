"""A deterministic synthetic site on two hosts, with the ground truth a complete crawl must match.

Pages (~10 KiB each) link to each other across two origins (two ports), show images in every form
the extractor reads, share popular images, repeat some image bytes under other URLs, link to a few
missing pages, and link into a folder that robots.txt disallows.
"""

from __future__ import annotations

import hashlib
import io
import random
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageDraw

FORMS = 7
_WORDS = ("crawler queue image scheduler node frontier lease robots politeness manifest gallery thumbnail "
          "canonical shared disk pixel lens harbour mountain river forest meadow city bridge tower").split()


def make_picture(number: int) -> bytes:
    """A small but real photo-like image (JPEG or PNG, a few KiB) unique to `number`."""
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


@dataclass
class Truth:
    pages: set[str] = field(default_factory=set)  # reachable page URLs
    images: dict[str, str] = field(default_factory=dict)  # reachable image URL → sha256
    broken: set[str] = field(default_factory=set)  # reachable links that 404
    disallowed: set[str] = field(default_factory=set)  # linked, but robots.txt forbids them

    def requests(self) -> int:
        """HTTP requests a perfect crawl makes (two robots.txt included)."""
        return len(self.pages) + len(self.images) + len(self.broken) + 2


def _image_tag(form: int, url: str) -> str:
    return (f'<img src="{url}" alt="">', f'<img srcset="{url} 2x" alt="">', f'<img data-src="{url}" alt="">',
            f'<picture><source srcset="{url}"><img alt=""></picture>', f'<input type="image" src="{url}">',
            f'<img data-original="{url}" alt="">', f'<img data-srcset="{url} 1x" alt="">')[form % FORMS]


def _filler(rng: random.Random, target_bytes: int) -> str:
    parts, size = [], 0
    while size < target_bytes:
        words = " ".join(rng.choice(_WORDS) for _ in range(rng.randrange(20, 60)))
        chunk = f'<div class="c{rng.randrange(9)}"><p>{words} <span>{rng.choice(_WORDS)}</span></p></div>\n'
        parts.append(chunk)
        size += len(chunk)
    return "".join(parts)


def generate(root: Path, bases: tuple[str, str], pages: int, images_per_page: int = 3, seed: int = 11,
             pictures: dict[int, bytes] | None = None) -> Truth:
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
        body += "".join(_image_tag(page + k, image) for k, image in enumerate(shown))
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
        data = pictures[content] = make_picture(content)
    name = f"{number}.{extension_of(content)}"
    (home / "img" / name).write_bytes(data)
    url = f"{base}img/{name}"
    sha_of[url] = hashlib.sha256(data).hexdigest()
    return url


def _reachable(start: str, links: dict[str, list[str]], images_of: dict[str, list[str]],
               sha_of: dict[str, str]) -> Truth:
    """Breadth-first from `start`, as a perfect crawler that obeys robots.txt would go."""
    truth = Truth()
    queue = deque([start])
    truth.pages.add(start)
    while queue:
        url = queue.popleft()
        for image in images_of.get(url, []):
            truth.images[image] = sha_of[image]
        for target in links.get(url, []):
            if "/private/" in target:
                truth.disallowed.add(target)
            elif "/missing/" in target:
                truth.broken.add(target)
            elif target not in truth.pages:
                truth.pages.add(target)
                queue.append(target)
    return truth

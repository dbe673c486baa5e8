"""How the gallery copes with a large crawl: write time, page size and load time in headless Chromium;
and the time `crawler export --layout names` takes on the same output."""

from __future__ import annotations

import hashlib
import io
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageDraw

from benchmarks import browser
from benchmarks.site import make_photo
from crawler.output.export import export_by_name
from crawler.output.gallery import write_gallery


def fabricate_output(root: Path, images: int, hosts: int = 20, picture: Callable[[int], bytes] = make_photo) -> None:
    """An output directory as a crawl of `images` images (`picture(number)`) on `hosts` hosts would leave it."""
    records = []
    for number in range(images):
        data = picture(number)
        sha = hashlib.sha256(data).hexdigest()
        host = f"host{number % hosts}.example"
        extension = "png" if data.startswith(b"\x89PNG") else "jpg"
        with Image.open(io.BytesIO(data)) as opened:
            width, height = opened.size
        path = f"images/{host}/{sha}.{extension}"
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(data)
        records.append({"url": f"http://{host}/img/{number}.{extension}", "page_url": f"http://{host}/p/{number}",
                        "path": path, "sha256": sha, "bytes": len(data), "content_type": f"image/{extension}",
                        "width": width, "height": height, "node": "n1", "time": "2026-01-01T00:00:00+00:00"})
    (root / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))


# A keystroke in the search box: from the input event to the next frame (filter, sort, cards made).
_KEYSTROKE = """const box = document.getElementById('search'); box.value = arguments[0];
const started = performance.now(); box.dispatchEvent(new Event('input'));
return new Promise(done => requestAnimationFrame(() => setTimeout(() => done(performance.now() - started), 0)));"""


def browser_timings(page: Path) -> tuple[float, float] | None:
    """Seconds until the gallery's load event in headless Chromium, and the median milliseconds a
    keystroke in its search box takes with every image matching; None where Chromium is not installed."""
    if not browser.available():
        return None
    driver = browser.start()
    try:
        driver.get(page.as_uri())
        timing = driver.execute_script("const t = performance.timing; return t.loadEventEnd - t.navigationStart")
        keystrokes = [driver.execute_script(_KEYSTROKE, typed) for typed in ("i", "im", "", "i", "im", "")]
        return timing / 1000, statistics.median(keystrokes)
    finally:
        driver.quit()


def gallery(work: Path, sizes: tuple[int, ...] = (10_000, 50_000), hosts: int = 20) -> None:
    for images in sizes:
        _gallery_of(work / str(images), images, hosts)
    full_size(work / "full-size")


def _gallery_of(work: Path, images: int, hosts: int) -> None:
    work.mkdir(parents=True, exist_ok=True)
    fabricate_output(work, images, hosts)
    started = time.monotonic()
    page = write_gallery(work)
    first = time.monotonic() - started
    started = time.monotonic()
    write_gallery(work)
    again = time.monotonic() - started
    timings = browser_timings(page)
    started = time.monotonic()
    export_by_name(work, work / "by-name")  # the other way to look at a crawl: its images under their names
    exported = time.monotonic() - started
    print(f"\n## gallery of {images:,} images on {hosts} hosts")
    print(f"  first write           {first:9.1f} s (thumbnails made)")
    print(f"  rewrite               {again:9.1f} s (thumbnails there)")
    print(f"  index.html            {page.stat().st_size / 1e6:9.1f} MB")
    if timings is None:
        print("  in Chromium              skipped (no chromium)")
    else:
        print(f"  load in Chromium      {timings[0]:9.2f} s")
        print(f"  a search keystroke    {timings[1]:9.0f} ms (every image matching; median of 6)")
    print(f"  export --layout names {exported:9.1f} s (hard links under the images' own names)")


def full_size_picture(number: int) -> bytes:
    """A picture as sites serve them: a 1024x768 photo (JPEG), or one in three an 800x600 screenshot
    with transparency (PNG). Noise keeps them as costly to decode as real ones."""
    screenshot = number % 3 == 0
    size = (800, 600) if screenshot else (1024, 768)
    noise = Image.effect_noise(size, 40 + number % 20)
    mirrored = noise.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    picture = Image.merge("RGB", (noise, noise.rotate(90), mirrored))
    ImageDraw.Draw(picture).text((10, 10), str(number), fill=(255, 255, 255))
    out = io.BytesIO()
    if screenshot:
        picture.putalpha(200)
        picture.save(out, "PNG")
    else:
        picture.save(out, "JPEG", quality=85)
    return out.getvalue()


def full_size(work: Path, images: int = 300) -> None:
    """Where the first write's time goes with real pictures: decoding and scaling each one."""
    work.mkdir(parents=True, exist_ok=True)
    fabricate_output(work, images, hosts=3, picture=full_size_picture)
    started = time.monotonic()
    write_gallery(work)
    first = time.monotonic() - started
    print(f"\n## gallery of {images} full-size pictures (1024x768 JPEG photos, 800x600 PNG screenshots)")
    print(f"  first write           {first:9.2f} s, {first / images * 1000:.1f} ms a picture (thumbnails made)")

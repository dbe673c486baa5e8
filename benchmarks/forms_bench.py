"""Every image a browser would show: coverage by form against headless Chromium and wget, and parsing cost.

The site is `crawler.sitegen.generate_site` with every form of `image_markup` in rotation (CSS in
all its places, noscript, SVG, icons, metadata…). Truth is the generator's own list; "browser" is
what headless Chromium requested while each page was loaded and scrolled (JavaScript-only images
aside, as the generator has none). wget -r -p is the reference crawler where installed.
"""

from __future__ import annotations

import base64
import hashlib
import os
import random
import shutil
import statistics
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

from benchmarks import browser
from benchmarks.crawl import REPO, run_command
from benchmarks.servers import Nginx, PythonServer, free_ports
from benchmarks.site import SiteTruth, generate_site, make_image
from benchmarks.site import generate as generate_classic
from crawler import broker
from crawler.node.extract import extract
from crawler.node.inline import decoded
from crawler.storage import read_jsonl


def crawl(base: str, output: Path, repo: Path = REPO) -> set[str]:
    """Crawl with `crawler run` (defaults, no delay) from the source tree `repo`; return the saved sha256s."""
    env = dict(os.environ, **{broker.AUTHKEY_ENV: broker.generate_authkey().decode()})
    done = subprocess.run(run_command(base, "--output", str(output), "--fresh", "--delay", "0", "--quiet"),
                          cwd=repo, env=env, stdout=subprocess.DEVNULL)
    if done.returncode not in (0, 3):  # 3: some pages or sites failed (a real site's dead links), the rest saved
        raise subprocess.CalledProcessError(done.returncode, done.args)
    return {record["sha256"] for record in read_jsonl(output / "manifest.jsonl")}


def wget(base: str, folder: Path) -> set[str] | None:
    """Mirror with `wget -r -l inf -p -np` (robots obeyed); return the sha256s of every file, or None without wget."""
    if shutil.which("wget") is None:
        return None
    subprocess.run(["wget", "-q", "-r", "-l", "inf", "-p", "-np", "-P", str(folder), base], check=False)
    return {hashlib.sha256(path.read_bytes()).hexdigest() for path in folder.rglob("*") if path.is_file()}


def coverage_by_form(truth: SiteTruth, saved: set[str], among: set[str]) -> dict[str, float]:
    """Share of images saved, by form, over images shown in exactly one form (and in `among`)."""
    shown: Counter[str] = Counter()
    found: Counter[str] = Counter()
    for path, forms in truth.forms.items():
        if len(forms) == 1 and path in among:
            form = next(iter(forms))
            shown[form] += 1
            found[form] += truth.images[path] in saved
    return {form: found[form] / shown[form] for form in sorted(shown)}


def extraction_ms_per_page(pages: list[tuple[bytes, str]], rounds: int = 5) -> float:
    """CPU milliseconds extract() takes per page (median of `rounds` passes over all pages)."""
    times = []
    for _ in range(rounds):
        started = time.process_time()
        for body, url in pages:
            extract(body, url)
        times.append((time.process_time() - started) * 1000 / len(pages))
    return statistics.median(times)


def _share(part: set[str], whole: set[str]) -> str:
    return f"{len(part & whole) / len(whole):7.1%}" if whole else "    n/a"


def forms(work: Path, pages: int = 200, images: int = 600) -> None:
    root = work / "forms-site"
    truth = generate_site(root, pages=pages, images=images)
    (port,) = free_ports(1)
    server = PythonServer([root], [port], work / "forms-server")
    base = f"http://127.0.0.1:{port}/"
    by_path = {path: sha for path, sha in truth.images.items()}
    every = set(by_path)
    print(f"\n## every image a browser would show: {len(truth.pages)} pages, {len(every)} image URLs, "
          f"{len(truth.stylesheets)} stylesheets, {len(form_names(truth))} forms")
    try:
        loaded: set[str] | None = None
        if browser.available():
            server.reset()
            browser.visit_all([base + page for page in truth.pages])
            loaded = {key.split(" ", 1)[1].lstrip("/") for key in server.hits()} & every
        server.reset()
        started = time.monotonic()
        ours = crawl(base, work / "forms-out")
        wall = time.monotonic() - started
        hits = server.hits()
        duplicates = sum(count - 1 for count in hits.values() if count > 1)
        reference = wget(base, work / "forms-wget")
    finally:
        server.close()
    rows = [("queue-crawler", ours)] + ([("wget -r -p", reference)] if reference is not None else [])
    shas = {path: by_path[path] for path in every}
    print(f"  {'':14} {'of truth':>8} {'of browser':>10}")
    for name, saved in rows:
        of_truth = {p for p in every if shas[p] in saved}
        of_browser = _share(of_truth, loaded) if loaded is not None else "    n/a"
        print(f"  {name:14} {_share(of_truth, every):>8} {of_browser:>10}")
    if loaded is None:
        print("  (no headless Chromium: install Debian's chromium and chromium-driver for the browser column)")
    else:
        print(f"  headless Chromium loaded {len(loaded)} of the {len(every)} image URLs")
    print(f"  queue-crawler: {wall:.2f} s, {sum(hits.values())} requests, {duplicates} duplicate fetches")
    print("  coverage by form (images shown in that form only):")
    ours_by_form = coverage_by_form(truth, ours, every)
    wget_by_form = coverage_by_form(truth, reference, every) if reference is not None else {}
    for form, share in ours_by_form.items():
        other = f"   wget {wget_by_form[form]:6.1%}" if form in wget_by_form else ""
        print(f"    {form:12} {share:6.1%}{other}")
    classic_root = work / "classic-site"
    generate_classic(classic_root, ("http://127.0.0.1:1/", "http://127.0.0.1:2/"), 200)
    classic_pages = sorted((classic_root / "a" / "p").glob("*.html"))
    classic = [(page.read_bytes(), "http://127.0.0.1:1/p/x.html") for page in classic_pages]
    modern = [((root / page).read_bytes(), base + page) for page in truth.pages]
    print(f"  extraction CPU: {extraction_ms_per_page(classic):.3f} ms per benchmark page "
          f"(~10 KiB, classic forms); {extraction_ms_per_page(modern):.3f} ms per page of this site")


DOC_SITE = Path("/usr/share/doc/python3.11/html")  # Debian's python3.11-doc: a real Sphinx site, 530 pages
# Debian's doxygen-doc: the Doxygen manual (a tree view) and 28 example sites (menu bars), 359 pages,
# whose navigation scripts draw from data files (see crawler/node/menus.py)
DOXYGEN_SITE = Path("/usr/share/doc/doxygen/html")
# Debian's libreoffice-help-en-us: 2,561 pages whose contents and index a script draws from data
# files; crawled from one of its pages (its root page is a script's), Chromium sent to a sample
LIBREOFFICE_HELP = Path("/usr/share/libreoffice/help")
LIBREOFFICE_HELP_SEED = "en-US/text/shared/05/new_help.html"
# Debian's qtbase5-doc-html: Qt's offline documentation as qdoc writes it, 2,333 pages of 14 modules,
# each page's stylesheet switched by its script (see "What is crawled"); crawled from the widgets' index
QT_DOCS = Path("/usr/share/qt5/doc")
QT_DOCS_SEED = "qtwidgets/qtwidgets-index.html"


def _image_digests(root: Path, paths: set[str]) -> dict[str, str]:
    """{sha256: path} of each requested file under `root` that is an image (sniffed as the crawler does)."""
    from crawler.node.images import NotAnImage, identify
    found = {}
    for path in paths:
        file = root / path.split("?", 1)[0].lstrip("/")
        if file.is_file():
            data = file.read_bytes()
            try:
                identify(data, 100_000_000)
            except NotAnImage:
                continue
            found[hashlib.sha256(data).hexdigest()] = path
    return found


def real_site(work: Path, root: Path = DOC_SITE, package: str = "python3.11-doc", seed: str = "",
              sample: int | None = None) -> None:
    """The same comparison on a real documentation site, where Debian's package is installed: the
    crawls start from `seed` (a path under `root`), Chromium visits every page or a `sample` of them."""
    if not (root / (seed or "index.html")).is_file():
        print(f"\n## real site: skipped ({root} missing; `apt-get install {package}` adds it)")
        return
    (port,) = free_ports(1)
    server = Nginx([root], [port], work / "doc-nginx") if Nginx.available() else PythonServer([root], [port], work)
    base = f"http://127.0.0.1:{port}/"
    try:
        pages = sorted(str(p.relative_to(root)) for p in root.rglob("*.html") if "_sources" not in p.parts)
        visited = random.Random(1).sample(pages, sample) if sample is not None and sample < len(pages) else pages
        loaded: dict[str, str] | None = None
        if browser.available():
            server.reset()
            browser.visit_all([base + page for page in visited], settle_seconds=2.0)
            loaded = _image_digests(root, {key.split(" ", 1)[1] for key in server.hits()})
        server.reset()
        started = time.monotonic()
        ours = crawl(base + seed, work / "doc-out")
        wall = time.monotonic() - started
        requests = sum(server.hits().values())
        reference = wget(base + seed, work / "doc-wget")
    finally:
        server.close()
    print(f"\n## real site: {root} ({len(pages)} pages), served by {server.name}"
          + (f", crawled from {seed}" if seed else ""))
    if loaded is not None:
        on = f"on {len(visited)} of its pages chosen at random" if len(visited) < len(pages) else "on every page"
        print(f"  headless Chromium loaded {len(loaded)} distinct images {on}")
        rows = [("queue-crawler", ours)] + ([("wget -r -p", reference)] if reference is not None else [])
        for name, saved in rows:
            missed = sorted(path for sha, path in loaded.items() if sha not in saved)
            print(f"  {name} found {len(loaded) - len(missed)} of them ({1 - len(missed) / max(1, len(loaded)):.0%})"
                  + (f"; missed {', '.join(missed)} (check whether only a script refers to them)" if missed else ""))
        print(f"  queue-crawler: {len(ours)} distinct images in all, {wall:.1f} s, {requests} requests")
    else:
        print(f"  queue-crawler: {len(ours)} distinct images in {wall:.1f} s (no Chromium for the browser column)")


_PLACEHOLDER_GIF = "data:image/gif;base64,R0lGODlhAQABAAAAACH5BAEKAAEALAAAAAABAAEAAAICTAEAOw=="
_ICON = ("data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E"
         "%3Cpath d='M{n} 0h2v16h-2z'/%3E%3C/svg%3E")


def _report_site(root: Path, pages: int, plots: int) -> tuple[list[str], set[str]]:
    """Pages like those R Markdown, nbconvert and pandoc --self-contained write: each plot a data:
    URI in a figure, a theme's icons as data: URIs in a <style>, and a lazily loaded photo behind a
    data: placeholder. Return the pages and the sha256s of the pictures they show."""
    root.mkdir(parents=True, exist_ok=True)
    shown: set[str] = set()
    icons = " ".join(f".icon-{n} {{ background: url(\"{_ICON.format(n=n)}\") }}" for n in range(12))
    names = [f"report{n}.html" for n in range(pages)]
    for n, name in enumerate(names):
        figures = []
        for k in range(plots):
            plot = make_image(1000 + n * plots + k, "png", (320, 200))
            shown.add(hashlib.sha256(plot).hexdigest())
            figures.append(f'<figure><img src="data:image/png;base64,{base64.b64encode(plot).decode()}" '
                           f'alt="plot {k}"><figcaption>Figure {k}</figcaption></figure>')
        photo = make_image(5000 + n, "jpg", (320, 200))
        (root / f"photo{n}.jpg").write_bytes(photo)
        shown.add(hashlib.sha256(photo).hexdigest())
        following = f'<a href="{names[n + 1]}">next</a>' if n + 1 < pages else ""
        (root / name).write_text(
            f"<!doctype html><html><head><style>{icons}</style></head><body>{''.join(figures)}"
            f'<img class="lazyload" src="{_PLACEHOLDER_GIF}" data-src="photo{n}.jpg" loading="lazy">'
            f'<noscript><img src="photo{n}.jpg"></noscript>{following}</body></html>')
    (root / "index.html").write_text(f'<a href="{names[0]}">the reports</a>')
    return names, shown


def written_in(work: Path, pages: int = 20, plots: int = 4) -> None:
    """Pictures written into pages as data: URIs, against what Chromium shows and what wget saves."""
    names, truth = _report_site(work / "report-site", pages, plots)
    (port,) = free_ports(1)
    server = PythonServer([work / "report-site"], [port], work / "report-server")
    base = f"http://127.0.0.1:{port}/"
    print(f"\n## pictures written into pages (data: URIs): {pages} pages, {len(truth)} pictures "
          f"({plots} plots a page as data: URIs, and a lazily loaded photo)")
    try:
        shown: set[str] | None = None
        if browser.available():
            shown = set()
            for src in set(browser.shown_images([base + name for name in names])):
                data = (decoded(src, 50_000_000) if src.startswith("data:")
                        else (work / "report-site" / urlsplit(src).path.lstrip("/")).read_bytes())
                shown.add(hashlib.sha256(data).hexdigest())
        ours = crawl(base, work / "report-out")
        reference = wget(base, work / "report-wget")
    finally:
        server.close()
    print(f"  {'':14} {'of truth':>8} {'of browser':>10} {'others saved':>12}")
    for name, saved in [("queue-crawler", ours)] + ([("wget -r -p", reference)] if reference is not None else []):
        of_browser = _share(saved, shown) if shown is not None else "    n/a"
        others = len(saved - truth - (shown or set())) if name == "queue-crawler" else "-"
        print(f"  {name:14} {_share(saved, truth):>8} {of_browser:>10} {others:>12}")
    if shown is not None:
        print(f"  headless Chromium showed {len(shown)} distinct pictures (<img>): {len(shown & truth)} of the truth, "
              f"and {len(shown - truth)} other (the lazy photos' placeholder, which no script swapped here; "
              "the crawler leaves it out)")


def fgallery_site(work: Path, photos: int = 12) -> None:
    """A gallery written by Debian's fgallery (a page with no picture in it, its script reading
    data.json), compared as a real site is, where the fgallery command is installed."""
    if shutil.which("fgallery") is None:
        print("\n## real site: fgallery gallery skipped (`apt-get install fgallery` adds it)")
        return
    source, gallery = work / "photos", work / "fgallery"
    source.mkdir(parents=True, exist_ok=True)
    for number in range(photos):  # photos of some size: fgallery makes thumbnails, blurs and the shown size
        (source / f"p{number:02d}.jpg").write_bytes(make_image(5000 + number, "jpg", (1600, 1200)))
    shutil.rmtree(gallery, ignore_errors=True)
    subprocess.run(["fgallery", str(source), str(gallery), "Photos"], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    real_site(work / "fgallery-out", gallery, "fgallery")


def real_sites(work: Path) -> None:
    """The real sites' comparisons, each where its Debian package is installed."""
    real_site(work / "doc-site")
    real_site(work / "doxygen-site", DOXYGEN_SITE, "doxygen-doc")
    real_site(work / "libreoffice-help", LIBREOFFICE_HELP, "libreoffice-help-en-us", seed=LIBREOFFICE_HELP_SEED,
              sample=150)
    real_site(work / "qt-docs", QT_DOCS, "qtbase5-doc-html", seed=QT_DOCS_SEED, sample=150)


def form_names(truth: SiteTruth) -> set[str]:
    return {form for forms in truth.forms.values() for form in forms}


if __name__ == "__main__":
    forms(Path(tempfile.mkdtemp(prefix="crawler-forms-")))
    written_in(Path(tempfile.mkdtemp(prefix="crawler-reports-")))
    real_sites(Path(tempfile.mkdtemp(prefix="crawler-real-")))
    fgallery_site(Path(tempfile.mkdtemp(prefix="crawler-fgallery-")))

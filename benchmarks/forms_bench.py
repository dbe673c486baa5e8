"""Every image a browser would show: coverage by form against headless Chromium and wget, and parsing cost.

The site is `crawler.sitegen.generate_site` with every form of `image_markup` in rotation (CSS in
all its places, noscript, SVG, icons, metadata…). Truth is the generator's own list; "browser" is
what headless Chromium requested while each page was loaded and scrolled (JavaScript-only images
aside, as the generator has none). wget -r -p is the reference crawler where installed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from benchmarks import browser
from benchmarks.crawl import REPO
from benchmarks.servers import Nginx, PythonServer, free_ports
from benchmarks.site import SiteTruth, generate_site
from benchmarks.site import generate as generate_classic
from crawler import broker
from crawler.node.extract import extract
from crawler.storage import read_jsonl


def crawl(base: str, output: Path, repo: Path = REPO) -> set[str]:
    """Crawl with `crawler run` (defaults, no delay) from the source tree `repo`; return the saved sha256s."""
    env = dict(os.environ, **{broker.AUTHKEY_ENV: broker.generate_authkey().decode()})
    subprocess.run([sys.executable, "-m", "crawler", "run", base, "--output", str(output), "--fresh",
                    "--delay", "0", "--quiet"], cwd=repo, env=env, check=True, stdout=subprocess.DEVNULL)
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


def real_site(work: Path, root: Path = DOC_SITE) -> None:
    """The same comparison on a real documentation site, where Debian's package is installed."""
    if not (root / "index.html").is_file():
        print(f"\n## real site: skipped ({root} missing; `apt-get install python3.11-doc` adds it)")
        return
    (port,) = free_ports(1)
    server = Nginx([root], [port], work / "doc-nginx") if Nginx.available() else PythonServer([root], [port], work)
    base = f"http://127.0.0.1:{port}/"
    try:
        pages = sorted(str(p.relative_to(root)) for p in root.rglob("*.html") if "_sources" not in p.parts)
        loaded: dict[str, str] | None = None
        if browser.available():
            server.reset()
            browser.visit_all([base + page for page in pages], settle_seconds=2.0)
            loaded = _image_digests(root, {key.split(" ", 1)[1] for key in server.hits()})
        server.reset()
        started = time.monotonic()
        ours = crawl(base, work / "doc-out")
        wall = time.monotonic() - started
        requests = sum(server.hits().values())
        reference = wget(base, work / "doc-wget")
    finally:
        server.close()
    print(f"\n## real site: {root} ({len(pages)} pages), served by {server.name}")
    if loaded is not None:
        print(f"  headless Chromium loaded {len(loaded)} distinct images")
        rows = [("queue-crawler", ours)] + ([("wget -r -p", reference)] if reference is not None else [])
        for name, saved in rows:
            missed = sorted(path for sha, path in loaded.items() if sha not in saved)
            print(f"  {name} found {len(loaded) - len(missed)} of them ({1 - len(missed) / max(1, len(loaded)):.0%})"
                  + (f"; missed {', '.join(missed)} (check whether only a script refers to them)" if missed else ""))
        print(f"  queue-crawler: {len(ours)} distinct images in all, {wall:.1f} s, {requests} requests")
    else:
        print(f"  queue-crawler: {len(ours)} distinct images in {wall:.1f} s (no Chromium for the browser column)")


def form_names(truth: SiteTruth) -> set[str]:
    return {form for forms in truth.forms.values() for form in forms}


if __name__ == "__main__":
    forms(Path(tempfile.mkdtemp(prefix="crawler-forms-")))
    real_site(Path(tempfile.mkdtemp(prefix="crawler-doc-")))

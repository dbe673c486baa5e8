"""A re-crawl of one site where 5 % of the pages changed, against the first crawl of it.

The generated site (one host, nginx, which sends ETag and Last-Modified) is crawled with
`crawler run URL --delay 0`; then 5 % of its pages get new content (and a newer modification
time), and `crawler run URL --recrawl --delay 0` checks it again. Wall time and the body bytes
nginx sent are compared in each of `runs` rounds (a fresh output each time); medians are printed.
The rounds run over http, then over https with a self-signed certificate (where openssl is installed),
then over https with images sent with nginx's `expires 30d` (their freshness spares their requests),
then over http from Apache httpd set up as Debian sets it up (mod_deflate compressing the pages, and
marking their ETags "-gzip"), where Debian's apache2-bin is installed.
Last, where Debian's python3.11-doc is installed, a copy of it over http: a real site, whose pages
(50 MB of them) cost their bodies and their parse, where the generated site's cost little but the
request.
"""

from __future__ import annotations

import itertools
import os
import random
import shutil
import statistics
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import requests.utils

from benchmarks.crawl import REPO, run_command
from benchmarks.forms_bench import DOC_SITE
from benchmarks.servers import Apache, Nginx, free_ports, self_signed_certificate
from benchmarks.site import generate_site
from crawler import broker


def _timed_run(*arguments: str, env: dict[str, str]) -> tuple[float, str]:
    started = time.monotonic()
    done = subprocess.run(run_command(*arguments, "--delay", "0"), cwd=REPO, env=env, capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        raise RuntimeError(f"crawler run {' '.join(arguments)} failed: {done.stderr.strip()[-300:]}")
    return time.monotonic() - started, done.stdout


def _change(root: Path, pages: list[str], share: float, rng: random.Random, stamp: int) -> None:
    """Give `share` of the pages new content and a later modification time, in the past as an
    edit's is: a second later than their last at least (Last-Modified counts whole seconds). (A time
    to come, which this took until 2026-12-07, Apache sends as the time of the request and then
    never validates: 50 pages came back whole in each of its re-crawls.)"""
    chosen = rng.sample(pages, max(1, round(len(pages) * share)))
    latest = max((root / page).stat().st_mtime for page in chosen)
    time.sleep(max(0.0, latest + 2 - time.time()))
    edited = time.time() - 1
    for page in chosen:
        path = root / page
        path.write_text(path.read_text() + f"\n<!-- edited {stamp} -->\n")
        os.utime(path, (edited, edited))


def recrawl(work: Path, pages: int = 1000, runs: int = 3, share: float = 0.05) -> None:
    if not Nginx.available():
        print("\n## re-crawl: skipped (needs nginx: apt-get install nginx-light)")
        return
    root = work / "site"
    truth = generate_site(root, pages=pages, images=pages)
    env = dict(os.environ, **{broker.AUTHKEY_ENV: broker.generate_authkey().decode()})
    rng, stamps = random.Random(11), itertools.count(1)
    print(f"\n## re-crawl: {len(truth.pages)} pages, {len(truth.images)} image URLs, "
          f"{max(1, round(len(truth.pages) * share))} pages changed ({share:.0%}) before each re-crawl, "
          f"served by nginx (median of {runs})")
    _rounds(work, root, truth.pages, None, env, rng, stamps, runs, share)
    if Apache.available():
        _rounds(work, root, truth.pages, None, env, rng, stamps, runs, share, apache=True,
                label="http, Apache httpd as Debian sets it up (pages compressed, their ETags marked -gzip)")
    else:
        print("  Apache: skipped (needs Debian's apache2-bin)")
    certificate = self_signed_certificate(work / "tls")
    if certificate is None:
        print("  https: skipped (needs the openssl command)")
        return
    # Most sites are https: there a request that opens a new connection also pays for a TLS handshake,
    # against the authorities a crawl trusts (certifi's, which requests uses), this server's among them.
    trusted = work / "tls" / "trusted.pem"
    trusted.write_text(Path(requests.utils.DEFAULT_CA_BUNDLE_PATH).read_text() + certificate[0].read_text())
    env = dict(env, REQUESTS_CA_BUNDLE=str(trusted))
    _rounds(work, root, truth.pages, certificate, env, rng, stamps, runs, share)
    # Many sites tell caches how long their images stay fresh (nginx: `expires 30d`); a re-crawl
    # within that time does not ask for them.
    _rounds(work, root, truth.pages, certificate, env, rng, stamps, runs, share, image_expires="30d")
    _real_site(work, dict(os.environ, **{broker.AUTHKEY_ENV: env[broker.AUTHKEY_ENV]}), rng, stamps, runs, share)


def _real_site(work: Path, env: dict[str, str], rng: random.Random, stamps: Iterator[int], runs: int,
               share: float) -> None:
    """The rounds over a copy of Debian's python3.11-doc (changed pages must not touch the package's)."""
    if not (DOC_SITE / "index.html").is_file():
        print(f"  real site: skipped ({DOC_SITE} missing; `apt-get install python3.11-doc` adds it)")
        return
    root = work / "doc-site"
    if not root.exists():  # its shared scripts are links into /usr/share/javascript: copy what they name
        shutil.copytree(DOC_SITE, root, symlinks=False, ignore_dangling_symlinks=True)
    pages = sorted(str(path.relative_to(root)) for path in root.rglob("*.html"))
    _rounds(work, root, pages, None, env, rng, stamps, runs, share,
            label=f"real site: Debian's python3.11-doc, {len(pages)} pages, {max(1, round(len(pages) * share))} "
                  "changed, http")


def _rounds(work: Path, root: Path, pages: list[str], tls: tuple[Path, Path] | None, env: dict[str, str],
            rng: random.Random, stamps: Iterator[int], runs: int, share: float,
            image_expires: str | None = None, label: str | None = None, apache: bool = False) -> None:
    """`runs` rounds of a first crawl, a change and a re-crawl (over https with `tls`, from Apache
    with `apache`, else nginx); print the medians."""
    scheme = "https" if tls else "http"
    (port,) = free_ports(1)
    name = label or scheme + (f", images sent with `expires {image_expires}`" if image_expires else "")
    place = f"{scheme}{image_expires or ''}{'-' + root.name if label else ''}{'-apache' if apache else ''}"
    server: Nginx | Apache = (Apache(root, port, work / f"apache-{place}") if apache else
                              Nginx([root], [port], work / f"nginx-{place}", tls=tls, image_expires=image_expires))
    base = f"{scheme}://127.0.0.1:{port}/"
    first_walls, again_walls, first_bytes, again_bytes = [], [], [], []
    statuses = None
    summary = ""
    try:
        for n in range(runs):
            output = str(work / f"out-{place}{n}")
            server.reset()
            wall, _ = _timed_run(base, "--output", output, "--fresh", env=env)
            first_walls.append(wall)
            first_bytes.append(server.traffic()[1])
            _change(root, pages, share, rng, next(stamps))
            server.reset()
            wall, summary = _timed_run(base, "--output", output, "--recrawl", env=env)
            again_walls.append(wall)
            statuses, sent = server.traffic()
            again_bytes.append(sent)
    finally:
        server.close()
    first, again = statistics.median(first_walls), statistics.median(again_walls)
    bytes_first, bytes_again = statistics.median(first_bytes), statistics.median(again_bytes)
    print(f"  {name}")
    print(f"    first crawl  {first:7.2f} s  {bytes_first / 1e6:8.2f} MB of bodies")
    print(f"    re-crawl     {again:7.2f} s  {bytes_again / 1e6:8.2f} MB of bodies   "
          f"statuses: {dict(sorted((statuses or {}).items()))}")
    print(f"    re-crawl / first: wall {again / first:.2f} (target at most 0.25), bytes "
          f"{bytes_again / bytes_first:.3f} (target at most 0.10)")
    print("    " + next((line for line in summary.splitlines() if line.startswith("Re-crawl:")), "(no re-crawl line)"))

"""Runs the Scrapy reference spider on a benchmark site and measures it like our own crawl."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.crawl import CrawlFigures, PeakRss, _url_of, reap
from benchmarks.site import SiteTruth

SPIDER = Path(__file__).with_name("scrapy_spider.py")


def run(seed: str, output: Path, truth: SiteTruth, server) -> CrawlFigures:
    server.reset()
    output.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    child = subprocess.Popen([sys.executable, "-m", "scrapy", "runspider", str(SPIDER), "-L", "WARNING",
                              "-a", f"start={seed}",
                              "-s", f"FILES_STORE={output}"], cwd=output)
    peak = PeakRss(child.pid)
    cpu = reap(child)
    wall = time.monotonic() - started
    if child.returncode != 0:
        raise RuntimeError(f"scrapy exited {child.returncode}")
    hits = server.hits()
    by_url = {_url_of(key, seed) for key in hits}
    saved = {hashlib.sha256(path.read_bytes()).hexdigest() for path in (output / "full").glob("*") if path.is_file()}
    expected = set(truth.images.values())
    return CrawlFigures(
        wall_seconds=wall, pages=len(set(truth.pages) & by_url), images=len(saved), requests=sum(hits.values()),
        cpu_seconds=cpu.total, system_cpu_seconds=cpu.system, scheduler_cpu_seconds=0.0,
        scheduler_peak_mb=peak.mb, worker_peak_mb=peak.mb,
        page_coverage=len(set(truth.pages) & by_url) / len(truth.pages),
        image_coverage=len(saved & expected) / len(expected),
        duplicate_downloads=sum(count - 1 for count in hits.values() if count > 1))

"""One site with default options, the job most users start with: queue-crawler beside wget and Scrapy.

Two sites, each served by nginx (a Python server where nginx is missing, and said): a generated one
(300 pages, 600 image URLs, one host) and, where Debian's python3.11-doc is installed, a real
documentation site (530 pages, 50 MB of HTML). queue-crawler runs `crawler run URL --delay 0`
(everything else default); wget runs `-r -l inf -p -np` (one connection); Scrapy the reference
spider with 16 concurrent requests, 8 per domain. Runs are interleaved; medians are printed.
Then three copies of the generated site 20 ms away (an asyncio server), crawled together with
default options, against the floor their --per-host sets.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from benchmarks.crawl import REPO, run_command
from benchmarks.disk import describe, new_file_microseconds
from benchmarks.forms_bench import DOC_SITE
from benchmarks.scrapy_reference import SPIDER
from benchmarks.servers import LatencyServer, Nginx, PythonServer, free_ports
from benchmarks.site import CLASSIC_FORMS, generate_site
from crawler import broker
from crawler.messages import MAX_CHAIN_TASKS


def _seconds(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> float:
    started = time.monotonic()
    subprocess.run(command, cwd=cwd, env=env, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.monotonic() - started


def _scrapy_available() -> bool:
    try:
        import scrapy  # noqa: F401
    except ImportError:
        return False
    return True


_IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg", ".ico", ".avif", ".bmp"}


def _image_files(folder: Path) -> int:
    """Image files under `folder` (Scrapy's FilesPipeline keeps each image URL's file, identical bytes too;
    queue-crawler keeps each content once)."""
    return sum(1 for path in folder.rglob("*") if path.suffix.lower() in _IMAGE_SUFFIXES and path.is_file())


def _measure(name: str, root: Path, work: Path, runs: int) -> None:
    (port,) = free_ports(1)
    server = Nginx([root], [port], work / "nginx") if Nginx.available() else PythonServer([root], [port], work)
    base = f"http://127.0.0.1:{port}/"
    env = dict(os.environ, **{broker.AUTHKEY_ENV: broker.generate_authkey().decode()})
    walls: dict[str, list[float]] = {"queue-crawler": [], "wget": [], "Scrapy": []}
    requests: dict[str, int] = {}
    images: dict[str, int] = {}  # image files each left on disk: a crawler that did less work shows here
    phases: list[tuple[float, float, float]] = []  # ours: start-up, crawling, end (where the server logs spans)
    disk_before = new_file_microseconds(work)
    try:
        for n in range(runs):
            server.reset()
            launched = time.time()
            walls["queue-crawler"].append(_seconds(
                run_command(base, "--output", str(work / f"ours{n}"), "--fresh", "--delay", "0", "--quiet"), REPO, env))
            requests["queue-crawler"] = sum(server.hits().values())
            images["queue-crawler"] = _image_files(work / f"ours{n}" / "images")
            spans = server.spans()
            if spans:
                first, last = spans[0][0], max(end for _start, end in spans)
                phases.append((first - launched, last - first, launched + walls["queue-crawler"][-1] - last))
            if shutil.which("wget"):
                server.reset()
                walls["wget"].append(_seconds(["wget", "-q", "-r", "-l", "inf", "-p", "-np", "-P",
                                               str(work / f"wget{n}"), base], work))
                requests["wget"] = sum(server.hits().values())
                images["wget"] = _image_files(work / f"wget{n}")
            if _scrapy_available():
                server.reset()
                folder = work / f"scrapy{n}"
                folder.mkdir(parents=True, exist_ok=True)
                walls["Scrapy"].append(_seconds(
                    [sys.executable, "-m", "scrapy", "runspider", str(SPIDER), "-L", "WARNING", "-a", f"start={base}",
                     "-s", f"FILES_STORE={folder}", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=8"], folder))
                requests["Scrapy"] = sum(server.hits().values())
                images["Scrapy"] = _image_files(folder / "full")
    finally:
        server.close()
    disk_after = new_file_microseconds(work)
    print(f"\n## one host: {name}, served by {server.name} (median of {runs})")
    ours = statistics.median(walls["queue-crawler"])
    for crawler, values in walls.items():
        if not values:
            print(f"  {crawler:14} not installed")
            continue
        wall = statistics.median(values)
        ratio = "" if crawler == "queue-crawler" else f"   queue-crawler / {crawler}: {ours / wall:.2f}"
        print(f"  {crawler:14} {wall:7.2f} s  {requests[crawler]:6d} requests  {images[crawler]:6d} image files{ratio}")
    if phases:
        start_up, crawling, end = (statistics.median(phase[k] for phase in phases) for k in range(3))
        print(f"  queue-crawler's time: {start_up:.2f} s to the first request, {crawling:.2f} s crawling, "
              f"{end:.2f} s from the last answer to its exit (medians)")
    print(describe(disk_before, disk_after))
    print("  targets: queue-crawler within 2x wget's wall time and at most 0.5x Scrapy's")


def _gaps(site: Path, work: Path, env: dict[str, str], *options: str) -> list[float]:
    """Seconds between the end of each response and the start of the next, for one crawl of `site`
    with `--per-host 1` (so requests never overlap), measured by the server to the microsecond
    (nginx's log counts in milliseconds, the size of the figure itself)."""
    (port,) = free_ports(1)
    server = LatencyServer([site], [port], latency_seconds=0.0)
    try:
        subprocess.run([sys.executable, "-m", "crawler", "run", f"http://127.0.0.1:{port}/", "--output",
                        str(work / "out"), "--fresh", "--per-host", "1", "--workers", "1", "--quiet", *options],
                       cwd=REPO, env=env, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        spans = server.spans()
    finally:
        server.close()
    return [max(0.0, spans[n + 1][0] - spans[n][1]) for n in range(len(spans) - 1)]


def politeness_cycle(work: Path) -> None:
    """From one response of a host to the next request to it: the node reports, the scheduler frees
    the host's slot and dispatches, a node takes the task and sends the request. With --delay D the
    gap must be D (plus the cycle, which runs inside the delay) whether or not D is a multiple of
    the scheduler's idle poll.

    With --delay 0 the host's tasks go out in chains of up to MAX_CHAIN_TASKS, which the node runs
    back to back: most gaps are then the node's own work on a response, and one in a chain's length
    is the whole cycle through the scheduler. The slowest of the gaps, one in MAX_CHAIN_TASKS, are
    printed apart."""
    site = work / "cycle-site"
    generate_site(site, pages=100, images=100, forms=CLASSIC_FORMS)
    env = dict(os.environ, **{broker.AUTHKEY_ENV: broker.generate_authkey().decode()})
    print("\n## politeness cycle: one host, --per-host 1, 1 worker (times taken by an asyncio server on 127.0.0.1)")
    # 0.03 s is not a multiple of the scheduler's 50 ms idle poll: woken by that poll alone, its
    # gaps came out at 53 ms (the 0.05 s ones, at 52.6, hid it).
    for label, options, target in (("--delay 0", ("--delay", "0"), "target: median under 2 ms"),
                                   ("--delay 0.05", ("--delay", "0.05"), "target: 50 ms +- 10 %"),
                                   ("--delay 0.03", ("--delay", "0.03"), "target: 30 ms +- 10 %")):
        gaps = sorted(_gaps(site, work / label.replace(" ", ""), env, *options))
        if not gaps:
            print(f"  {label:13} no requests logged")
            continue
        median, p90 = statistics.median(gaps), gaps[int(len(gaps) * 0.9)]
        slowest = statistics.median(gaps[len(gaps) - max(1, len(gaps) // MAX_CHAIN_TASKS):])
        print(f"  {label:13} gap between requests: median {median * 1000:5.2f} ms, 90th percentile "
              f"{p90 * 1000:5.2f} ms, slowest 1/{MAX_CHAIN_TASKS} {slowest * 1000:5.2f} ms "
              f"over {len(gaps)} gaps   ({target})")


def few_sites_far_away(site: Path, work: Path, runs: int, sites: int = 3, latency: float = 0.02) -> None:
    """A handful of sites on a real network, with default options (`--per-host 2`): the wall time
    against its floor, each site's requests at `latency` apiece, two at a time. With so few sites
    the frontier hands out chains, and each slot must be held by some fetcher for the floor to be
    reached (a node that counted a chain by its tasks held only one: 1.8 x the floor)."""
    ports = free_ports(sites)
    server = LatencyServer([site] * sites, ports, latency_seconds=latency)
    seeds = work / "seeds.txt"
    work.mkdir(parents=True, exist_ok=True)
    seeds.write_text("".join(f"http://127.0.0.1:{port}/\n" for port in ports))
    env = dict(os.environ, **{broker.AUTHKEY_ENV: broker.generate_authkey().decode()})
    walls, floors = [], []
    try:
        for n in range(runs):
            server.reset()
            walls.append(_seconds([sys.executable, "-m", "crawler", "run", str(seeds), "--output",
                                   str(work / f"out{n}"), "--fresh", "--delay", "0", "--quiet"], REPO, env))
            by_port = Counter(key.split(" ", 1)[0] for key in server.hits().elements())
            floors.append(max(by_port.values()) * latency / 2)
    finally:
        server.close()
    wall, floor = statistics.median(walls), statistics.median(floors)
    print(f"\n## {sites} sites, {latency * 1000:.0f} ms per response ({server.name}), defaults and --delay 0 "
          f"(median of {runs})")
    print(f"  queue-crawler  {wall:7.2f} s; the floor its --per-host 2 sets: {floor:.2f} s "
          f"(each site's requests x {latency * 1000:.0f} ms / 2): {wall / floor:.2f} x the floor")


def one_host(work: Path, runs: int = 3) -> None:
    politeness_cycle(work)
    site = work / "onehost-site"
    generate_site(site, pages=300, images=600, forms=CLASSIC_FORMS)
    _measure("generated, 300 pages, 600 image URLs", site, work / "generated", runs)
    few_sites_far_away(site, work / "far", runs)
    if (DOC_SITE / "index.html").is_file():
        _measure(f"Debian's python3.11-doc ({DOC_SITE})", DOC_SITE, work / "doc", runs)
    else:
        print(f"\n## one host: {DOC_SITE} missing (`apt-get install python3.11-doc`); skipped")

"""Many sites with a --delay: what the crawl costs a request when politeness, not the machine, sets its pace.

The same small generated site (20 pages, 40 image URLs) on 120 ports of one nginx: 120 origins,
crawled together by `crawler scheduler` and 2 workers x 8 threads with `--delay 0.5` (the default)
and `--delay 0.1`. The wall time is the delay's: what is measured is the CPU each process spends
a request (from wait4), and the gaps between one request to a site and the next, at the server
(nginx's log, in milliseconds), against the delay.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

from benchmarks.crawl import REPO, listening_port, reap
from benchmarks.servers import Nginx, free_ports
from benchmarks.site import CLASSIC_FORMS, generate_site
from crawler import broker

SITES = 120
DELAYS = (0.5, 0.1)


def _crawl(seeds: Path, output: Path, delay: float) -> tuple[float, float, float]:
    """One crawl: (wall seconds, scheduler CPU seconds, workers' CPU seconds)."""
    env = dict(os.environ, **{broker.AUTHKEY_ENV: broker.generate_authkey().decode()})
    started = time.monotonic()
    scheduler = subprocess.Popen([sys.executable, "-m", "crawler", "scheduler", str(seeds), "--output", str(output),
                                  "--fresh", "--listen", "127.0.0.1:0", "--delay", str(delay), "--quiet"],
                                 cwd=REPO, env=env, stdout=subprocess.PIPE)
    port = listening_port(scheduler)
    workers = [subprocess.Popen([sys.executable, "-m", "crawler", "worker", "--connect", f"127.0.0.1:{port}",
                                 "--threads", "8", "--quiet"], cwd=REPO, env=env) for _ in range(2)]
    scheduler_cpu = reap(scheduler).total
    wall = time.monotonic() - started
    workers_cpu = sum(reap(worker).total for worker in workers)
    if scheduler.returncode != 0 or any(worker.returncode != 0 for worker in workers):
        raise RuntimeError(f"crawl failed: scheduler {scheduler.returncode}, workers "
                           f"{[worker.returncode for worker in workers]}")
    return wall, scheduler_cpu, workers_cpu


def _gaps(server: Nginx) -> list[float]:
    """Seconds between the starts of one site's consecutive requests, every site's together."""
    starts: dict[str, list[float]] = defaultdict(list)
    for line in (server.workdir / "access.log").read_text().splitlines():
        port, _uri, _status, end, took = line.split(" ")[:5]
        starts[port].append(float(end) - float(took))
    gaps = []
    for times in starts.values():
        times.sort()
        gaps += [later - earlier for earlier, later in zip(times, times[1:])]
    return gaps


def paced(work: Path, runs: int = 3, sites: int = SITES) -> None:
    if not Nginx.available():  # 120 ports of Python's server would measure the server
        print(f"\n## {sites} sites paced by --delay: nginx missing (`apt-get install nginx-light`); skipped")
        return
    site = work / "site"
    generate_site(site, pages=20, images=40, forms=CLASSIC_FORMS)
    ports = free_ports(sites)
    seeds = work / "seeds.txt"
    seeds.write_text("".join(f"http://127.0.0.1:{port}/\n" for port in ports))
    server = Nginx([site] * sites, ports, work / "nginx")
    try:
        for delay in DELAYS:
            figures, gaps, requests = [], [], 0
            for n in range(runs):
                server.reset()
                figures.append(_crawl(seeds, work / f"out-{delay}-{n}", delay))
                gaps = _gaps(server)
                requests = len(gaps) + sites
            wall = statistics.median(f[0] for f in figures)
            scheduler_ms = statistics.median(f[1] for f in figures) / requests * 1000
            workers_ms = statistics.median(f[2] for f in figures) / requests * 1000
            print(f"\n## {sites} sites on nginx, --delay {delay:g}, a scheduler and 2 workers x 8 threads "
                  f"(median of {runs})")
            print(f"  {wall:6.2f} s, {requests} requests; CPU per request: scheduler {scheduler_ms:.2f} ms, "
                  f"workers {workers_ms:.2f} ms, together {scheduler_ms + workers_ms:.2f} ms")
            quantiles = statistics.quantiles(gaps, n=20)
            short = sum(gap < 0.9 * delay for gap in gaps)
            print(f"  one site's requests apart (the last run, at the server, 1 ms steps): median "
                  f"{statistics.median(gaps) * 1000:.0f} ms, 5th percentile {quantiles[0] * 1000:.0f} ms, "
                  f"shortest {min(gaps) * 1000:.0f} ms; {short} of {len(gaps)} under 90 % of the delay "
                  f"(target: the delay, {delay * 1000:.0f} ms, +- 10 %)")
    finally:
        server.close()

"""Benchmarks: `python3 -m benchmarks.run [--pages N] [--runs N] [--only NAMES] [--scrapy]`.

Prints figures (medians of --runs) for: one site with default options beside wget and Scrapy, a
loopback crawl of two hosts served by nginx, a crawl against a server
that adds 50 ms per response, scaling over 1/2/4 worker nodes, 120 sites paced by --delay (CPU per
request, gaps at the servers), the scheduler's own ceiling, and its
memory per URL, the gallery at 10,000 and 50,000 images, and coverage of every form of image reference against
headless Chromium and wget (with extraction CPU per page). The machine is shared and noisy: compare
ratios within one run.
"""

from __future__ import annotations

import argparse
import compileall
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from benchmarks import (
    forms_bench,
    gallery_bench,
    onehost_bench,
    paced_bench,
    recrawl_bench,
    redis_bench,
    scheduler_bench,
)
from benchmarks.crawl import REPO, CrawlFigures, run_crawl
from benchmarks.disk import describe, new_file_microseconds
from benchmarks.servers import LatencyServer, Nginx, PythonServer, free_ports
from benchmarks.site import SiteTruth, generate

SECTIONS = ("onehost", "crawl", "latency", "scaling", "paced", "scheduler", "memory", "gallery", "forms", "recrawl",
            "redis")


def median(values: list[float]) -> float:
    return statistics.median(values)


def report_crawls(title: str, runs: list[CrawlFigures]) -> None:
    def med(attribute: str) -> float:
        return median([getattr(r, attribute) for r in runs])
    wall = med("wall_seconds")
    print(f"\n## {title} (median of {len(runs)})")
    print(f"  wall seconds          {wall:9.2f}   (runs: {', '.join(f'{r.wall_seconds:.2f}' for r in runs)})")
    print(f"  pages/s               {med('pages') / wall:9.1f}   ({runs[0].pages} pages)")
    print(f"  images/s              {med('images') / wall:9.1f}   ({runs[0].images} images saved)")
    print(f"  requests              {med('requests'):9.0f}")
    print(f"  CPU seconds, all      {med('cpu_seconds'):9.2f}   (scheduler {med('scheduler_cpu_seconds'):.2f}; "
          f"in the kernel {med('system_cpu_seconds'):.2f})")
    print(f"  CPU ms per request    {median([r.cpu_ms_per_request for r in runs]):9.3f}")
    print(f"  peak RSS scheduler MB {med('scheduler_peak_mb'):9.1f}")
    print(f"  peak RSS worker MB    {med('worker_peak_mb'):9.1f}")
    print(f"  page coverage         {min(r.page_coverage for r in runs):9.1%}")
    print(f"  image coverage        {min(r.image_coverage for r in runs):9.1%}")
    print(f"  duplicate downloads   {max(r.duplicate_downloads for r in runs):9d}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m benchmarks.run", description=__doc__)
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma list of {','.join(SECTIONS)}")
    parser.add_argument("--workers", type=int, default=2, help="worker processes for the loopback crawl")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--scrapy", action="store_true", help="also crawl with Scrapy (pip install '.[bench]')")
    parser.add_argument("--urls", type=int, default=1_000_000, help="distinct URLs for the memory benchmark")
    args = parser.parse_args(argv)
    wanted = set(args.only.split(","))
    # The crawls run `python3 -m crawler` from this checkout. An installed crawler has its bytecode
    # compiled (pip does it on install, Python on first import), as Scrapy's and every library's
    # is; under PYTHONDONTWRITEBYTECODE nothing would write it, and each of a crawl's processes
    # would compile the package again: 0.06 s of CPU at every start, measured here.
    compileall.compile_dir(REPO / "crawler", quiet=1)
    work = Path(tempfile.mkdtemp(prefix="crawler-bench-"))
    try:
        if "onehost" in wanted:
            onehost_bench.one_host(work / "onehost", args.runs)
        if wanted & {"crawl", "latency", "scaling"}:
            pictures: dict[int, bytes] = {}
            if "crawl" in wanted:
                loopback(work, args, pictures)
            if wanted & {"latency", "scaling"}:
                latency(work, args, pictures, "latency" in wanted, "scaling" in wanted)
        if "paced" in wanted:
            paced_bench.paced(work / "paced", args.runs)
        if "scheduler" in wanted:
            scheduler_bench.ceiling(work / "sched")
            scheduler_bench.ceiling_over_socket(work / "sched-socket")
            scheduler_bench.seeding(work / "seeding")
        if "memory" in wanted:
            scheduler_bench.memory(work / "memory", args.urls)
        if "gallery" in wanted:
            gallery_bench.gallery(work / "gallery")
        if "forms" in wanted:
            forms_bench.forms(work / "forms")
            forms_bench.written_in(work / "reports")
            forms_bench.real_sites(work / "real")
            forms_bench.fgallery_site(work / "fgallery")
        if "recrawl" in wanted:
            recrawl_bench.recrawl(work / "recrawl", runs=args.runs)
        if "redis" in wanted:
            redis_bench.redis_state(work / "redis", runs=args.runs, urls=args.urls)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def _site(work: Path, name: str, pages: int, pictures: dict[int, bytes]) -> tuple[list[Path], list[int], SiteTruth]:
    ports = free_ports(2)
    root = work / name
    truth = generate(root, (f"http://127.0.0.1:{ports[0]}/", f"http://127.0.0.1:{ports[1]}/"), pages,
                     pictures=pictures)
    return [root / "a", root / "b"], ports, truth


def loopback(work: Path, args: argparse.Namespace, pictures: dict[int, bytes]) -> None:
    roots, ports, truth = _site(work, "site", args.pages, pictures)
    server = Nginx(roots, ports, work / "nginx") if Nginx.available() else PythonServer(roots, ports, work)
    print(f"# loopback site: {len(truth.pages)} pages, {len(truth.images)} image URLs "
          f"({len(set(truth.images.values()))} distinct), 2 hosts, served by {server.name}")
    seed = f"http://127.0.0.1:{ports[0]}/"
    try:
        disk_before = new_file_microseconds(work)
        runs = [run_crawl(seed, work / f"out{n}", truth, server, workers=args.workers, threads=args.threads)
                for n in range(args.runs)]
        report_crawls(f"queue-crawler, {args.workers} workers x {args.threads} threads", runs)
        print(describe(disk_before, new_file_microseconds(work)))
        if args.scrapy:
            from benchmarks import scrapy_reference
            reference = [scrapy_reference.run(seed, work / f"scrapy{n}", truth, server) for n in range(args.runs)]
            report_crawls("Scrapy reference (CONCURRENT_REQUESTS=16, FilesPipeline, robots obeyed)", reference)
            ratio = median([r.wall_seconds for r in runs]) / median([r.wall_seconds for r in reference])
            print(f"\n  wall time ratio queue-crawler / Scrapy: {ratio:.2f} (target: at most 0.45)")
    finally:
        server.close()


def latency(work: Path, args: argparse.Namespace, pictures: dict[int, bytes], plain: bool, scaling: bool) -> None:
    pages = max(50, args.pages // 2)  # long enough that process start does not dominate
    roots, ports, truth = _site(work, "slow-site", pages, pictures)
    server = LatencyServer(roots, ports, 0.05)
    seed = f"http://127.0.0.1:{ports[0]}/"
    print(f"\n# latency site: {len(truth.pages)} pages, {len(truth.images)} image URLs, served by {server.name}")
    try:
        if plain:
            runs, steady = [], []
            for n in range(args.runs):
                runs.append(run_crawl(seed, work / f"lat{n}", truth, server, workers=1, threads=args.threads))
                steady.append(runs[-1].requests / server.busy_seconds())
            report_crawls(f"1 worker x {args.threads} threads at 50 ms", runs)
            rate = median([r.requests / r.wall_seconds for r in runs])
            allowed = args.threads / 0.05
            print(f"  requests/s {rate:.1f} of {allowed:.0f} the concurrency allows: {rate / allowed:.0%} "
                  f"over the whole run, {median(steady) / allowed:.0%} from first to last request (target 90%)")
        if scaling:
            rates: dict[int, float] = {}
            steady_by_nodes: dict[int, float] = {}
            for nodes in (1, 2, 4):
                runs, busy = [], []
                for n in range(args.runs):
                    runs.append(run_crawl(seed, work / f"scale{nodes}-{n}", truth, server, workers=nodes, threads=8))
                    busy.append(runs[-1].requests / server.busy_seconds())
                rates[nodes], steady_by_nodes[nodes] = median([r.requests / r.wall_seconds for r in runs]), median(busy)
                cpu = median([r.cpu_ms_per_request for r in runs])
                print(f"  scaling: {nodes} node(s) x 8 threads: {rates[nodes]:6.1f} requests/s over the run "
                      f"({rates[nodes] / rates[1]:.2f}x), {steady_by_nodes[nodes]:6.1f} first to last request "
                      f"({steady_by_nodes[nodes] / steady_by_nodes[1]:.2f}x), {cpu:.2f} ms CPU per request")
            steady_ratio = steady_by_nodes[4] / steady_by_nodes[1]
            print(f"  4 nodes / 1 node: {rates[4] / rates[1]:.2f}x over the run, {steady_ratio:.2f}x "
                  f"first to last request (target: at least 3.6x)")
    finally:
        server.close()


if __name__ == "__main__":
    sys.exit(main())

"""One measured crawl: a real scheduler and worker processes against a benchmark site."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from benchmarks.site import SiteTruth
from crawler import broker
from crawler.storage import read_jsonl

REPO = Path(__file__).resolve().parents[1]

# The benchmarks crawl servers on 127.0.0.1 and nothing else. A real site's pages can point at the
# web (python3.11-doc's sorting howto links a photo on upload.wikimedia.org), and a crawl with
# defaults fetches a picture wherever it is: that host's robots.txt, then the photo, its time
# counted in the figure. This keeps every other host out (the closing lines count what it left out).
LOOPBACK_ONLY = ("--deny", r"^https?://(?!127\.0\.0\.1(:\d+)?/)")


def run_command(*arguments: str) -> list[str]:
    """`crawler run ARGUMENTS` for a site the benchmark did not write: kept to this machine."""
    return [sys.executable, "-m", "crawler", "run", *arguments, *LOOPBACK_ONLY]


@dataclass
class CrawlFigures:
    wall_seconds: float
    pages: int
    images: int
    requests: int
    cpu_seconds: float  # all crawler processes, user + system
    system_cpu_seconds: float  # of cpu_seconds, the kernel's (system calls: sockets, files)
    scheduler_cpu_seconds: float
    scheduler_peak_mb: float
    worker_peak_mb: float
    page_coverage: float  # of reachable pages, requested
    image_coverage: float  # of distinct reachable image contents, saved
    duplicate_downloads: int  # requests beyond the first for one URL

    @property
    def cpu_ms_per_request(self) -> float:
        return self.cpu_seconds * 1000 / max(1, self.requests)


class PeakRss:
    """Follows a child's VmHWM (its high-water mark since exec) until it exits.

    wait4's ru_maxrss cannot be used: Linux carries the parent's high-water mark into a forked
    child across exec, so every child reported at least this benchmark process's own size.
    """

    def __init__(self, pid: int) -> None:
        self._path = f"/proc/{pid}/status"
        self.kib = 0
        self._thread = threading.Thread(target=self._follow, daemon=True)
        self._thread.start()

    def _follow(self) -> None:
        while True:
            try:
                with open(self._path) as status:
                    lines = [line for line in status if line.startswith("VmHWM:")]
            except OSError:
                return  # reaped
            if not lines:
                return  # exited: a zombie has no memory left to measure
            self.kib = max(self.kib, int(lines[0].split()[1]))
            time.sleep(0.05)

    @property
    def mb(self) -> float:
        self._thread.join(timeout=1)
        return self.kib / 1024


class CpuTimes(NamedTuple):
    user: float
    system: float  # in the kernel, on the process's behalf

    @property
    def total(self) -> float:
        return self.user + self.system


def reap(child: subprocess.Popen[bytes]) -> CpuTimes:
    """Wait for a child, set its return code and close its piped output; return its CPU seconds
    (exact, from wait4)."""
    _pid, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.stdout is not None:
        child.stdout.close()
    return CpuTimes(usage.ru_utime, usage.ru_stime)


def listening_port(scheduler: subprocess.Popen[bytes]) -> str:
    """The port a `crawler scheduler --listen 127.0.0.1:0` started with stdout piped says it listens on."""
    assert scheduler.stdout is not None
    line = scheduler.stdout.readline().decode()
    return line.split("listening on ")[1].split(",")[0].rsplit(":", 1)[1]


def _wait(child: subprocess.Popen[bytes], peak: PeakRss) -> tuple[CpuTimes, float]:
    """Reap a child; return its CPU times and peak RSS in MB."""
    return reap(child), peak.mb


def run_crawl(seed: str, output: Path, truth: SiteTruth, server, *, workers: int, threads: int,
              processes_per_worker: int = 1, extra: tuple[str, ...] = ()) -> CrawlFigures:
    """Crawl `seed` into `output` with `workers` worker processes and measure it."""
    env = dict(os.environ, **{broker.AUTHKEY_ENV: broker.generate_authkey().decode()})
    server.reset()
    started = time.monotonic()
    scheduler = subprocess.Popen([sys.executable, "-m", "crawler", "scheduler", seed, "--output", str(output),
                                  "--fresh", "--listen", "127.0.0.1:0", "--delay", "0", "--per-host", "256",
                                  "--quiet", *extra], cwd=REPO, env=env, stdout=subprocess.PIPE)
    scheduler_peak = PeakRss(scheduler.pid)
    port = listening_port(scheduler)
    nodes = [subprocess.Popen([sys.executable, "-m", "crawler", "worker", "--connect", f"127.0.0.1:{port}",
                               "--threads", str(threads), "--processes", str(processes_per_worker),
                               "--quiet"], cwd=REPO, env=env) for _ in range(workers)]
    node_peaks = [PeakRss(node.pid) for node in nodes]
    scheduler_cpu, scheduler_peak_mb = _wait(scheduler, scheduler_peak)
    wall = time.monotonic() - started
    worker_usage = [_wait(node, peak) for node, peak in zip(nodes, node_peaks)]
    if scheduler.returncode != 0 or any(node.returncode != 0 for node in nodes):
        raise RuntimeError(f"crawl failed: scheduler {scheduler.returncode}, workers "
                           f"{[node.returncode for node in nodes]}")
    hits = server.hits()
    by_url = {_url_of(key, seed): count for key, count in hits.items()}
    manifest = read_jsonl(output / "manifest.jsonl")
    saved = {record["sha256"] for record in manifest}
    expected, pages = set(truth.images.values()), set(truth.pages)
    return CrawlFigures(
        wall_seconds=wall, pages=sum(1 for url in by_url if url in pages),
        images=len(manifest), requests=sum(hits.values()),
        cpu_seconds=scheduler_cpu.total + sum(cpu.total for cpu, _ in worker_usage),
        system_cpu_seconds=scheduler_cpu.system + sum(cpu.system for cpu, _ in worker_usage),
        scheduler_cpu_seconds=scheduler_cpu.total, scheduler_peak_mb=scheduler_peak_mb,
        worker_peak_mb=max(peak for _, peak in worker_usage),
        page_coverage=len(pages & set(by_url)) / len(pages),
        image_coverage=len(saved & expected) / len(expected),
        duplicate_downloads=sum(count - 1 for count in hits.values() if count > 1))


def _url_of(key: str, seed: str) -> str:
    port, path = key.split(" ", 1)
    host = seed.split("//", 1)[1].split(":", 1)[0]
    if path in ("/", "/index.html"):
        path = "/"
    return f"http://{host}:{port}{path}"

"""The scheduler's own limits: tasks/s with instant synthetic workers, and memory per distinct URL."""

from __future__ import annotations

import gc
import os
import queue
import random
import threading
import time
from pathlib import Path

from crawler.config import Limits, Politeness, SchedulerConfig, Scope
from crawler.frontier import Frontier
from crawler.messages import make_node_event, make_result
from crawler.scheduler import Scheduler
from crawler.state import CrawlState

HOSTS = 50


def _url(number: int) -> str:
    return f"http://h{number % HOSTS}.test/p/{number}.html"


def _synthetic_worker(scheduler: Scheduler, stop: threading.Event, spent: list[float]) -> None:
    """Answer every task at once with 20 links: 2 new, 18 seen before (as on a real site)."""
    tasks, results = scheduler._tasks, scheduler._results  # the scheduler's own in-process queues
    results.put(dict(make_node_event("hello", "synthetic", 256, [], 0)))
    rng = random.Random(1)
    next_new = 1
    beat = time.monotonic()
    while not stop.is_set():
        try:
            task = tasks.get(timeout=0.05)
        except queue.Empty:
            continue
        links = []
        for _ in range(2):
            links.append(_url(next_new))
            next_new += 1
        links += [_url(rng.randrange(next_new)) for _ in range(18)]
        results.put(dict(make_result(task, "synthetic", "fetched", links=[[u, u] for u in links], status=200,
                                     robots_text=None)))
        if time.monotonic() - beat > 1:
            results.put(dict(make_node_event("heartbeat", "synthetic", 256, [], 0)))
            beat = time.monotonic()
    spent.append(time.thread_time())


def ceiling(work: Path, pages: int = 100_000) -> None:
    """Print the scheduler's completed tasks per second and its CPU per task."""
    seeds = tuple(_url(0) for _ in range(1))
    config = SchedulerConfig(output_dir=work, authkey=b"k" * 32, seeds=seeds,
                             scope=Scope(frozenset(f"h{n}.test" for n in range(HOSTS))),
                             limits=Limits(max_pages=pages),
                             politeness=Politeness(delay_seconds=0, per_host=10_000, obey_robots=False))
    scheduler = Scheduler(config, on_status=lambda status: None)
    stop, spent = threading.Event(), []
    worker = threading.Thread(target=_synthetic_worker, args=(scheduler, stop, spent), daemon=True)
    worker.start()
    cpu_before, started = time.process_time(), time.monotonic()
    summary = scheduler.run()
    wall, cpu = time.monotonic() - started, time.process_time() - cpu_before
    stop.set()
    worker.join()
    done = summary.counts.get("pages/fetched", 0)
    scheduler_cpu = cpu - spent[0]
    print("\n## scheduler ceiling (in-process synthetic workers, 20 links per answer, 2 new)")
    print(f"  tasks completed       {done:9d} in {wall:.2f}s")
    print(f"  tasks/s               {done / wall:9.0f}   (target: at least 10,000)")
    print(f"  scheduler CPU per task {scheduler_cpu / done * 1e6:8.1f} us (synthetic workers' own CPU excluded)")


def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def memory(work: Path, urls: int) -> None:
    """Print the scheduler's resident memory per distinct URL it has seen (and queued)."""
    state = CrawlState(work, resume=False, fresh=True)
    frontier = Frontier(state, Politeness(obey_robots=False), lease_seconds=60, max_attempts=3, backoff_seconds=1)
    gc.collect()
    before = _rss_bytes()
    started = time.monotonic()
    for number in range(urls):
        url = _url(number)
        frontier.add(url, url, "page", 1, None)
        if number % 10_000 == 0:
            state.commit()
    state.commit()
    gc.collect()
    grown = _rss_bytes() - before
    print(f"\n## scheduler memory: {urls:,} distinct URLs discovered and queued in {time.monotonic() - started:.1f}s")
    print(f"  RSS growth            {grown / 1e6:9.1f} MB")
    print(f"  bytes per URL         {grown / urls:9.1f}   (target: under 200)")
    state.close()

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
from crawler.messages import make_node_event, make_result, make_task
from crawler.scheduler import Scheduler
from crawler.state import CrawlState

HOSTS = 50
ready = threading.Event()  # the synthetic worker has built its answers


def _url(number: int) -> str:
    return f"http://h{number % HOSTS}.test/p/{number}.html"


def _synthetic_worker(scheduler: Scheduler, pages: int, stop: threading.Event, spent: list[float]) -> None:
    """Answer every task at once with 20 links: 2 new, 18 seen before (as on a real site).

    Everything an answer is made of is built before the clock starts, so this thread costs the
    scheduler's core as little as possible: the figure is the scheduler's, not the fake node's.
    """
    tasks, results = scheduler._tasks, scheduler._results  # the scheduler's own in-process queues
    rng = random.Random(1)
    pairs = [[_url(number), _url(number)] for number in range(2 * pages + 3)]
    seen = [[rng.randrange(1 + 2 * answer) for _ in range(18)] for answer in range(min(pages, 5000))]
    template = dict(make_result(make_task("0.0", "page", "", 0, None, 0), "synthetic", "fetched", status=200))
    building = time.thread_time()  # what the answers cost to build is not the scheduler's
    ready.set()
    results.put(dict(make_node_event("hello", "synthetic", 256, [], 0)))
    answered, beat = 0, time.monotonic()
    while not stop.is_set():
        try:
            task = tasks.get(timeout=0.05)
        except queue.Empty:
            continue
        new = 1 + 2 * answered
        links = [pairs[new], pairs[new + 1]] + [pairs[i] for i in seen[answered % len(seen)]]
        results.put({**template, "task_id": task["id"], "links": links})
        answered += 1
        if answered % 1000 == 0 and time.monotonic() - beat > 1:
            results.put(dict(make_node_event("heartbeat", "synthetic", 256, [], 0)))
            beat = time.monotonic()
    spent.append(time.thread_time() - building)


def ceiling(work: Path, pages: int = 100_000) -> None:
    """Print the scheduler's completed tasks per second and its CPU per task."""
    seeds = tuple(_url(0) for _ in range(1))
    config = SchedulerConfig(output_dir=work, authkey=b"k" * 32, seeds=seeds,
                             scope=Scope(frozenset(f"h{n}.test" for n in range(HOSTS))),
                             limits=Limits(max_pages=pages),
                             politeness=Politeness(delay_seconds=0, per_host=10_000, obey_robots=False))
    scheduler = Scheduler(config, on_status=lambda status: None)
    stop, spent = threading.Event(), []
    worker = threading.Thread(target=_synthetic_worker, args=(scheduler, pages, stop, spent), daemon=True)
    ready.clear()
    worker.start()
    ready.wait()
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

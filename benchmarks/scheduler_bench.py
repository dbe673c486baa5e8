"""The scheduler's own limits: tasks/s with instant synthetic workers, and memory per distinct URL."""

from __future__ import annotations

import gc
import itertools
import multiprocessing
import os
import random
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from crawler import broker
from crawler.broker import TaskDesk
from crawler.config import Limits, Politeness, SchedulerConfig, Scope
from crawler.messages import Kind, Outcome, make_node_event, make_result, make_task
from crawler.scheduler.frontier import Frontier
from crawler.scheduler.loop import Scheduler
from crawler.scheduler.sqlite_store import SqliteStore
from crawler.scheduler.store import CrawlStore
from crawler.seeds import read_seeds
from crawler.urls import canonical

HOSTS = 50
_AUTHKEY = b"k" * 32  # loopback only, for the benchmark's own scheduler
_THREADS = 256  # what the synthetic node says it runs: the scheduler keeps that many tasks queued


def _url(number: int) -> str:
    return f"http://h{number % HOSTS}.test/p/{number}.html"


class _SyntheticNode:
    """Answers every task at once with 20 links: 2 new, 18 seen before (as on a real site).

    It talks to the scheduler as a real node does: tasks taken in batches, answers sent in
    batches, heartbeats, and a goodbye once the bulletin says the crawl is over (without it the
    scheduler waits out its goodbye grace, and the figure would measure that wait). Everything an
    answer is made of is built before the clock starts, so the figure is the scheduler's.

    The nodes of several schedulers sharing a crawl are `part` of `parts`: each finds new URLs of
    its own (the same ones would make half of all finds duplicates, and the crawl a chain of a few
    URLs at a time handed between schedulers).
    """

    def __init__(self, pages: int, part: int = 0, parts: int = 1) -> None:
        rng = random.Random(1)
        self._part, self._parts = part, parts
        # Enough for `pages` answers. Where several schedulers share a crawl, each admits `pages` and
        # a node answers for its scheduler's origins, whoever admitted them: it may answer more.
        self._pairs: list[list[str]] = []
        self._extend(2 * (pages + 1) * parts + 3)
        self._seen = [[rng.randrange(1 + 2 * answer * parts) for _ in range(18)]
                      for answer in range(min(pages, 5000))]
        self._template = dict(make_result(make_task("0.0", Kind.PAGE, "", 0, None, 0), "synthetic", Outcome.FETCHED,
                                          status=200))
        self._answers = itertools.count()  # shared by the node's threads: each answer's new links differ

    def _extend(self, more: int) -> None:
        start = len(self._pairs)
        self._pairs.extend([_url(number), _url(number)] for number in range(start, start + more))

    def serve(self, node_id: str, take: Callable[[int, float, str], list], put: Callable[[object], None],
              bulletin: Callable[[], dict]) -> None:
        pairs, seen, template, answers_so_far = self._pairs, self._seen, self._template, self._answers
        part, parts = self._part, self._parts
        put(dict(make_node_event("hello", node_id, _THREADS, [], 0)))
        done, beat = 0, time.monotonic()
        while True:
            batch = take(_THREADS, 0.05, node_id)  # a node names itself, as real ones do
            if not batch:
                if bulletin().get("state") == "finished":
                    put(dict(make_node_event("bye", node_id, _THREADS, [], done)))
                    return
                continue
            answers = []
            for task in batch:
                answer = next(answers_so_far)
                new = 1 + 2 * (answer * parts + part)
                if new + 1 >= len(pairs):  # this node answers more than its share (see __init__)
                    self._extend(len(pairs) // 8)
                links = [pairs[new], pairs[new + 1]] + [pairs[i] for i in seen[answer % len(seen)]]
                answers.append({**template, "node": node_id, "task_id": task["id"], "links": links})
            put(answers)
            done += len(batch)
            if time.monotonic() - beat > 1:
                put(dict(make_node_event("heartbeat", node_id, _THREADS, [], done)))
                beat = time.monotonic()


def _scheduler(work: Path, pages: int, store: CrawlStore | None = None) -> Scheduler:
    config = SchedulerConfig(output_dir=work, authkey=_AUTHKEY, seeds=(_url(0),),
                             scope=Scope(frozenset(f"h{n}.test" for n in range(HOSTS)), read_sitemaps=False),
                             limits=Limits(max_pages=pages),
                             politeness=Politeness(delay_seconds=0, per_host=10_000, obey_robots=False))
    return Scheduler(config, on_status=lambda status: None, store=store)


def _print_ceiling(title: str, done: int, wall: float, cpu: float, what_cpu: str) -> None:
    print(f"\n## scheduler ceiling ({title}, 20 links per answer, 2 new)")
    print(f"  tasks completed       {done:9d} in {wall:.2f}s")
    print(f"  tasks/s               {done / wall:9.0f}   (target: at least 10,000)")
    print(f"  scheduler CPU per task {cpu / done * 1e6:8.1f} us ({what_cpu})")


def ceiling(work: Path, pages: int = 100_000, store: CrawlStore | None = None,
            title: str = "in-process synthetic node", part: int = 0, parts: int = 1) -> tuple[float, float]:
    """Print the scheduler's completed tasks per second and its CPU per task, node in-process; return both."""
    scheduler = _scheduler(work, pages, store)
    node = _SyntheticNode(pages, part, parts)
    spent: list[float] = []

    def run_node() -> None:
        before = time.thread_time()
        desk = TaskDesk(scheduler._tasks, on_taken=scheduler._note_taken)  # what listen() serves
        node.serve("synthetic", desk.take, scheduler._results.put, scheduler.bulletin.read)
        spent.append(time.thread_time() - before)

    worker = threading.Thread(target=run_node, daemon=True)
    cpu_before, started = time.process_time(), time.monotonic()
    worker.start()
    summary = scheduler.run()
    wall, cpu = time.monotonic() - started, time.process_time() - cpu_before
    worker.join()
    done = summary.counts.get("pages/fetched", 0)
    _print_ceiling(title, done, wall, cpu - spent[0], "the synthetic node's own CPU excluded")
    return done / wall, (cpu - spent[0]) / done


def _remote_node(port: int, pages: int, ready: Any) -> None:
    """Two synthetic nodes in one process, as a real node overlaps taking tasks with answering them:
    while one waits on the socket for its next batch, the other builds and sends answers."""
    node = _SyntheticNode(pages)
    links = [broker.connect("127.0.0.1", port, _AUTHKEY) for _ in range(2)]
    ready.set()
    threads = [threading.Thread(target=node.serve, args=(f"synthetic-{n}", link.desk.take, link.results.put,
                                                         link.bulletin.read)) for n, link in enumerate(links)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def ceiling_over_socket(work: Path, pages: int = 100_000) -> None:
    """The same with the node in another process, over the real manager socket (pickling included)."""
    scheduler = _scheduler(work, pages)
    _host, port = scheduler.listen()
    spawn = multiprocessing.get_context("spawn")
    ready = spawn.Event()
    node = spawn.Process(target=_remote_node, args=(port, pages, ready), daemon=True)
    node.start()
    if not ready.wait(60):
        raise RuntimeError("the synthetic node did not connect")
    cpu_before, started = time.process_time(), time.monotonic()
    summary = scheduler.run()
    wall, cpu = time.monotonic() - started, time.process_time() - cpu_before
    node.join(10)
    _print_ceiling("synthetic node in another process, over the manager socket",
                   summary.counts.get("pages/fetched", 0), wall, cpu,
                   "the whole scheduler process: loop and manager server threads")


def seeding(work: Path, urls: int = 100_000) -> None:
    """A long seed list on one host, as `crawler run LIST` starts with it: the list read and checked
    (every line made a URL and keyed), then queued in the scheduler's state before its first task."""
    work.mkdir(parents=True, exist_ok=True)
    rng = random.Random(3)
    listed = work / "seeds.txt"
    listed.write_text("".join(f"https://www.example.com/photos/{rng.randrange(10**9)}/{n}.html\n" for n in range(urls)))
    canonical.cache_clear()  # keys of an earlier section are no help to a list of new URLs
    started = time.monotonic()
    seeds = read_seeds([str(listed)])
    read = time.monotonic() - started
    config = SchedulerConfig(output_dir=work, authkey=_AUTHKEY, seeds=tuple(seeds.urls),
                             scope=Scope(frozenset({"www.example.com"}), read_sitemaps=False),
                             politeness=Politeness(delay_seconds=0, obey_robots=False))
    scheduler = Scheduler(config, on_status=lambda status: None)
    started = time.monotonic()
    scheduler._start()  # what run() does before its first step
    queued = time.monotonic() - started
    print(f"\n## a seed list of {urls:,} URLs on one host")
    print(f"  read and checked      {read:9.2f} s")
    print(f"  queued                {queued:9.2f} s   (then the first task can leave)")
    scheduler._store.close()


def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def memory(work: Path, urls: int) -> None:
    """Print the scheduler's resident memory per distinct URL it has seen (and queued)."""
    state = SqliteStore(work, resume=False, fresh=True)
    frontier = Frontier(state, Politeness(obey_robots=False), lease_seconds=60, max_attempts=3, backoff_seconds=1)
    gc.collect()
    before = _rss_bytes()
    started = time.monotonic()
    for number in range(urls):
        url = _url(number)
        frontier.add(url, url, Kind.PAGE, 1, None)
        if number % 10_000 == 0:
            state.commit()
    state.commit()
    gc.collect()
    grown = _rss_bytes() - before
    print(f"\n## scheduler memory: {urls:,} distinct URLs discovered and queued in {time.monotonic() - started:.1f}s")
    print(f"  RSS growth            {grown / 1e6:9.1f} MB")
    print(f"  bytes per URL         {grown / urls:9.1f}   (target: under 200)")
    state.close()

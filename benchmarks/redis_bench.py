"""One scheduler with its crawl state in Redis, against the same scheduler on SQLite.

The scheduler ceiling (synthetic node in-process, 20 links per answer, 2 new) is run alternately
on SQLite and on a Redis started here (Debian's redis-server, append-only file, everysec), and the
memory Redis uses per URL the crawl has seen is read from INFO after `urls` are added, and again
once each of them is fetched and its validators recorded, with the server's hash-max-listpack-value
at its default and at 256.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import multiprocessing
import random
import statistics
from email.utils import formatdate
from pathlib import Path
from typing import Any

import redis

from benchmarks.scheduler_bench import HOSTS, _url, ceiling
from benchmarks.servers import RedisServer, redis_binary
from crawler.messages import Kind
from crawler.scheduler.redis_store import RedisStore
from crawler.scheduler.store import UrlStatus


def redis_state(work: Path, runs: int = 3, urls: int = 1_000_000, pages: int = 50_000) -> None:
    if redis_binary() is None:
        print("\n## redis: skipped (needs redis-server: apt-get install redis-server)")
        return
    server = RedisServer(work / "redis-server")
    try:
        sqlite, on_redis = [], []
        for n in range(runs):  # interleaved: the machine's noise falls on both alike
            sqlite.append(ceiling(work / f"sqlite{n}", pages, title=f"SQLite, run {n + 1}"))
            store = RedisStore(server.url, f"bench{n}", resume=False, fresh=True)
            on_redis.append(ceiling(work / f"redis{n}", pages, store, title=f"Redis, run {n + 1}"))
        rate_sqlite = statistics.median(rate for rate, _cpu in sqlite)
        rate_redis = statistics.median(rate for rate, _cpu in on_redis)
        cpu_sqlite = statistics.median(cpu for _rate, cpu in sqlite) * 1e6
        cpu_redis = statistics.median(cpu for _rate, cpu in on_redis) * 1e6
        print(f"\n## redis: one scheduler, {pages:,} pages, median of {runs}")
        print(f"  SQLite  {rate_sqlite:9.0f} tasks/s  {cpu_sqlite:6.1f} us scheduler CPU per task")
        print(f"  Redis   {rate_redis:9.0f} tasks/s  {cpu_redis:6.1f} us scheduler CPU per task "
              f"(+ the server's own CPU)")
        print(f"  Redis / SQLite throughput: {rate_redis / rate_sqlite:.2f} (target: at least 0.5)")
        pairs = [two_schedulers(server.url, work / f"pair{n}", pages, f"pair{n}") for n in range(runs)]
        rate_pair = statistics.median(pairs)
        print(f"  two schedulers, separate processes, one Redis: {rate_pair:9.0f} tasks/s together, "
              f"{rate_pair / rate_redis:.2f} x one (target: at least 1.5)")
        memory_per_url(server, urls)
    finally:
        server.stop()


def _one_of_two(url: str, crawl: str, work: str, pages: int, part: int, joined: Any, results: Any) -> None:
    """A scheduler of a shared crawl with its synthetic node, in a process of its own."""
    logging.disable(logging.WARNING)  # the ceiling's own lines are the figures
    store = RedisStore(url, crawl, resume=False, fresh=part == 0)
    joined.set()
    with contextlib.redirect_stdout(io.StringIO()):
        rate, _cpu = ceiling(Path(work), pages, store, part=part, parts=2)
    results.put(rate)


def two_schedulers(url: str, work: Path, pages: int, crawl: str) -> float:
    """Tasks/s of two schedulers on one crawl together (each with its node; pages limits each)."""
    spawn = multiprocessing.get_context("spawn")
    results = spawn.Queue()
    first_in, second_in = spawn.Event(), spawn.Event()
    first = spawn.Process(target=_one_of_two, args=(url, crawl, str(work / "a"), pages, 0, first_in, results))
    first.start()
    first_in.wait(30)  # registered: the second joins its crawl
    second = spawn.Process(target=_one_of_two, args=(url, crawl, str(work / "b"), pages, 1, second_in, results))
    second.start()
    rates = [results.get(timeout=600), results.get(timeout=600)]
    first.join()
    second.join()
    return sum(rates)


def memory_per_url(server: RedisServer, urls: int) -> None:
    """Redis memory per URL with the server's hash-max-listpack-value (64 by default, which keeps
    short rows compact) and with 256, which the README's server command sets."""
    client = redis.Redis.from_url(server.url, decode_responses=True)
    default = str(client.config_get("hash-max-listpack-value")["hash-max-listpack-value"])
    try:
        for allowed in (default, "256"):
            client.config_set("hash-max-listpack-value", allowed)
            _memory_of_a_crawl(server, client, urls, f"hash-max-listpack-value {allowed}")
    finally:
        client.config_set("hash-max-listpack-value", default)


def _memory_of_a_crawl(server: RedisServer, client: redis.Redis, urls: int, setting: str) -> None:
    """Redis memory per URL twice: with every URL found (each on a page of its host, 20 to a page;
    two in three are images, each counted as shown by its page) and waiting, then with every one
    fetched and its validators recorded (what a finished crawl keeps for its re-crawl)."""
    client.flushdb()
    before = int(client.info("memory")["used_memory"])
    store = RedisStore(server.url, "memory", resume=False, fresh=True)
    ids = []
    for number in range(urls):
        url = _url(number)
        kind = Kind.PAGE if number % 3 == 0 else Kind.IMAGE
        ids.append(store.add_url(url, url, kind, 1, _url(number - HOSTS * ((number // HOSTS) % 20)), 0))
        if kind == Kind.IMAGE:
            store.note_references([url])
        if number % 10_000 == 9_999:
            store.commit()
    store.commit()
    _print_memory(f"{setting}, all waiting", client, before, urls)
    rng = random.Random(1)
    for number, url_id in enumerate(ids):
        store.finish(url_id, UrlStatus.DONE, None, 1)
        store.note_fetch(url_id, _fetch_record(rng, number), _FETCHED_AT + number / 1000)
        if number % 10_000 == 9_999:
            store.commit()
    store.commit()
    _print_memory(f"{setting}, all fetched", client, before, urls)
    store.close()


# What nginx sends for a static file (its ETag is the mtime and length in hex), and what the
# scheduler notes of it: the benchmark's fetch records are as long as a real crawl's.
_FETCHED_AT = 1_796_504_149.949956


def _fetch_record(rng: random.Random, number: int) -> str:
    size = rng.randrange(2_000, 400_000)
    modified = 1_790_000_000 + rng.randrange(10_000_000)
    return json.dumps({"etag": f'"{modified:x}-{size:x}"', "last_modified": formatdate(modified, usegmt=True),
                       "sha256": rng.randbytes(32).hex(), "bytes": size, "at": _FETCHED_AT + number / 1000})


def _print_memory(moment: str, client: redis.Redis, before: int, urls: int) -> None:
    grown = int(client.info("memory")["used_memory"]) - before
    shares = _memory_by_kind(client, "qc:memory:")
    parts = ", ".join(f"{kind} {size / urls:.0f}" for kind, size in sorted(shares.items(), key=lambda kv: -kv[1]))
    print(f"  Redis memory per URL at {urls:,}, {moment}: {grown / urls:.0f} bytes in all (target: under 120); "
          f"of it {parts}")


def _memory_by_kind(client: redis.Redis, prefix: str) -> dict[str, int]:
    """MEMORY USAGE of a crawl's keys, summed by kind (the seen-set's 65,536 buckets are one kind)."""
    keys = [str(key) for key in client.scan_iter(match=prefix + "*", count=5000)]
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.memory_usage(key, samples=0)
    shares: dict[str, int] = {}
    for key, size in zip(keys, pipe.execute()):
        kind = {"seen": "seen-set", "state": "statuses", "rows": "rows", "open": "unfinished lists",
                "open_count": "unfinished lists", "fetch": "fetch records",
                "fetched_at": "fetch records", "refs": "image references", "pages": "image references"}.get(
            key[len(prefix):].split(":")[0], "other")
        shares[kind] = shares.get(kind, 0) + int(size or 0)
    return shares

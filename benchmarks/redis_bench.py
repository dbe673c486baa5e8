"""One scheduler with its crawl state in Redis, against the same scheduler on SQLite.

The scheduler ceiling (synthetic node in-process, 20 links per answer, 2 new) is run alternately
on SQLite and on a Redis started here (Debian's redis-server, append-only file, everysec), and the
memory Redis uses per URL the crawl has seen is read from INFO after `urls` are added.
"""

from __future__ import annotations

import statistics
from pathlib import Path

import redis

from benchmarks.scheduler_bench import _url, ceiling
from benchmarks.servers import RedisServer, redis_binary
from crawler.messages import Kind
from crawler.scheduler.redis_store import RedisStore


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
        memory_per_url(server, urls)
    finally:
        server.stop()


def memory_per_url(server: RedisServer, urls: int) -> None:
    client = redis.Redis.from_url(server.url)
    client.flushdb()
    before = int(client.info("memory")["used_memory"])
    store = RedisStore(server.url, "memory", resume=False, fresh=True)
    for number in range(urls):
        url = _url(number)
        store.add_url(url, url, Kind.PAGE, 1, None, 0)
        if number % 10_000 == 9_999:
            store.commit()
    store.commit()
    grown = int(client.info("memory")["used_memory"]) - before
    store.close()
    print(f"  Redis memory per seen URL at {urls:,}: {grown / urls:.0f} bytes (target: under 120)")

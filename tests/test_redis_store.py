"""What the Redis crawl store adds to the contract (tests/test_store_contract.py): one scheduler per
crawl, a server it can trust, outages ridden out. Against a real redis-server, never a mock."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import redis

from crawler.errors import ConfigError, StateError
from crawler.messages import Kind
from crawler.scheduler.redis_store import RedisStore
from crawler.scheduler.store import UrlStatus
from tests.redis_server import RedisServer, started_redis


def test_one_scheduler_holds_a_crawl_and_a_dead_ones_claim_is_taken_over(redis_server: RedisServer) -> None:
    first = RedisStore(redis_server.url, "claimed", resume=False, fresh=True)
    with pytest.raises(StateError, match="another scheduler is using crawl 'claimed'"):
        RedisStore(redis_server.url, "claimed", resume=True, fresh=False)
    first.close()
    # A scheduler of this machine killed -9 leaves its claim; the next one takes it over at once.
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    import socket
    client.set("qc:claimed:lock", f"{socket.gethostname()}:{dead.stdout.strip()}:abc", px=30_000)
    again = RedisStore(redis_server.url, "claimed", resume=True, fresh=False)
    again.close()
    client.set("qc:claimed:lock", "another-machine:1:abc", px=30_000)  # alive as far as we can tell
    with pytest.raises(StateError, match="claim lapses within 30 s"):
        RedisStore(redis_server.url, "claimed", resume=True, fresh=False)
    client.delete("qc:claimed:lock")


def test_a_scheduler_that_lost_its_claim_writes_nothing(redis_server: RedisServer) -> None:
    store = RedisStore(redis_server.url, "stolen", resume=False, fresh=True)
    store.add_url("http://a.test/", "http://a.test/", Kind.PAGE, 0, None, 0)
    store.commit()
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    client.set("qc:stolen:lock", "thief:1:x")  # its claim lapsed while it stalled, and another took the crawl
    store.add_url("http://a.test/b", "http://a.test/b", Kind.PAGE, 1, None, 0)
    with pytest.raises(StateError, match="lost its claim"):
        store.commit()
    assert client.hlen("qc:stolen:rows") == 1
    client.delete("qc:stolen:lock")


def test_a_server_that_would_lose_the_crawl_is_refused_in_one_line(redis_server: RedisServer) -> None:
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    client.config_set("maxmemory-policy", "allkeys-lru")
    try:
        with pytest.raises(StateError, match="evicts keys under memory pressure .*allkeys-lru"):
            RedisStore(redis_server.url, "evicted", resume=False, fresh=True)
    finally:
        client.config_set("maxmemory-policy", "noeviction")
    with pytest.raises(StateError, match="cannot use Redis at redis://127.0.0.1:1/0"):
        RedisStore("redis://:secret@127.0.0.1:1/0", "nowhere", resume=False, fresh=True)
    with pytest.raises(ConfigError, match="--crawl"):
        RedisStore(redis_server.url, "no/slashes", resume=False, fresh=True)


def test_a_commit_rides_out_a_redis_restart(tmp_path: Path) -> None:
    server = started_redis(tmp_path / "redis")
    try:
        store = RedisStore(server.url, "outage", resume=False, fresh=True)
        url_id = store.add_url("http://a.test/", "http://a.test/", Kind.PAGE, 0, None, 0)
        store.commit()
        store.finish(url_id, UrlStatus.DONE, None, 1)
        store.record_failure('{"url": "http://a.test/gone"}')
        server.stop()
        threading.Timer(1.0, server.start).start()  # back a second later, from its append-only file
        started = time.monotonic()
        store.commit()  # waits for it instead of failing the crawl
        assert time.monotonic() - started >= 0.9
        assert store.get_url(url_id).status == "done"  # type: ignore[union-attr]
        assert [record["url"] for record in store.records("failures")] == ["http://a.test/gone"]
        store.close()
    finally:
        server.stop()

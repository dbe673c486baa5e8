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


def dead_token() -> str:
    """The token a scheduler of this machine that was killed would have left (its pid is gone)."""
    import socket
    pid = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                         text=True).stdout.strip()
    return f"{socket.gethostname()}:{pid}:dead"


def test_a_second_scheduler_joins_a_running_crawl_and_fresh_is_refused_then(redis_server: RedisServer) -> None:
    first = RedisStore(redis_server.url, "joined", resume=False, fresh=True)
    assert not first.joined
    with pytest.raises(StateError, match="being crawled by 1 other scheduler.*--fresh would wipe"):
        RedisStore(redis_server.url, "joined", resume=False, fresh=True)
    second = RedisStore(redis_server.url, "joined", resume=False, fresh=False)  # the same command elsewhere
    assert second.joined and second.resumed
    second.close()
    first.close()  # both said goodbye: the crawl holds no live scheduler now
    with pytest.raises(StateError, match="holds an earlier crawl; add --resume"):
        RedisStore(redis_server.url, "joined", resume=False, fresh=False)
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    client.zadd("qc:joined:schedulers", {dead_token(): time.time()})  # killed -9 a moment ago, on this machine
    again = RedisStore(redis_server.url, "joined", resume=True, fresh=False)
    assert not again.joined  # a dead scheduler is nobody to join
    again.close()


def page(store: RedisStore, origin: str, path: str) -> int:
    url = f"{origin}{path}"
    return store.add_url(url, url, Kind.PAGE, 1, None, 0)


def test_origins_are_shared_out_and_a_dead_owners_unfinished_urls_are_taken_over(redis_server: RedisServer) -> None:
    a = RedisStore(redis_server.url, "shared", resume=False, fresh=True)
    b = RedisStore(redis_server.url, "shared", resume=False, fresh=False)
    hosts_a, hosts_b = a.shared_hosts(), b.shared_hosts()
    one, two = "http://one.test", "http://two.test"
    leased = page(a, one, "/leased")
    page(a, one, "/pending")
    page(a, two, "/x")
    a.commit()
    assert hosts_a.unfinished() == 3
    assert hosts_a.fair_share(0, 1) == 1  # two origins with work, two schedulers: one each
    claimed_a = hosts_a.claim(1, [])
    claimed_b = hosts_b.claim(1, [])
    assert {*claimed_a, *claimed_b} == {one, two}  # each origin has one owner
    owner_of_one, owner_of_two = (a, b) if one in claimed_a else (b, a)
    # A URL found by the owner of "two" on "one" reaches the owner of "one" through its inbox
    found = page(owner_of_two, one, "/found-elsewhere")
    owner_of_two.commit()
    assert owner_of_one.shared_hosts().inbox() == [found]
    assert owner_of_two.shared_hosts().inbox() == []
    # The owner of "one" leases a URL and dies; its claim is taken over with every unfinished URL
    owner_of_one.lease(owner_of_one.get_url(leased))  # type: ignore[arg-type]
    owner_of_one.commit()
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    dead = dead_token()
    client.hset("qc:shared:owner", one, dead)  # as if a killed scheduler of this machine held it
    survivor = owner_of_two.shared_hosts()
    taken = survivor.claim(5, [dead])
    assert set(taken) == {one} and sorted(taken[one]) == sorted([leased, leased + 1, found])
    assert owner_of_two.get_url(leased).status == "leased"  # type: ignore[union-attr]  # the frontier requeues it
    owner_of_two.finish(found, UrlStatus.DONE, None, 1)
    owner_of_two.commit()
    assert survivor.unfinished() == 3
    a.close()
    b.close()


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


def test_urls_found_on_an_origin_before_claiming_it_are_queued_once_it_is_claimed(redis_server: RedisServer) -> None:
    from crawler.config import Politeness
    from crawler.scheduler.frontier import Frontier
    from crawler.scheduler.hosts import HostSync
    store = RedisStore(redis_server.url, "claim-late", resume=False, fresh=True)
    frontier = Frontier(store, Politeness(delay_seconds=0, obey_robots=False), lease_seconds=60, max_attempts=3,
                        backoff_seconds=1)
    frontier.owned = set()
    sync = HostSync(store.shared_hosts(), store, frontier)
    frontier.add("http://x.test/1", "http://x.test/1", Kind.PAGE, 1, None)
    store.commit()  # x.test has work and no owner
    frontier.add("http://x.test/2", "http://x.test/2", Kind.PAGE, 1, None)  # found before the claim, not written
    sync.run(0.0)
    taken = []
    while (task := frontier.next_task(0.0)) is not None:
        taken.append(task["url"])
    assert sorted(taken) == ["http://x.test/1", "http://x.test/2"]  # before: /2 was written after the claim, lost
    store.close()


def test_an_origins_unfinished_urls_cost_bytes_and_a_claim_queues_only_those_still_unfinished(
        redis_server: RedisServer) -> None:
    # An origin's unfinished URLs are listed as text, a few bytes an id (a set of integers cost some
    # 50 bytes a member past 512); an id stays listed after its URL finishes, so the scheduler that
    # takes the origin over must not queue it again.
    from crawler.config import Politeness
    from crawler.scheduler.frontier import Frontier
    from crawler.scheduler.hosts import HostSync
    a = RedisStore(redis_server.url, "listed", resume=False, fresh=True)
    ids = [page(a, "http://x.test", f"/{n}") for n in range(1000)]
    a.commit()
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    assert client.hget("qc:listed:open_count", "http://x.test") == "1000"
    assert int(client.memory_usage("qc:listed:open:http://x.test")) < 1000 * 8  # type: ignore[arg-type]
    for url_id in ids[:990]:  # done by a scheduler that then dies
        a.finish(url_id, UrlStatus.DONE, None, 1)
    a.commit()
    assert client.hget("qc:listed:open_count", "http://x.test") == "10"
    b = RedisStore(redis_server.url, "listed", resume=True, fresh=False)
    frontier = Frontier(b, Politeness(delay_seconds=0, obey_robots=False), lease_seconds=60, max_attempts=3,
                        backoff_seconds=1)
    frontier.owned = set()
    HostSync(b.shared_hosts(), b, frontier).run(0.0)  # x.test had no live owner: b takes it
    assert frontier.pending_count == 10  # the 990 listed ids that finished are not queued
    taken = []
    while (task := frontier.next_task(0.0)) is not None:
        taken.append(task["url"])
        frontier.finish(frontier.complete(task["id"], 0.0))  # type: ignore[arg-type]  # frees the slot
    assert sorted(taken) == sorted(f"http://x.test/{n}" for n in range(990, 1000))
    b.commit()
    assert not client.exists("qc:listed:open:http://x.test")  # the list goes with its last unfinished URL
    assert client.hlen("qc:listed:open_count") == 0 and client.get("qc:listed:unfinished") == "0"
    a.close()
    b.close()


def test_an_idle_scheduler_takes_an_origin_nobody_dispatches_to(redis_server: RedisServer) -> None:
    from crawler.config import Politeness
    from crawler.scheduler.frontier import Frontier
    from crawler.scheduler.hosts import HostSync

    def scheduler(fresh: bool) -> tuple[RedisStore, Frontier, HostSync]:
        store = RedisStore(redis_server.url, "idle-claims", resume=not fresh, fresh=fresh)
        frontier = Frontier(store, Politeness(delay_seconds=0, obey_robots=False), lease_seconds=60,
                            max_attempts=3, backoff_seconds=1)
        frontier.owned = set()
        return store, frontier, HostSync(store.shared_hosts(), store, frontier)

    a, b = scheduler(True), scheduler(False)
    for n in range(4):
        a[1].add(f"http://x{n}.test/", f"http://x{n}.test/", Kind.PAGE, 1, None)
    for store, frontier, sync in (a, b):
        sync.run(0.0)  # two origins each
        while (task := frontier.next_task(0.0)) is not None:
            frontier.finish(store.get_url(int(task["id"].split(".")[0])))  # type: ignore[arg-type]
        store.commit()
    a[2]._shared.claim(1, [])  # a claim's pass clears the origins whose work is done from the active set
    b[1].add("http://orphan.test/", "http://orphan.test/", Kind.PAGE, 1, None)  # found by b, owned by nobody
    for _store, _frontier, sync in (a, b):
        sync.run(0.0)
    # Before: each held two origins, "its share" of the one active origin, and the orphan waited forever.
    assert [task["url"] for _store, frontier, _sync in (a, b) if (task := frontier.next_task(0.0))] == [
        "http://orphan.test/"]
    for store, _frontier, _sync in (a, b):
        store.close()


def test_redis_rows_hold_a_url_once_and_rows_written_before_still_read() -> None:
    # Rows are the largest share of a crawl's Redis memory: a URL that is its own canonical form is
    # written once. Rows an earlier version wrote (the URL twice, spaced JSON) must still read.
    from crawler.scheduler.redis_store import _row, _row_text
    from crawler.scheduler.store import UrlRow
    same = UrlRow(7, "http://a.test/p", "http://a.test/p", "page", 1, None, 0, "pending", 0)
    other = same._replace(url="http://a.test/p#top")
    for row in (same, other):
        assert _row(7, _row_text(row, "http://a.test"), '["pending",0,null]', None) == row
    assert _row_text(same, "http://a.test").count("http://a.test/p") == 1
    # The origin is left out where the URL starts with it (the write script reads it off there),
    # and so are trailing nulls; a robots.txt row's key does not start with its origin.
    assert _row_text(same, "http://a.test") == '["http://a.test/p",null,"page",1,null,0]'
    robots = UrlRow(8, "robots:http://a.test", "http://a.test/robots.txt", "robots", 0, None, 0, "pending", 0)
    assert _row_text(robots, "http://a.test").endswith(',null,null,"http://a.test"]')
    assert _row(8, _row_text(robots, "http://a.test"), '["pending",0,null]', None) == robots
    earlier = '["http://a.test/p", "http://a.test/p", "page", 1, null, 0, null, null]'
    assert _row(7, earlier, '["pending", 0, null]', None) == same
    assert _row(7, '["http://a.test/p",null,"page",1,null,0,null,null,"http://a.test"]', '["pending",0,null]',
                None) == same  # schema 3: every row ended with its origin


def test_redis_a_status_is_a_few_bytes_and_statuses_written_before_still_read() -> None:
    from crawler.scheduler.redis_store import _state_of, _state_text
    assert [_state_text("pending", 0, None), _state_text("leased", 1, None)] == ["p0", "l1"]
    assert _state_of(_state_text("failed", 3, "http-404")) == ("failed", 3, "http-404")
    assert _state_of(_state_text("skipped", 0, "robots")) == ("skipped", 0, "robots")
    assert _state_of(_state_text("done", 12, None)) == ("done", 12, None)
    assert _state_of('["leased",2,null]') == ("leased", 2, None)  # JSON, as schema 4 and before wrote it


def test_redis_a_crawl_of_the_earlier_layout_is_moved_once_and_carries_on(redis_server: RedisServer) -> None:
    # Schema 1 (before 2026-12-05) kept the seen-set keyed by whole canonical URLs, the statuses in
    # one hash and, before rows carried it, each URL's origin in a hash of its own. A --resume of
    # such a crawl must find every URL it had seen, and finishing them must leave the count of
    # unfinished URLs right, or the crawl would never end.
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    client.hset("qc:older:meta", mapping={"schema": "1", "crawl": "older"})
    client.set("qc:older:ids", "1000")
    client.hset("qc:older:canon", mapping={"http://new.test/p": "1", "http://old.test/p": "2"})
    client.hset("qc:older:rows", mapping={
        "1": '["http://new.test/p",null,"page",1,null,0,null,null,"http://new.test"]',
        "2": '["http://old.test/p", "http://old.test/p", "page", 1, null, 0, null, null]'})
    client.hset("qc:older:state", mapping={"1": '["pending",0,null]', "2": '["pending", 0, null]'})
    client.hset("qc:older:origin", "2", "http://old.test")
    client.sadd("qc:older:todo:http://new.test", "1")
    client.sadd("qc:older:todo:http://old.test", "2")
    client.sadd("qc:older:active", "http://new.test", "http://old.test")
    client.set("qc:older:unfinished", "2")

    store = RedisStore(redis_server.url, "older", resume=True, fresh=False)
    assert client.hget("qc:older:meta", "schema") == "5"
    assert not client.exists("qc:older:canon", "qc:older:state", "qc:older:origin")
    assert sorted(store.canonicals()) == ["http://new.test/p", "http://old.test/p"]
    assert [row.id for row in store.restore()] == [1, 2]
    found = store.find_url("http://old.test/p")
    assert found is not None and (found.id, found.url, found.status) == (2, "http://old.test/p", "pending")
    page(store, "http://old.test", "/p")  # seen before the move: not a new URL
    for url_id in (1, 2):
        store.finish(url_id, UrlStatus.DONE, None, 1)
    store.commit()
    assert client.get("qc:older:unfinished") == "0"
    assert not client.keys("qc:older:todo:*") and not client.keys("qc:older:open:*")  # nothing left unfinished
    assert client.hlen("qc:older:open_count") == 0
    assert client.hlen("qc:older:rows") == 2
    store.close()


def test_redis_a_crawl_whose_unfinished_urls_were_sets_is_moved_once_and_carries_on(
        redis_server: RedisServer) -> None:
    # Schema 2 (written on 2026-12-05) kept each origin's unfinished URLs in a set.
    store = RedisStore(redis_server.url, "sets", resume=False, fresh=True)
    ids = [page(store, "http://s.test", f"/{n}") for n in range(3)]
    store.commit()
    store.close()
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    client.delete("qc:sets:open:http://s.test", "qc:sets:open_count", "qc:sets:schedulers")
    client.sadd("qc:sets:todo:http://s.test", *ids)
    client.hset("qc:sets:meta", "schema", "2")

    again = RedisStore(redis_server.url, "sets", resume=True, fresh=False)
    assert client.hget("qc:sets:meta", "schema") == "5" and not client.exists("qc:sets:todo:http://s.test")
    assert client.hget("qc:sets:open_count", "http://s.test") == "3"
    assert again.shared_hosts().claim(1, []) == {"http://s.test": ids}
    for url_id in ids:
        again.finish(url_id, UrlStatus.DONE, None, 1)
    again.commit()
    assert client.get("qc:sets:unfinished") == "0" and not client.exists("qc:sets:open:http://s.test")
    again.close()


def test_redis_a_crawl_whose_rows_all_end_with_their_origin_resumes_as_it_is(redis_server: RedisServer) -> None:
    # Schema 3 (written on 2026-12-05) ended every row with its origin; schema 4 leaves it out where
    # the URL starts with it. Such rows read, and finish, as they are.
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    store = RedisStore(redis_server.url, "ended", resume=False, fresh=True)
    url_id = page(store, "http://e.test", "/p")
    store.commit()
    store.close()
    client.hset("qc:ended:rows", str(url_id), '["http://e.test/p",null,"page",1,null,0,null,null,"http://e.test"]')
    client.hset("qc:ended:meta", "schema", "3")
    again = RedisStore(redis_server.url, "ended", resume=True, fresh=False)
    assert client.hget("qc:ended:meta", "schema") == "5"
    assert [row.canonical for row in again.restore()] == ["http://e.test/p"]
    again.finish(url_id, UrlStatus.DONE, None, 1)
    again.commit()
    assert client.get("qc:ended:unfinished") == "0" and client.hlen("qc:ended:open_count") == 0
    again.close()


def test_redis_the_seen_set_holds_digests_in_small_hashes_and_tells_urls_of_one_digest_apart(
        redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch) -> None:
    # The seen-set is what grows with a crawl: an entry is a 64-bit digest and an id in a listpack,
    # not the URL. A URL that shares its digest with one seen before counts as seen (the cost of a
    # collision), but is never taken for the other one.
    from crawler.scheduler import redis_store
    store = RedisStore(redis_server.url, "digests", resume=False, fresh=True)
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    first = page(store, "http://a.test", "/one")
    store.commit()
    bucket, digest = redis_store._seen_place("http://a.test/one")
    assert client.hget(f"qc:digests:seen:{bucket}", digest) == str(first)
    assert client.object("encoding", f"qc:digests:seen:{bucket}") == "listpack"
    assert client.object("encoding", "qc:digests:state:0") == "listpack"
    assert not client.keys("qc:digests:canon*")

    monkeypatch.setattr(redis_store, "_seen_place", lambda canonical: (bucket, digest))
    page(store, "http://a.test", "/two")
    store.commit()
    assert store.find_url("http://a.test/two") is None
    assert client.get("qc:digests:unfinished") == "1"
    store.close()

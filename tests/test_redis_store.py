"""What the Redis crawl store adds to the contract (tests/test_store_contract.py): one scheduler per
crawl, a server it can trust, outages ridden out. Against a real redis-server, never a mock."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import redis
from redis._parsers.base import BaseParser

from crawler.errors import ConfigError, StateError, StorageError
from crawler.messages import Kind
from crawler.scheduler import redis_store
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
    with pytest.raises(StateError, match="holds an earlier crawl; add --resume to carry on, --recrawl to fetch"):
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


@pytest.mark.parametrize(("path_and_query", "words"), [
    # redis-py passes an option it does not read to the connection: a TypeError traceback
    ("/0?foo=bar", "Redis URLs take no option foo (redis-py's options are"),
    ("/0?socket_timout=5&foo=1", "Redis URLs take no option foo, socket_timout"),
    # a database that is no number was dropped, and the crawl went to database 0
    ("/abc", "the database of a Redis URL is a number from 0 (redis://HOST:PORT/0), not 'abc'"),
])
def test_a_redis_url_with_options_redis_does_not_take_is_refused_in_one_line(redis_server: RedisServer,
                                                                            path_and_query: str, words: str) -> None:
    url = redis_server.url.rsplit("/", 1)[0] + path_and_query
    with pytest.raises(StateError) as refused:
        RedisStore(url, "options", resume=False, fresh=True)
    assert words in str(refused.value) and "\n" not in str(refused.value)


def test_a_write_redis_refuses_says_what_to_do_and_resume_carries_on(tmp_path: Path) -> None:
    # A Redis out of memory stopped the crawl with its bare reply: "command not allowed when used
    # memory > 'maxmemory'", and nothing about what to do.
    server = started_redis(tmp_path / "redis")
    try:
        client = redis.Redis.from_url(server.url, decode_responses=True)
        store = RedisStore(server.url, "full", resume=False, fresh=True)
        store.add_url("http://a.test/", "http://a.test/", Kind.PAGE, 0, None, 0)
        store.commit()
        client.config_set("maxmemory", "1")  # anything written now is over the cap
        store.add_url("http://a.test/b", "http://a.test/b", Kind.PAGE, 1, None, 0)
        with pytest.raises(StorageError, match=r"full \(maxmemory\): give it more .*CONFIG SET maxmemory 0.*--resume"):
            store.commit()
        with pytest.raises(StateError, match=r"full \(maxmemory\).*then run the same command again"):
            RedisStore(server.url, "another", resume=False, fresh=True)  # a new crawl there, as full
        client.config_set("maxmemory", "0")
        again = RedisStore(server.url, "full", resume=True, fresh=False)
        assert again.get_url(1) is not None  # what was written before is there to resume
        client.replicaof("127.0.0.1", "1")  # demoted to a replica (of nothing here): it takes no writes
        with pytest.raises(StorageError, match="read-only replica: point --state at its primary"):
            again.add_url("http://a.test/c", "http://a.test/c", Kind.PAGE, 1, None, 0)
            again.commit()
        client.replicaof("no", "one")
        again.close()
    finally:
        server.stop()
    disk = BaseParser.parse_error("MISCONF Redis is configured to save RDB snapshots, but it's currently unable to "
                                  "persist to disk.")  # what redis-py makes of that reply
    assert "cannot save to its own disk (its log says why): mend that, then" in redis_store._refusal(disk, "")


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


def test_an_origin_whose_last_url_finishes_as_another_arrives_in_one_batch_keeps_the_new_one(
        redis_server: RedisServer) -> None:
    # A batch writes each origin's arrivals and count once, at its end: the count it ends with says
    # whether the list stays.
    store = RedisStore(redis_server.url, "turnover", resume=False, fresh=True)
    first = page(store, "http://t.test", "/1")
    store.commit()
    store.finish(first, UrlStatus.DONE, None, 1)
    second = page(store, "http://t.test", "/2")
    store.commit()
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    assert client.hget("qc:turnover:open_count", "http://t.test") == "1" and client.get("qc:turnover:unfinished") == "1"
    # listed are both (an id stays listed once done; whoever claims the origin reads their statuses)
    assert store.shared_hosts().claim(1, []) == {"http://t.test": [first, second]}
    store.finish(second, UrlStatus.DONE, None, 1)
    third = page(store, "http://t.test", "/3")
    store.finish(third, UrlStatus.FAILED, "http-404", 1)  # arrived and finished in one batch
    store.commit()
    assert not client.exists("qc:turnover:open:http://t.test") and client.hlen("qc:turnover:open_count") == 0
    assert client.get("qc:turnover:unfinished") == "0"
    store.close()


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


def test_a_scheduler_whose_frontier_ran_dry_syncs_sooner_than_one_with_work(redis_server: RedisServer) -> None:
    # Two schedulers starting a crawl: new origins appear as pages are read, and one with nothing to
    # dispatch waited for the next sync (a quarter of a second) to claim any: idle a quarter of the time.
    from crawler.config import Politeness
    from crawler.scheduler.frontier import Frontier
    from crawler.scheduler.hosts import HostSync
    a = RedisStore(redis_server.url, "dry", resume=False, fresh=True)
    b = RedisStore(redis_server.url, "dry", resume=False, fresh=False)
    frontier = Frontier(b, Politeness(delay_seconds=0, obey_robots=False), lease_seconds=60, max_attempts=3,
                        backoff_seconds=1)
    frontier.owned = set()
    sync = HostSync(b.shared_hosts(), b, frontier)
    sync.step(0.0, ran_dry=True)  # nothing to claim yet
    page(a, "http://new.test", "/")
    a.commit()
    soon = HostSync.DRY_SYNC_SECONDS + 0.001
    assert soon < HostSync.SYNC_SECONDS
    sync.step(soon, ran_dry=False)  # busy: no sync before it is due (each is a few round trips)
    assert frontier.pending_count == 0
    sync.step(soon, ran_dry=True)
    assert frontier.pending_count == 1 and frontier.owned == {"http://new.test"}
    for store in (a, b):
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


def test_redis_a_row_holds_the_path_of_a_page_on_its_own_origin() -> None:
    # Most URLs are found on a page of their own origin: the row keeps the page's path, not its URL.
    from crawler.scheduler.redis_store import _row, _row_text
    from crawler.scheduler.store import UrlRow
    found = UrlRow(9, "http://a.test/img/cat.png", "http://a.test/img/cat.png", "image", 1, "http://a.test/p/1",
                   0, "pending", 0)
    elsewhere = found._replace(page_url="http://b.test/p/1")
    assert _row_text(found, "http://a.test") == '["http://a.test/img/cat.png",null,"image",1,"/p/1",0]'
    for row in (found, elsewhere, found._replace(page_url="http://a.test.evil/p")):
        assert _row(9, _row_text(row, "http://a.test"), "p0", None) == row


NGINX_FETCH = {"etag": '"6ac63c7b-410b"', "last_modified": "Wed, 07 Oct 2026 12:35:07 GMT",
               "sha256": "70b1d8eff3dfd390ca6366deddacfecbfa15e350e418862dfc832605eacd46de", "bytes": 16651,
               "at": 1796504149.949956}


def test_redis_a_fetch_record_is_a_short_list_that_reads_back_as_it_was_noted() -> None:
    from crawler.scheduler.redis_store import _fetch_of, _fetch_text
    text = _fetch_text(json.dumps(NGINX_FETCH))
    assert len(text) <= 100 < 190 <= len(json.dumps(NGINX_FETCH))
    assert json.loads(_fetch_of(text)) == {**NGINX_FETCH, "at": 1796504149.95}  # to the millisecond
    # What a list cannot hold exactly stays an object; a date that does not read back the same stays text.
    for unusual in ({"sha256": "aa", "bytes": 1, "at": 1.0}, {**NGINX_FETCH, "other": "x"},
                    {**NGINX_FETCH, "last_modified": "Wednesday, 07-Oct-26 12:35:07 GMT", "at": 2.5},
                    {"max_age": "60", "at": 5.0}, {"etag": 'W/"x"', "sha256": "A" * 64, "at": 0.0}):
        assert json.loads(_fetch_of(_fetch_text(json.dumps(unusual)))) == unusual
    written_before = '{"sha256": "aa", "bytes": 1, "at": 1.0}'  # schema 5 and before: the object as noted
    assert _fetch_of(written_before) == written_before


def test_redis_rows_and_fetch_records_of_real_length_are_listpacks_where_the_server_allows(
        redis_server: RedisServer, caplog: pytest.LogCaptureFixture) -> None:
    # A bucket is a listpack (a few bytes an entry) while its values fit hash-max-listpack-value: 64
    # bytes by default, which statuses always fit and real rows and fetch records do not; the
    # README's server command says 256, and a scheduler on a server that keeps less says so.
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    limit = str(client.config_get("hash-max-listpack-value")["hash-max-listpack-value"])
    try:
        for allowed, encoding in (("64", "hashtable"), ("256", "listpack")):
            client.config_set("hash-max-listpack-value", allowed)
            caplog.clear()
            with caplog.at_level(logging.INFO, logger="crawler.scheduler.redis_store"):
                store = RedisStore(redis_server.url, "lengths", resume=False, fresh=True)
            hinted = [message for message in caplog.messages if "hash-max-listpack-value 256" in message]
            assert len(hinted) == (allowed == "64")
            ids = [page(store, "http://docs.example.org", f"/library/section-{n}/topic-{n}.html") for n in range(3)]
            for url_id in ids:
                store.finish(url_id, UrlStatus.DONE, None, 1)
                store.note_fetch(url_id, json.dumps(NGINX_FETCH), 1.0)
            store.note_references(list(store.canonicals()))  # counted by id, not by URL
            store.commit()
            bucket = ids[0] // 64
            assert [client.object("encoding", f"qc:lengths:{kind}:{bucket}")
                    for kind in ("rows", "fetch", "state", "refs")] == [encoding, encoding, "listpack", "listpack"]
            assert store.reference_counts()["http://docs.example.org/library/section-1/topic-1.html"] == 1
            assert json.loads(store.get_url(ids[0]).fetch or "")["sha256"] == NGINX_FETCH["sha256"]  # type: ignore[union-attr]
            store.close()
    finally:
        client.config_set("hash-max-listpack-value", limit)


def test_redis_a_status_is_a_few_bytes_and_statuses_written_before_still_read() -> None:
    from crawler.scheduler.redis_store import _state_of, _state_text
    assert [_state_text("pending", 0, None), _state_text("leased", 1, None)] == ["p0", "l1"]
    assert _state_of(_state_text("failed", 3, "http-404")) == ("failed", 3, "http-404")
    assert _state_of(_state_text("skipped", 0, "robots")) == ("skipped", 0, "robots")
    assert _state_of(_state_text("done", 12, None)) == ("done", 12, None)
    assert _state_of('["leased",2,null]') == ("leased", 2, None)  # JSON, as schema 4 and before wrote it


def test_redis_a_crawl_of_the_earlier_layout_is_moved_once_and_carries_on(redis_server: RedisServer,
                                                                          caplog: pytest.LogCaptureFixture) -> None:
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

    with caplog.at_level(logging.WARNING, logger="crawler.scheduler.redis_store"):
        store = RedisStore(redis_server.url, "older", resume=True, fresh=False)
    assert len([message for message in caplog.messages if "moving" in message]) == 1  # one line says so
    assert client.hget("qc:older:meta", "schema") == "6"
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
    assert client.hlen("qc:older:rows:0") == 2 and not client.exists("qc:older:rows")
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
    assert client.hget("qc:sets:meta", "schema") == "6" and not client.exists("qc:sets:todo:http://s.test")
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
    assert client.hget("qc:ended:meta", "schema") == "6"
    assert [row.canonical for row in again.restore()] == ["http://e.test/p"]
    again.finish(url_id, UrlStatus.DONE, None, 1)
    again.commit()
    assert client.get("qc:ended:unfinished") == "0" and client.hlen("qc:ended:open_count") == 0
    again.close()


def test_redis_a_crawl_whose_rows_and_fetch_records_were_one_big_hash_each_is_moved_once(
        redis_server: RedisServer) -> None:
    # Schema 5 (written on 2026-12-05) kept every row in one hash, every fetch record (an object) in
    # another, every fetch time in a third and every count of references in a fourth, by URL. A
    # --resume moves rows, records and counts into their ids' blocks, and a re-crawl still tells
    # what was fetched before a time by the record's own time.
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    store = RedisStore(redis_server.url, "big", resume=False, fresh=True)
    old, recent = page(store, "http://g.test", "/old"), page(store, "http://g.test", "/recent")
    store.commit()
    store.close()
    rows = {str(url_id): client.hget("qc:big:rows:0", str(url_id)) for url_id in (old, recent)}
    client.delete("qc:big:rows:0")
    client.hset("qc:big:rows", mapping=rows)  # type: ignore[arg-type]
    client.hset("qc:big:fetch", mapping={str(old): json.dumps({**NGINX_FETCH, "at": 100.0}),
                                         str(recent): json.dumps({**NGINX_FETCH, "at": 900.0})})
    client.hset("qc:big:fetched_at", mapping={str(old): "100.0", str(recent): "900.0"})
    client.hset("qc:big:state:0", mapping={str(old): "d1", str(recent): "d1"})
    client.hset("qc:big:pages", mapping={"http://g.test/old": "3", "http://gone.test/x.png": "1"})  # by URL
    client.hset("qc:big:meta", "schema", "5")

    again = RedisStore(redis_server.url, "big", resume=True, fresh=False)
    assert client.hget("qc:big:meta", "schema") == "6"
    assert not client.exists("qc:big:rows", "qc:big:fetch", "qc:big:fetched_at", "qc:big:pages")
    assert sorted(again.canonicals()) == ["http://g.test/old", "http://g.test/recent"]
    assert again.reference_counts() == {"http://g.test/old": 3}
    assert again.start_recrawl(500.0, None) == (1, 0)  # fetched at 100, not at 900
    (row,) = again.restore()
    assert row.id == old and json.loads(row.fetch or "") == {**NGINX_FETCH, "at": 100.0}
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

"""What every crawl store must do (crawler/scheduler/store.py), run against each backend.

`reopen` stands for a scheduler restart: the SQLite and Redis stores are closed and opened again
with --resume; the in-memory one cannot outlive its process, so it is the same object (its
restore must still turn leased URLs pending). A new backend adds itself to BACKENDS. The Redis
backend runs against a real redis-server (tests/redis_server.py), never a mock.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from crawler.messages import Kind
from crawler.scheduler.sqlite_store import SqliteStore
from crawler.scheduler.store import CrawlStore, MemoryStore, UrlStatus, robots_key

Reopen = Callable[[CrawlStore], CrawlStore]


def _sqlite(tmp_path: Path) -> tuple[CrawlStore, Reopen]:
    def reopen(store: CrawlStore) -> CrawlStore:
        store.close()
        return SqliteStore(tmp_path, resume=True, fresh=False)
    return SqliteStore(tmp_path, resume=False, fresh=False), reopen


def _memory(tmp_path: Path) -> tuple[CrawlStore, Reopen]:
    return MemoryStore(), lambda store: store


def _redis(tmp_path: Path, request: pytest.FixtureRequest) -> tuple[CrawlStore, Reopen]:
    from crawler.scheduler.redis_store import RedisStore
    url = request.getfixturevalue("redis_server").url
    crawl = f"contract-{tmp_path.name}"[:64]

    def reopen(store: CrawlStore) -> CrawlStore:
        store.close()
        return RedisStore(url, crawl, resume=True, fresh=False)
    return RedisStore(url, crawl, resume=False, fresh=True), reopen


BACKENDS = {"sqlite": _sqlite, "memory": _memory, "redis": _redis}


@pytest.fixture(params=sorted(BACKENDS))
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[CrawlStore, Reopen]]:
    opener = BACKENDS[request.param]
    store, reopen = opener(tmp_path, request) if opener is _redis else opener(tmp_path)  # type: ignore[call-arg]
    opened = [store]

    def tracked_reopen(old: CrawlStore) -> CrawlStore:
        opened.append(reopen(old))
        return opened[-1]
    yield store, tracked_reopen
    opened[-1].close()


def _add(store: CrawlStore, path: str, kind: Kind = Kind.PAGE, **extra: object) -> int:
    url = f"http://a.test{path}"
    return store.add_url(url, url, kind, extra.get("depth", 0), extra.get("page_url"), 0,  # type: ignore[arg-type]
                         extra.get("found_as"), extra.get("words"))  # type: ignore[arg-type]


def test_a_new_url_is_pending_with_what_was_said_of_it(backend: tuple[CrawlStore, Reopen]) -> None:
    store, _ = backend
    first = _add(store, "/")
    image = _add(store, "/x.png", Kind.IMAGE, depth=1, page_url="http://a.test/", found_as="srcset")
    assert first != image
    row = store.get_url(image)
    assert row is not None
    assert (row.url, row.kind, row.depth, row.page_url, row.status, row.attempts, row.found_as) == (
        "http://a.test/x.png", "image", 1, "http://a.test/", "pending", 0, "srcset")
    assert store.get_url(10_000) is None


def test_lease_requeue_and_finish_change_status_and_attempts(backend: tuple[CrawlStore, Reopen]) -> None:
    store, _ = backend
    url_id = _add(store, "/")
    leased = store.lease(store.get_url(url_id))  # type: ignore[arg-type]
    assert (leased.status, leased.attempts) == ("leased", 1)
    assert store.get_url(url_id) == leased
    store.requeue(url_id, "http-503", 1)
    assert (store.get_url(url_id).status, store.get_url(url_id).attempts) == ("pending", 1)  # type: ignore[union-attr]
    store.lease(store.get_url(url_id))  # type: ignore[arg-type]
    store.finish(url_id, UrlStatus.FAILED, "http-503", 2)
    assert (store.get_url(url_id).status, store.get_url(url_id).attempts) == ("failed", 2)  # type: ignore[union-attr]
    with pytest.raises(ValueError):
        store.finish(url_id, UrlStatus.PENDING, None, 2)


def test_counts_are_by_kind_and_status(backend: tuple[CrawlStore, Reopen]) -> None:
    store, _ = backend
    page, _other, image = _add(store, "/"), _add(store, "/a"), _add(store, "/x.png", Kind.IMAGE)
    store.finish(page, UrlStatus.DONE, None, 1)
    store.finish(image, UrlStatus.SKIPPED, "too-small", 1)
    assert store.counts() == {("page", "done"): 1, ("page", "pending"): 1, ("image", "skipped"): 1}


def test_a_restart_restores_the_unfinished_oldest_first_and_leased_ones_pending(
        backend: tuple[CrawlStore, Reopen]) -> None:
    store, reopen = backend
    ids = [_add(store, f"/{n}") for n in range(4)]
    store.finish(ids[0], UrlStatus.DONE, None, 1)
    store.lease(store.get_url(ids[2]))  # type: ignore[arg-type]  # out when the scheduler died
    store.commit()
    store = reopen(store)
    restored = list(store.restore())
    assert [(row.id, row.status, row.attempts) for row in restored] == [
        (ids[1], "pending", 0), (ids[2], "pending", 1), (ids[3], "pending", 0)]
    assert store.get_url(ids[2]).status == "pending"  # type: ignore[union-attr]
    assert sorted(store.canonicals()) == [f"http://a.test/{n}" for n in range(4)]


def test_a_canonical_form_is_stored_once(backend: tuple[CrawlStore, Reopen]) -> None:
    store, _ = backend
    kept = _add(store, "/same")
    twin = _add(store, "/same")  # two keys with one hash: the frontier asked, the store refuses the second
    store.commit()
    assert store.get_url(kept) is not None and store.get_url(twin) is None
    assert list(store.canonicals()) == ["http://a.test/same"]


def test_stored_images_and_records_survive_a_restart_in_order(backend: tuple[CrawlStore, Reopen]) -> None:
    store, reopen = backend
    sha = "ab" * 32
    assert store.image_path_for(sha) is None
    store.record_image(sha, f"images/a.test/{sha}.png", json.dumps({"url": "u1", "bytes": 3}))
    store.record_image(sha, "images/b.test/other.png", json.dumps({"url": "u2", "bytes": 3}))  # the same bytes again
    store.record_failure(json.dumps({"url": "u3", "reason": "http-404"}))
    store.record_failure(json.dumps({"url": "u4", "reason": "http-410"}))
    assert store.image_path_for(sha) == f"images/a.test/{sha}.png"
    store.commit()
    store = reopen(store)
    assert store.image_path_for(sha) == f"images/a.test/{sha}.png"
    assert [record["url"] for record in store.records("manifest")] == ["u1"]
    assert [record["url"] for record in store.records("failures")] == ["u3", "u4"]
    with pytest.raises(ValueError):
        list(store.records("state"))


def test_robots_rules_and_the_origins_given_up_on(backend: tuple[CrawlStore, Reopen]) -> None:
    store, reopen = backend
    assert store.robots_text("http://a.test") == (False, None)
    store.set_robots("http://a.test", "User-agent: *\nDisallow: /private/\n")
    store.set_robots("http://b.test", None)  # no robots.txt there: everything allowed
    a_id, c_id, _d_id = (store.add_url(robots_key(origin), f"{origin}/robots.txt", Kind.ROBOTS, 0, None, 0)
                         for origin in ("http://a.test", "http://c.test", "http://d.test"))
    store.finish(a_id, UrlStatus.DONE, None, 1)  # a's was read (its rules recorded above)
    store.finish(c_id, UrlStatus.FAILED, "http-500", 3)  # c's failed for good; d's is still pending
    store.commit()
    store = reopen(store)
    assert store.robots_text("http://a.test") == (True, "User-agent: *\nDisallow: /private/\n")
    assert store.robots_text("http://b.test") == (True, None)
    assert list(store.finished_robots()) == ["http://c.test"]


def test_changes_before_and_after_a_commit_read_the_same(backend: tuple[CrawlStore, Reopen]) -> None:
    store, _ = backend
    ids = [_add(store, f"/{n}") for n in range(5)]
    store.commit()
    store.lease(store.get_url(ids[3]))  # type: ignore[arg-type]
    before = [store.get_url(url_id, ids[position + 1:]) for position, url_id in enumerate(ids)]
    store.commit()
    after = [store.get_url(url_id) for url_id in ids]
    assert before == after
    assert [row.status for row in after] == ["pending", "pending", "pending", "leased", "pending"]  # type: ignore[union-attr]


def test_a_url_is_found_by_its_canonical_form(backend: tuple[CrawlStore, Reopen]) -> None:
    store, reopen = backend
    url_id = _add(store, "/x.png", Kind.IMAGE)
    store.finish(url_id, UrlStatus.DONE, None, 1)
    store.commit()
    store = reopen(store)
    found = store.find_url("http://a.test/x.png")
    assert found is not None and (found.id, found.status) == (url_id, "done")
    assert store.find_url("http://a.test/nothing") is None


def test_forgotten_images_leave_the_manifest_and_may_be_stored_again(backend: tuple[CrawlStore, Reopen]) -> None:
    store, reopen = backend
    kept, gone = "ab" * 32, "cd" * 32
    store.record_image(kept, "images/a.test/kept.png", json.dumps({"url": "u1", "sha256": kept}))
    store.record_image(gone, "images/a.test/gone.png", json.dumps({"url": "u2", "sha256": gone}))
    store.commit()
    store = reopen(store)
    store.forget_images({gone})
    assert store.image_path_for(gone) is None and store.image_path_for(kept) == "images/a.test/kept.png"
    assert [record["url"] for record in store.records("manifest")] == ["u1"]
    store.record_image(gone, "images/a.test/gone.png", json.dumps({"url": "u2", "sha256": gone}))
    store.commit()
    store = reopen(store)
    assert [record["url"] for record in store.records("manifest")] == ["u1", "u2"]


def test_an_images_words_and_the_pages_that_referred_to_it_last(backend: tuple[CrawlStore, Reopen]) -> None:
    store, reopen = backend
    words = json.dumps({"alt": "A cat", "title": "", "caption": "Our cat"})
    image = _add(store, "/cat.png", Kind.IMAGE, page_url="http://a.test/", found_as="img", words=words)
    plain = _add(store, "/plain.png", Kind.IMAGE, page_url="http://a.test/")
    store.note_references(["http://a.test/cat.png", "http://a.test/plain.png"])
    store.note_references(["http://a.test/cat.png", "http://a.test/never-added.png"])  # not a URL of the crawl
    store.commit()
    assert store.reference_counts() == {"http://a.test/cat.png": 2, "http://a.test/plain.png": 1}
    store.note_references(["http://a.test/cat.png"])  # after a commit: counted on top of what is stored
    store.commit()
    store = reopen(store)
    assert store.get_url(image).words == words  # type: ignore[union-attr]
    assert store.get_url(plain).words is None  # type: ignore[union-attr]
    assert store.reference_counts() == {"http://a.test/cat.png": 3, "http://a.test/plain.png": 1}


def test_reference_counts_are_by_the_url_a_row_keeps(backend: tuple[CrawlStore, Reopen]) -> None:
    # The manifest names an image by the URL first found for it, not by its canonical form, and is
    # rewritten at the end of every run with these counts.
    store, reopen = backend
    store.add_url("http://a.test/dog.png?a=1&b=2", "http://A.test/dog.png?b=2&a=1#top", Kind.IMAGE, 1,
                  "http://a.test/", 0)
    store.note_references(["http://a.test/dog.png?a=1&b=2"] * 2)
    store.commit()
    assert reopen(store).reference_counts() == {"http://A.test/dog.png?b=2&a=1#top": 2}


def test_a_fetch_record_reads_back_as_it_was_noted(backend: tuple[CrawlStore, Reopen]) -> None:
    # What nginx sends, and records no server sends as usual (the Redis store writes the usual ones shorter).
    store, reopen = backend
    usual = {"etag": '"6ac63c7b-410b"', "last_modified": "Wed, 07 Oct 2026 12:35:07 GMT",
             "sha256": "70b1d8eff3dfd390ca6366deddacfecbfa15e350e418862dfc832605eacd46de", "bytes": 16651,
             "at": 1796504149.25, "max_age": "600"}
    records = [usual, {**usual, "last_modified": "Wednesday, 07-Oct-26 12:35:07 GMT"}, {"sha256": "x", "at": 2.0}]
    ids = [_add(store, f"/{n}") for n in range(len(records))]
    for url_id, record in zip(ids, records):
        store.finish(url_id, UrlStatus.DONE, None, 1)
        store.note_fetch(url_id, json.dumps(record), float(record["at"]))  # type: ignore[arg-type]
    store.commit()
    store = reopen(store)
    store.start_recrawl(None, None)
    assert [json.loads(store.get_url(url_id).fetch or "") for url_id in ids] == records  # type: ignore[union-attr]


def test_a_recrawl_leaves_what_its_server_said_is_still_fresh(backend: tuple[CrawlStore, Reopen]) -> None:
    store, reopen = backend
    fresh, stale, silent = (_add(store, path, Kind.IMAGE) for path in ("/fresh.png", "/stale.png", "/silent.png"))
    for url_id, noted in ((fresh, {"max_age": "1000"}), (stale, {"max_age": "100"}), (silent, {})):
        store.finish(url_id, UrlStatus.DONE, None, 1)
        store.note_fetch(url_id, json.dumps({**noted, "sha256": "aa", "bytes": 10, "at": 100.0}), 100.0)
    store.commit()
    store = reopen(store)
    assert store.start_recrawl(None, 600.0) == (2, 1)  # at 600, /fresh.png is fresh until 1100
    assert store.get_url(fresh).status == "done"  # type: ignore[union-attr]
    assert {row.id for row in store.restore()} == {stale, silent}
    assert store.start_recrawl(None, None) == (1, 0)  # --recrawl-fresh: asked too


def test_a_recrawl_decides_again_what_robots_txt_kept_it_from_asking_for(backend: tuple[CrawlStore, Reopen]) -> None:
    """robots.txt is read again, so what it forbade (or what was skipped because it could not be
    read) is asked for if it now allows it (before: skipped for good, whatever the site said since);
    what was fetched and not wanted stays skipped."""
    store, reopen = backend
    forbidden, unreadable, unwanted = (_add(store, path) for path in ("/private/a", "/b", "/c.txt"))
    store.finish(forbidden, UrlStatus.SKIPPED, "robots", 0)  # as the frontier drops them: no attempt
    store.finish(unreadable, UrlStatus.SKIPPED, "robots-unavailable", 0)
    store.finish(unwanted, UrlStatus.SKIPPED, "not-html", 1)
    store.commit()
    store = reopen(store)
    assert store.start_recrawl(None, None) == (2, 0)
    assert {row.id for row in store.restore()} == {forbidden, unreadable}
    assert store.get_url(unwanted).status == "skipped"  # type: ignore[union-attr]


def test_a_recrawl_makes_what_was_fetched_before_a_time_pending_with_its_last_fetch(
        backend: tuple[CrawlStore, Reopen]) -> None:
    store, reopen = backend
    robots = store.add_url(robots_key("http://a.test"), "http://a.test/robots.txt", Kind.ROBOTS, 0, None, 0)
    old, recent, failed, skipped, pending = (_add(store, path) for path in ("/old", "/recent", "/404", "/skip", "/p"))
    image = _add(store, "/x.png", Kind.IMAGE)
    store.set_robots("http://a.test", "User-agent: *\nDisallow: /private\n")
    for url_id, status in ((robots, UrlStatus.DONE), (old, UrlStatus.DONE), (recent, UrlStatus.DONE),
                           (failed, UrlStatus.FAILED), (skipped, UrlStatus.SKIPPED), (image, UrlStatus.DONE)):
        store.finish(url_id, status, None, 2)
    store.note_fetch(old, json.dumps({"etag": '"1"', "sha256": "aa", "bytes": 10, "at": 100.0}), 100.0)
    store.note_fetch(recent, json.dumps({"sha256": "bb", "bytes": 20, "at": 900.0}), 900.0)
    store.note_fetch(image, json.dumps({"sha256": "cc", "bytes": 30, "at": 100.0}), 100.0)
    assert store.fetched_hashes() == {"aa", "bb", "cc"}
    store.commit()
    store = reopen(store)
    # fetched before 500: /old and the image; never fetched: the failure; skipped and pending stay as they are
    assert store.start_recrawl(500.0, None) == (3, 0)
    rows = {row.url.rsplit("/", 1)[1]: row for row in store.restore()}
    assert set(rows) == {"robots.txt", "old", "404", "p", "x.png"}
    assert all((row.status, row.attempts) == ("pending", 0) for row in rows.values())
    assert json.loads(rows["old"].fetch or "{}")["etag"] == '"1"' and rows["404"].fetch is None  # type: ignore[union-attr]
    assert store.robots_text("http://a.test") == (False, None)  # asked for again
    assert store.get_url(recent).status == "done"  # type: ignore[union-attr]
    store.note_fetch(recent, None, 0.0)  # forgotten: the next request is not conditional
    store.commit()
    assert store.fetched_hashes() == set()  # nothing is done now but /recent, whose fetch is forgotten

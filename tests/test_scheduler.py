"""The scheduler's loop with in-memory queues and a clock of our own: no sockets, no processes.

A stand-in node thread takes tasks from the scheduler's task queue and answers on its result
queue as a real node would, so the tests see what the loop dispatches, in which order, and what
it records.
"""

from __future__ import annotations

import json
import queue
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from crawler import broker
from crawler.config import Limits, Politeness, SchedulerConfig, Scope
from crawler.messages import PROTOCOL_VERSION, Kind, Outcome, make_node_event, make_result, make_task
from crawler.output.report import summarize
from crawler.reasons import NOT_STARTED
from crawler.scheduler.loop import Scheduler, StopReason, _Taken, _tasks_in
from crawler.scheduler.records import CrawlRecords
from crawler.scheduler.sqlite_store import SqliteStore
from crawler.scheduler.store import CrawlStore, MemoryStore, UrlStatus, robots_key
from crawler.urls import canonical

SITE = "http://site.test"
PNG_SHA = "a" * 64


def pair(url: str) -> list[str]:
    return [url, canonical(url) or url]


def answer(task: dict, output: Path) -> dict:
    """What a node would report for `task` on a tiny site: / links to /a.html and shows /x.png
    (which it saves under `output`, as a node does); /a.html shows /x.png again."""
    url = task["url"]
    if task["kind"] == "robots":
        return dict(make_result(task, "n1", "fetched", status=404))
    if task["kind"] == "sitemap":  # the site has none
        return dict(make_result(task, "n1", "failed", reason="http-404", status=404))
    if url == f"{SITE}/":
        return dict(make_result(task, "n1", "fetched", links=[pair(f"{SITE}/a.html")],
                                images=[[*pair(f"{SITE}/x.png"), "img", "A sunset", "", "Dusk at sea"],
                                        [*pair(f"{SITE}/favicon.ico"), "favicon", "", "", ""]],
                                status=200))
    if url == f"{SITE}/a.html":  # fetched after /x.png was saved
        return dict(make_result(task, "n1", "fetched", links=[pair(f"{SITE}/gone.html")], status=200,
                                images=[[*pair(f"{SITE}/x.png"), "img", "Other words", "", ""]]))
    if url == f"{SITE}/gone.html":
        return dict(make_result(task, "n1", "failed", reason="http-404", status=404))
    if url == f"{SITE}/favicon.ico":
        return dict(make_result(task, "n1", "failed", reason="http-404", status=404))
    image = {"path": f"images/site.test/{PNG_SHA}.png", "sha256": PNG_SHA, "bytes": 10,
             "content_type": "image/png", "width": 1, "height": 1}
    (output / image["path"]).parent.mkdir(parents=True, exist_ok=True)
    (output / image["path"]).write_bytes(b"0123456789")
    return dict(make_result(task, "n1", "saved", image=image, status=200))


class FakeNode(threading.Thread):
    """Takes tasks one by one (as a node with one thread would) and records the order."""

    def __init__(self, scheduler: Scheduler) -> None:
        super().__init__(daemon=True)
        self.scheduler, self.order = scheduler, []
        self.done = threading.Event()

    def run(self) -> None:
        results = self.scheduler._results
        results.put(dict(make_node_event("hello", "n1", 1, [], 0)))
        while not self.done.is_set():
            if self.scheduler.bulletin.read().get("state") == "finished":  # as a node leaves: it says bye
                results.put(dict(make_node_event("bye", "n1", 1, [], len(self.order))))
                return
            try:
                task = self.scheduler._tasks.get(timeout=0.05)
            except queue.Empty:
                continue
            self.order.append(task["url"].removeprefix(SITE))
            result = answer(task, self.scheduler.config.output_dir)
            results.put([result])


def crawl(tmp_path: Path, store: CrawlStore | None = None, **options: object) -> tuple[Scheduler, FakeNode, object]:
    ticks = iter(range(1_000_000))
    config = SchedulerConfig(output_dir=tmp_path, authkey=b"k" * 32, seeds=(f"{SITE}/",),
                             scope=Scope(frozenset({"site.test"})),
                             politeness=Politeness(delay_seconds=0, per_host=1), **options)  # type: ignore[arg-type]
    scheduler = Scheduler(config, clock=lambda: next(ticks) * 0.001,  # 1 ms a look at the clock
                          store=store or MemoryStore())
    node = FakeNode(scheduler)
    node.start()
    try:
        summary = scheduler.run()
    finally:
        node.done.set()
        node.join()
    return scheduler, node, summary


@pytest.mark.parametrize("backend", ["sqlite", "redis"])
def test_failures_show_where_each_url_stands_after_a_recrawl(tmp_path: Path, backend: str,
                                                             request: pytest.FixtureRequest,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """A URL that fails again is listed once, with its latest record; one that answers now is no
    longer listed (before: the file and `crawler inspect` kept every run's records, so a broken
    link counted twice and a fixed one stayed "not saved")."""
    def store(resume: bool) -> CrawlStore:
        if backend == "redis":
            from crawler.scheduler.redis_store import RedisStore
            return RedisStore(request.getfixturevalue("redis_server").url, "failures-stand", resume=resume,
                              fresh=not resume)
        return SqliteStore(tmp_path, resume=resume, fresh=False)

    def standing() -> dict[str, tuple[str, str]]:
        records = [json.loads(line) for line in (tmp_path / "failures.jsonl").read_text().splitlines()]
        urls = [record["url"].removeprefix(SITE) for record in records]
        assert len(urls) == len(set(urls)), urls  # each URL once
        return {url: (record["outcome"], record["time"]) for url, record in zip(urls, records)}

    crawl(tmp_path, store(resume=False))
    first = standing()
    assert set(first) == {"/gone.html", "/favicon.ico", "/sitemap.xml"}
    crawl(tmp_path, store(resume=True), recrawl=True)  # /gone.html answers 404 again
    assert set(standing()) == set(first)
    assert [summary["count"] for reason, summary in summarize(tmp_path)["failures"].items()
            if reason == "failed: http-404"] == [1]

    def fixed(task: dict, output: Path, before=answer) -> dict:  # the broken link now leads to a page
        if task["url"] == f"{SITE}/gone.html":
            return dict(make_result(task, "n1", "fetched", status=200))
        return before(task, output)
    monkeypatch.setattr(sys.modules[__name__], "answer", fixed)
    crawl(tmp_path, store(resume=True), recrawl=True)
    assert standing() == {url: first[url] for url in ("/favicon.ico", "/sitemap.xml")}  # not asked again
    assert "failed: http-404" not in summarize(tmp_path)["failures"]


class _CountedReads(MemoryStore):
    """A MemoryStore that counts its reads of the reference counts."""

    reads = 0

    def reference_counts(self) -> dict[str, int]:
        self.reads += 1
        return super().reference_counts()


def test_a_new_images_record_reads_no_count_until_the_run_ends_which_writes_it(tmp_path: Path) -> None:
    # The count of pages that showed an image is exact when a run ends (pages fetched later show
    # images saved earlier). It was also read from the store for each new image, for an interim
    # figure: a Redis script call each on the scheduler's loop, a quarter of its CPU on a one-site crawl.
    store = _CountedReads()
    records = CrawlRecords(tmp_path, store)
    url = f"{SITE}/cat.png"
    key = canonical(url) or url
    url_id = store.add_url(key, url, Kind.IMAGE, 1, f"{SITE}/a.html", 0, found_as="img")
    store.note_references([key] * 2)  # shown on two pages before it was saved
    image = {"path": "images/site/" + "c" * 64 + ".png", "sha256": "c" * 64, "bytes": 10, "content_type": "image/png",
             "width": 1, "height": 1, "filename": None}
    records.image(store.get_url(url_id), image, "n1")  # type: ignore[arg-type]
    records.commit()
    assert store.reads == 0
    interim = json.loads((tmp_path / "manifest.jsonl").read_text())
    assert interim["pages"] == 1  # the page it was found on, until the run ends
    store.note_references([key])  # a third page, fetched later
    records.commit()
    records.settle()
    assert store.reads == 1  # one read for the whole manifest
    assert json.loads((tmp_path / "manifest.jsonl").read_text())["pages"] == 3


def test_a_failure_record_stands_while_its_url_stands_where_the_record_left_it(tmp_path: Path) -> None:
    store = MemoryStore()
    records = CrawlRecords(tmp_path, store)
    rows = {}
    for path, kind, status in [("/fixed.html", Kind.PAGE, UrlStatus.DONE), ("/cut.html", Kind.PAGE, UrlStatus.DONE),
                               ("/broken.html", Kind.PAGE, UrlStatus.FAILED),
                               ("/again.png", Kind.IMAGE, UrlStatus.PENDING),  # a re-check under way
                               ("/robots.txt", Kind.ROBOTS, UrlStatus.DONE)]:
        url = f"{SITE}{path}"
        key = robots_key(SITE) if kind == Kind.ROBOTS else canonical(url) or url
        url_id = store.add_url(key, url, kind, 0, None, 0)
        if status != UrlStatus.PENDING:
            store.finish(url_id, status, None, 1)
        rows[path] = store.get_url(url_id)
    for path, outcome in [("/fixed.html", Outcome.FAILED), ("/cut.html", Outcome.PARTIAL),
                          ("/broken.html", Outcome.FAILED), ("/again.png", Outcome.FAILED),
                          ("/robots.txt", Outcome.FAILED), ("/broken.html", Outcome.FAILED)]:
        records.failure(rows[path], outcome, "a reason", 1)
    records.commit()
    records.settle()
    lines = [json.loads(line) for line in (tmp_path / "failures.jsonl").read_text().splitlines()]
    # fetched since: gone; the page read in part and done: stays; the twice-failed link: once, its last
    assert [(r["url"].removeprefix(SITE), r["outcome"]) for r in lines] == [
        ("/cut.html", "partial"), ("/again.png", "failed"), ("/broken.html", "failed")]


@pytest.mark.parametrize("backend", ["memory", "sqlite", "redis"])
def test_scheduler_crawls_to_the_end_and_records_what_happened(tmp_path: Path, backend: str,
                                                               request: pytest.FixtureRequest) -> None:
    if backend == "redis":
        from crawler.scheduler.redis_store import RedisStore
        store: CrawlStore = RedisStore(request.getfixturevalue("redis_server").url, "scheduler-unit", resume=False,
                                       fresh=True)
    else:
        store = MemoryStore() if backend == "memory" else SqliteStore(tmp_path, resume=False, fresh=False)
    scheduler, node, summary = crawl(tmp_path, store)
    assert summary.reason == StopReason.FINISHED  # type: ignore[attr-defined]
    # robots.txt first, then the sitemap it could list, the page's image before the page it links to, the rest
    assert node.order[:4] == ["/robots.txt", "/sitemap.xml", "/", "/x.png"]
    assert set(node.order) == {"/robots.txt", "/sitemap.xml", "/", "/x.png", "/favicon.ico", "/a.html", "/gone.html"}
    counts = summary.counts  # type: ignore[attr-defined]
    assert (counts["pages/fetched"], counts["images/saved"], counts["pages/failed"]) == (2, 1, 1)
    manifest = [json.loads(line) for line in (tmp_path / "manifest.jsonl").read_text().splitlines()]
    assert [(r["url"], r["found_as"], r["page_url"]) for r in manifest] == [(f"{SITE}/x.png", "img", f"{SITE}/")]
    # The words of the first page that showed it; both pages counted, though the second came after the save.
    assert {field: manifest[0][field] for field in ("name", "alt", "title", "caption", "pages")} == {
        "name": "x.png", "alt": "A sunset", "title": None, "caption": "Dusk at sea", "pages": 2}
    failures = {json.loads(line)["url"]: json.loads(line) for line in (tmp_path / "failures.jsonl").read_text()
                .splitlines()}
    assert failures[f"{SITE}/gone.html"]["reason"] == "http-404"
    assert (failures[f"{SITE}/favicon.ico"]["outcome"], failures[f"{SITE}/favicon.ico"]["reason"]) == (
        "skipped", "no-favicon")
    # our guess at a sitemap is no failure of the site either
    assert (failures[f"{SITE}/sitemap.xml"]["outcome"], failures[f"{SITE}/sitemap.xml"]["reason"]) == (
        "skipped", "no-sitemap")


def test_a_crawl_started_over_keeps_no_figure_of_the_one_it_discarded(tmp_path: Path) -> None:
    # `--fresh` dropped the manifest and the failures but kept the runs' figures: `crawler inspect`
    # then said "5 images, 6 pages … in 2 runs", the images of the new crawl beside the pages of both.
    crawl(tmp_path, SqliteStore(tmp_path, resume=False, fresh=False))
    crawl(tmp_path, SqliteStore(tmp_path, resume=False, fresh=True))
    summary = summarize(tmp_path)
    assert (summary["runs"], summary["pages_fetched"], summary["images"]) == (1, 2, 1)
    crawl(tmp_path, SqliteStore(tmp_path, resume=True, fresh=False), recrawl=True)  # a crawl's runs still add up
    assert summarize(tmp_path)["runs"] == 2


def test_max_bytes_stops_the_crawl_once_that_much_is_saved(tmp_path: Path) -> None:
    # wget's --quota: a crawl capped by disk, not by a count of images of unknown sizes.
    _scheduler, _node, summary = crawl(tmp_path, limits=Limits(max_bytes=10))  # x.png is 10 bytes
    assert (summary.reason, summary.detail) == (StopReason.LIMIT, "--max-bytes 10 reached")  # type: ignore[attr-defined]
    assert summary.counts["bytes/saved"] == 10  # type: ignore[attr-defined]


def test_scheduler_ignores_answers_it_did_not_ask_for(tmp_path: Path) -> None:
    scheduler, _node, summary = crawl(tmp_path)
    forged = dict(make_result({"v": PROTOCOL_VERSION, "id": "1.1.not-this-run", "kind": "page", "url": f"{SITE}/",
                               "depth": 0, "page_url": None, "hops": 0}, "n1", "fetched"))
    scheduler._handle(forged, 0.0)  # after the crawl: a late or forged answer changes nothing
    assert scheduler.counts["results/ignored"] == 1
    assert summary.counts["pages/fetched"] == 2  # type: ignore[attr-defined]


# -- what an authenticated peer can send (issue: every message bounded) ----------------------------

SITE_SCOPE = Scope(frozenset({"site.test"}))


def idle_scheduler(tmp_path: Path, scope: Scope = SITE_SCOPE) -> Scheduler:
    config = SchedulerConfig(output_dir=tmp_path, authkey=b"k" * 32, seeds=(f"{SITE}/",), scope=scope,
                             politeness=Politeness(delay_seconds=0, obey_robots=False))
    return Scheduler(config, clock=lambda: 0.0, store=MemoryStore())


def image_task(scheduler: Scheduler, path: str) -> dict:
    url = f"{SITE}{path}"
    scheduler._frontier.add(url, canonical(url), Kind.IMAGE, 1, f"{SITE}/")
    task = scheduler._frontier.next_task(0.0)
    assert task is not None and task["url"] == url
    return dict(task)


def write_image(output: Path, path: str, size: int = 10) -> None:
    """What a node does before it says `saved`."""
    (output / path).parent.mkdir(parents=True, exist_ok=True)
    (output / path).write_bytes(b"x" * size)


def saved(task: dict, path: str, outcome: Outcome = Outcome.SAVED) -> dict:
    image = {"path": path, "sha256": PNG_SHA, "bytes": 10, "content_type": "image/png", "width": 1, "height": 1}
    return dict(make_result(task, "n1", outcome, image=image, status=200))


def test_a_batch_nested_thousands_deep_is_dropped_not_a_crash(tmp_path: Path) -> None:
    scheduler = idle_scheduler(tmp_path)
    nested: list = []
    for _ in range(5000):
        nested = [nested]
    scheduler._handle(nested, 0.0)  # before: RecursionError, and the scheduler exited 1
    scheduler._handle([{"v": PROTOCOL_VERSION, "type": "result", "task_id": nested}], 0.0)
    scheduler._watch_nodes(0.0)
    assert scheduler.counts["messages/malformed"] == 2


def test_a_batch_of_batches_costs_one_log_line(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    scheduler = idle_scheduler(tmp_path)
    with caplog.at_level("WARNING", logger="crawler.scheduler.loop"):
        scheduler._handle([[{"v": PROTOCOL_VERSION}] * 100] * 1000, 0.0)  # before: 100,000 warning lines
    assert len(caplog.records) == 1
    assert "dropped 1000 of the 1000 messages" in caplog.text
    assert scheduler.counts["messages/malformed"] == 1000


@pytest.mark.parametrize("claimed", ["manifest.jsonl", ".crawler/state.sqlite", f"images/other.test/{PNG_SHA}.png"])
def test_a_duplicate_never_deletes_a_file_the_scheduler_did_not_assign(tmp_path: Path, claimed: str) -> None:
    scheduler = idle_scheduler(tmp_path)
    first = image_task(scheduler, "/x.png")
    write_image(tmp_path, f"images/site.test/{PNG_SHA}.png")
    scheduler._handle(saved(first, f"images/site.test/{PNG_SHA}.png"), 0.0)
    scheduler._applier.collect_checked(0.0, wait_seconds=2)
    (tmp_path / claimed).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / claimed).write_text("keep me")
    second = image_task(scheduler, "/y.png")
    scheduler._handle(saved(second, claimed, Outcome.DUPLICATE), 0.0)
    assert (tmp_path / claimed).read_text() == "keep me"  # before: unlinked, and the crawl ended 0
    assert scheduler.counts["messages/malformed"] == 1
    assert scheduler._frontier.delayed == 1  # the URL goes out again, nothing recorded on that word
    assert scheduler.counts["images/saved"] == 1


def test_a_message_of_any_shape_is_refused_with_a_short_reason() -> None:
    from crawler.errors import BadMessage
    from crawler.messages import read_message
    nested: list = []
    for _ in range(5000):
        nested = [nested]
    v = PROTOCOL_VERSION
    good = dict(make_result(make_task("1.1.r", Kind.PAGE, f"{SITE}/", 0, None, 0), "n1", Outcome.FETCHED))
    for bad in ({**good, "withheld": -5},  # would lower the summary's count
                {"v": v, "type": "result", "task_id": "1.1.r", "outcome": [1]},  # unhashable: before, TypeError
                {"v": v, "type": nested}, {"v": v, "type": "heartbeat", "node": nested}):
        with pytest.raises(BadMessage) as caught:
            read_message(bad)
        assert len(str(caught.value)) < 200


def page_task(scheduler: Scheduler, path: str) -> dict:
    url = f"{SITE}{path}"
    scheduler._frontier.add(url, canonical(url), Kind.PAGE, 0, None)
    task = scheduler._frontier.next_task(0.0)
    assert task is not None and task["url"] == url
    return dict(task)


def failures_of(scheduler: Scheduler, tmp_path: Path) -> list[dict]:
    scheduler._applier.record_dropped()
    scheduler._records.commit()
    return [json.loads(line) for line in (tmp_path / "failures.jsonl").read_text().splitlines()]


def test_a_page_cut_at_the_size_cap_is_read_and_recorded_as_partial(tmp_path: Path) -> None:
    scheduler = idle_scheduler(tmp_path)
    task = page_task(scheduler, "/endless.html")
    scheduler._handle(dict(make_result(task, "n1", Outcome.FETCHED, links=[pair(f"{SITE}/next.html")],
                                       reason="truncated", status=200)), 0.0)
    assert [(r["url"], r["outcome"], r["reason"]) for r in failures_of(scheduler, tmp_path)] == [
        (f"{SITE}/endless.html", "partial", "truncated")]  # before: nothing said it was cut
    assert scheduler.counts["pages/partial"] == 1 and scheduler._frontier.seen(f"{SITE}/next.html")
    # a page of more references than a result holds (50,000) was read as far as they went, said nowhere
    scheduler = idle_scheduler(tmp_path / "crowded")
    crowded = page_task(scheduler, "/index-of-everything.html")
    scheduler._handle(dict(make_result(crowded, "n1", Outcome.FETCHED, reason="too-many-references", status=200)),
                      0.0)
    assert [(r["url"], r["outcome"], r["reason"]) for r in failures_of(scheduler, tmp_path / "crowded")] == [
        (f"{SITE}/index-of-everything.html", "partial", "too-many-references")]


def test_a_redirect_loop_ends_with_a_record(tmp_path: Path) -> None:
    scheduler = idle_scheduler(tmp_path)
    first = page_task(scheduler, "/a.html")
    scheduler._handle(dict(make_result(first, "n1", Outcome.REDIRECT, location=pair(f"{SITE}/b.html"))), 0.0)
    second = scheduler._frontier.next_task(0.0)
    assert second is not None and second["url"] == f"{SITE}/b.html"
    scheduler._handle(dict(make_result(second, "n1", Outcome.REDIRECT, location=pair(f"{SITE}/a.html"))), 0.0)
    assert [(r["url"], r["reason"]) for r in failures_of(scheduler, tmp_path)] == [
        (f"{SITE}/b.html", "redirect-loop")]  # before: the chain just stopped, said nowhere
    assert scheduler._frontier.is_empty()


def test_a_redirect_to_a_page_already_crawled_is_no_loop(tmp_path: Path) -> None:
    scheduler = idle_scheduler(tmp_path)
    home = page_task(scheduler, "/")
    scheduler._handle(dict(make_result(home, "n1", Outcome.FETCHED, status=200)), 0.0)
    old = page_task(scheduler, "/old.html")
    scheduler._handle(dict(make_result(old, "n1", Outcome.REDIRECT, location=pair(f"{SITE}/"))), 0.0)
    scheduler._applier.record_dropped()
    scheduler._records.commit()
    assert not (tmp_path / "failures.jsonl").read_text()


def test_a_seed_that_redirects_to_its_www_twin_is_crawled_there(tmp_path: Path) -> None:
    scheduler = idle_scheduler(tmp_path)
    seed = page_task(scheduler, "/")
    scheduler._handle(dict(make_result(seed, "n1", Outcome.REDIRECT, location=pair("http://www.site.test/"))), 0.0)
    landed = scheduler._frontier.next_task(0.0)
    assert landed is not None and landed["url"] == "http://www.site.test/"  # before: redirect-out-of-scope
    scheduler._handle(dict(make_result(landed, "n1", Outcome.FETCHED, status=200,
                                       links=[pair("http://www.site.test/gallery.html")])), 0.0)
    assert scheduler._frontier.seen(canonical("http://www.site.test/gallery.html"))


def queued(scheduler: Scheduler) -> dict[str, dict]:
    """Every task the scheduler hands out now, by URL."""
    tasks = {}
    while (task := scheduler._frontier.next_task(0.0)) is not None:
        tasks[task["url"]] = dict(task)
    return tasks


def test_a_link_straight_to_a_picture_on_another_site_is_fetched_as_an_image(tmp_path: Path) -> None:
    # A gallery's thumbnail often links to the full-size picture on a CDN or a photo host: a link out
    # of the pages' scope, it was dropped and said nowhere. One that only looked like a picture (a
    # wiki's page File:x.jpg) is a page: skipped, not a broken image.
    scheduler = idle_scheduler(tmp_path)
    picture, wiki = "https://cdn.test/full/1.JPG?w=2000", "https://wiki.test/wiki/File:Sea.jpg"
    links = [pair(f"{SITE}/next.html"), pair(picture), pair("https://cdn.test/about.html"), pair(wiki)]
    scheduler._handle(dict(make_result(page_task(scheduler, "/"), "n1", Outcome.FETCHED, links=links, status=200)),
                      0.0)
    tasks = queued(scheduler)
    assert {url: task["kind"] for url, task in tasks.items()} == {
        f"{SITE}/next.html": "page", picture: "image", wiki: "image"}
    assert scheduler._store.find_url(canonical(picture)).found_as == "link"  # type: ignore[union-attr]
    scheduler._handle(dict(make_result(tasks[wiki], "n1", Outcome.FAILED, reason="not-an-image", status=200)), 0.0)
    assert [(r["url"], r["outcome"], r["reason"]) for r in failures_of(scheduler, tmp_path)] == [
        (wiki, "skipped", "link-to-a-page")]
    # --same-host-images keeps them out, and the summary's count of off-site images says so
    scheduler = idle_scheduler(tmp_path / "same-host", Scope(frozenset({"site.test"}), same_host_images=True))
    scheduler._handle(dict(make_result(page_task(scheduler, "/"), "n1", Outcome.FETCHED, links=links, status=200)),
                      0.0)
    assert scheduler._frontier.next_task(0.0)["url"] == f"{SITE}/next.html"  # type: ignore[index]
    assert scheduler._frontier.next_task(0.0) is None and scheduler.counts["images/out-of-scope"] == 2
    # --no-parent keeps pages to a folder; a picture on the site outside it is an image all the same
    scheduler = idle_scheduler(tmp_path / "no-parent",
                               Scope(frozenset({"site.test"}), parent_prefixes=(f"{SITE}/gallery/",)))
    links = [pair(f"{SITE}/gallery/2.html"), pair(f"{SITE}/about.html"), pair(f"{SITE}/uploads/full/1.png")]
    scheduler._handle(dict(make_result(page_task(scheduler, "/gallery/"), "n1", Outcome.FETCHED, links=links,
                                       status=200)), 0.0)
    assert {url: task["kind"] for url, task in queued(scheduler).items()} == {
        f"{SITE}/gallery/2.html": "page", f"{SITE}/uploads/full/1.png": "image"}


def test_no_parent_keeps_to_a_seed_its_server_shows_is_a_folder(tmp_path: Path) -> None:
    # /gallery, redirected to /gallery/ as servers answer a folder named without its slash: --no-parent
    # kept to the folder above it (/), as for a file, and crawled the whole site.
    def scheduler(resume: bool) -> Scheduler:
        config = SchedulerConfig(output_dir=tmp_path, authkey=b"k" * 32, seeds=(f"{SITE}/gallery", f"{SITE}/x/a.html"),
                                 scope=Scope(frozenset({"site.test"}), parent_prefixes=(f"{SITE}/", f"{SITE}/x/")),
                                 politeness=Politeness(delay_seconds=0, per_host=100, obey_robots=False),
                                 resume=resume)
        return Scheduler(config, clock=lambda: 0.0)

    def links_from(crawl: Scheduler, task: dict, *paths: str) -> set[str]:
        crawl._handle(dict(make_result(task, "n1", Outcome.FETCHED, links=[pair(f"{SITE}{p}") for p in paths],
                                       status=200)), 0.0)
        return set(queued(crawl))

    first = scheduler(resume=False)
    first._start()
    seeds = queued(first)
    first._handle(dict(make_result(seeds[f"{SITE}/gallery"], "n1", Outcome.REDIRECT,
                                   location=pair("https://www.site.test/gallery/"))), 0.0)  # and to https, www
    folder = queued(first)["https://www.site.test/gallery/"]
    assert links_from(first, folder, "/gallery/2.html", "/about.html", "/x/b.html") == {
        f"{SITE}/gallery/2.html", f"{SITE}/x/b.html"}  # the other seed keeps its own folder
    first._store.close()  # as a stopped run leaves it
    # --resume does not ask for the seed again: what the state holds says it was a folder
    again = scheduler(resume=True)
    again._start()
    pending = queued(again)
    assert links_from(again, pending[f"{SITE}/gallery/2.html"], "/gallery/3.html", "/contact.html") == {
        f"{SITE}/gallery/3.html"}
    again._store.close()


def test_images_deny_keeps_out_are_counted_apart_from_another_sites(tmp_path: Path) -> None:
    # They were counted as off-site, and the summary said "3 off-site images skipped: add
    # --allow-domain site.test (or leave out --same-host-images)": the crawl's own host, and an
    # option not given.
    scheduler = idle_scheduler(tmp_path, Scope(frozenset({"site.test"}), deny_patterns=("thumbs",),
                                               same_host_images=True))
    images = [[*pair(url), "img", "", "", ""] for url in (f"{SITE}/thumbs/1.png", f"{SITE}/thumbs/1.png",
                                                          f"{SITE}/full/1.png", "https://cdn.test/2.png")]
    scheduler._handle(dict(make_result(page_task(scheduler, "/"), "n1", Outcome.FETCHED, images=images,
                                       status=200)), 0.0)
    assert set(queued(scheduler)) == {f"{SITE}/full/1.png"}
    assert (scheduler.counts["images/denied"], scheduler.counts["images/out-of-scope"]) == (1, 1)
    assert dict(scheduler._applier.out_of_scope_hosts) == {"cdn.test": 1}


def seed_and_linked_tasks(scheduler: Scheduler, linked_path: str) -> tuple[dict, dict]:
    """Tasks for the seed / and for a page it links to."""
    seed = page_task(scheduler, "/")
    scheduler._frontier.add(f"{SITE}{linked_path}", canonical(f"{SITE}{linked_path}"), Kind.PAGE, 1, f"{SITE}/")
    linked = scheduler._frontier.next_task(0.0)
    assert linked is not None
    return seed, dict(linked)


def warnings_in(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.levelname == "WARNING"]


def test_a_seed_that_redirects_out_of_scope_says_how_to_follow_it(tmp_path: Path,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    scheduler = idle_scheduler(tmp_path)
    seed, other = seed_and_linked_tasks(scheduler, "/moved.html")
    with caplog.at_level("WARNING"):
        for task, target in ((seed, "https://site.example/"), (other, "https://elsewhere.example/x")):
            scheduler._handle(dict(make_result(task, "n1", Outcome.REDIRECT, location=pair(target))), 0.0)
    assert [(r["url"], r["reason"]) for r in failures_of(scheduler, tmp_path)] == [
        (f"{SITE}/", "redirect-out-of-scope"), (f"{SITE}/moved.html", "redirect-out-of-scope")]
    assert warnings_in(caplog) == [  # one line, for the seed only
        f"scheduler: seed {SITE}/ redirects to https://site.example/, outside the crawl's scope; to crawl it, "
        "add --allow-domain site.example"]


@pytest.mark.parametrize(("outcome", "reason", "status", "said"), [
    # A site that refuses the crawler ended with "0 pages fetched (1 failed)" and nothing said why.
    (Outcome.FAILED, "http-403", 403, f"seed {SITE}/ failed: site.test:80 answered HTTP 403 (it may need a login: "
                                      "--cookies, --auth-file; or it refuses crawlers)"),
    # Cloudflare's bot check was "HTTP 403 (it may need a login …)": no login gets a crawler past it.
    (Outcome.FAILED, "bot-challenge", 403, f"seed {SITE}/ failed: site.test:80 answered with a bot check "
                                           "(Cloudflare's challenge, cf-mitigated), which only a browser running "
                                           "its script gets past: the site turns crawlers away (on a site of "
                                           "your own, let this crawler's User-Agent through in its Cloudflare "
                                           "settings)"),
    # A seed naming a text file, a PDF or a feed ended "0 pages fetched (1 skipped)", exit 4, no word why.
    (Outcome.SKIPPED, "not-html", 200, f"seed {SITE}/ is no web page (nor a picture or a sitemap): nothing to "
                                       "crawl from it"),
], ids=["failed", "bot-check", "no-page"])
def test_a_seed_that_comes_to_nothing_says_so_at_once(tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                                       outcome: Outcome, reason: str, status: int, said: str) -> None:
    scheduler = idle_scheduler(tmp_path)
    seed, linked = seed_and_linked_tasks(scheduler, "/a.html")
    with caplog.at_level("WARNING"):
        for task in (seed, linked):
            scheduler._handle(dict(make_result(task, "n1", outcome, reason=reason, status=status)), 0.0)
    assert warnings_in(caplog) == [f"scheduler: {said}"]  # one line, for the seed only
    assert scheduler._applier.seed_problems == [said]  # and again in the run's closing lines


def test_max_pages_holds_for_a_seed_list_longer_than_it(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # 100,000 seeds with --max-pages 50 fetched all 100,000 (100 s against a 404 server): seeds were never counted out.
    seeds = tuple(f"{SITE}/p{n}.html" for n in range(5))
    config = SchedulerConfig(output_dir=tmp_path, authkey=b"k" * 32, seeds=seeds, scope=SITE_SCOPE,
                             limits=Limits(max_pages=2), politeness=Politeness(delay_seconds=0, obey_robots=False))
    scheduler = Scheduler(config, clock=lambda: 0.0, store=MemoryStore())
    with caplog.at_level("WARNING"):
        scheduler._applier.add_seeds(seeds)
    assert [url for url in seeds if scheduler._frontier.seen(canonical(url) or url)] == list(seeds[:2])
    said = "seeds after the first 2 were not crawled (3 of the 5): --max-pages 2 counts seeds too"
    assert warnings_in(caplog) == [f"scheduler: {said}"]
    assert scheduler._applier.seed_problems == [said]  # and again in the run's closing lines


def test_max_pages_says_when_it_left_pages_out(tmp_path: Path) -> None:
    # A crawl cut short by --max-pages ended as one that had found no more (and a --resume then does nothing).
    config = SchedulerConfig(output_dir=tmp_path, authkey=b"k" * 32, seeds=(f"{SITE}/",), scope=SITE_SCOPE,
                             limits=Limits(max_pages=3), politeness=Politeness(delay_seconds=0, obey_robots=False))
    scheduler = Scheduler(config, clock=lambda: 0.0, store=MemoryStore())
    scheduler._applier.add_seeds(config.seeds)

    def fetched(*paths: str) -> bool:
        task = dict(scheduler._frontier.next_task(0.0))  # type: ignore[arg-type]
        links = [pair(f"{SITE}{path}") for path in paths]
        scheduler._handle(dict(make_result(task, "n1", Outcome.FETCHED, links=links, status=200)), 0.0)
        return scheduler._applier.pages_beyond_max_pages

    assert not fetched("/a.html", "/c.html")  # the seed: the limit reached, nothing left out yet
    assert not fetched("/", "/a.html", "https://elsewhere.test/x.html")  # seen, or out of scope
    assert fetched("/b.html")


def test_a_crawl_whose_nodes_all_left_says_how_to_start_one(tmp_path: Path,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    # The hint came once, at the start: a crawl whose every node was killed later waited in silence
    # (and, had none joined by 5 s, said "no crawler node has joined yet" of one that had).
    scheduler = idle_scheduler(tmp_path)
    scheduler.join_command = "crawler worker --connect 127.0.0.1:1 --authkey-file key"
    with caplog.at_level("WARNING"):
        scheduler._handle(dict(make_node_event("hello", "n1", 8, [], 0)), 1.0)
        scheduler._hint_join(10.0)  # a node is there: nothing to say
        scheduler._handle(dict(make_node_event("bye", "n1", 8, [], 3)), 20.0)
        for now in (20.0, 24.9, 25.0, 40.0):
            scheduler._hint_join(now)
    assert warnings_in(caplog) == ["scheduler: every crawler node has left; the crawl waits for one; start one "
                                   "with: crawler worker --connect 127.0.0.1:1 --authkey-file key"]


def test_a_node_known_to_have_died_gives_its_tasks_back_at_once(tmp_path: Path,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    # `crawler run` sees its worker process die. Before, the dead worker's tasks, and its host's
    # slots with them, waited --node-timeout (15 s) for heartbeats that could never come; so did
    # an interrupt, which finishes the tasks in flight. A task taken since the node's last
    # heartbeat (with a --delay, nearly every task it ever holds) was known to be its by nothing.
    scheduler = idle_scheduler(tmp_path)
    host, port = scheduler.listen()
    try:
        held, taken = image_task(scheduler, "/a.png"), image_task(scheduler, "/b.png")
        scheduler._handle(dict(make_node_event("heartbeat", "local-1", 8, [held["id"]], 0)), 1.0)
        scheduler._handle(dict(make_node_event("heartbeat", "local-2", 8, [], 0)), 1.0)
        scheduler._tasks.put(taken)
        link = broker.connect(host, port, b"k" * 32)
        assert [task["id"] for task in link.desk.take(10, 1.0, "local-1")] == [taken["id"]]
        scheduler.node_died("local-1")
        with caplog.at_level("WARNING"):
            scheduler._drain_results()
            scheduler._watch_nodes(2.0)  # 1 s after its last heartbeat
        assert warnings_in(caplog) == ["scheduler: node local-1 has died; taking back its 2 tasks"]
        assert scheduler._frontier.in_flight == 0 and set(scheduler._nodes) == {"local-2"}
        assert scheduler._frontier.delayed == 2  # to go out again after the backoff of a failed attempt
        # The server's thread of a connection the dead node left waiting in take() may still take a
        # task as it comes: nobody will run it, and it goes back at once, no attempt counted.
        late = image_task(scheduler, "/c.png")
        scheduler._tasks.put(late)
        assert [task["id"] for task in link.desk.take(10, 1.0, "local-1")] == [late["id"]]
        scheduler._drain_results()
        assert scheduler._frontier.in_flight == 0 and scheduler._frontier.next_task(3.0)["url"] == late["url"]
    finally:
        assert scheduler._served is not None
        scheduler._served.stop()


def test_a_node_says_when_one_of_its_processes_died(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # `crawler worker --processes 2` on another machine sees its second process die; the
    # scheduler waited --node-timeout for that process's heartbeats.
    scheduler = idle_scheduler(tmp_path)
    task = image_task(scheduler, "/a.png")
    scheduler._handle(dict(make_node_event("heartbeat", "box-p2", 8, [task["id"]], 0)), 1.0)
    with caplog.at_level("WARNING"):
        scheduler._handle(dict(make_node_event("died", "box-p2", 0, [], 0)), 2.0)  # sent by box-p1
        scheduler._watch_nodes(2.0)
    assert warnings_in(caplog) == ["scheduler: node box-p2 has died; taking back its 1 tasks"]
    assert scheduler._frontier.in_flight == 0 and not scheduler._nodes
    # The node restarted whole, with the same command: a new box-p2 says hello, and what it takes is its own
    scheduler._handle(dict(make_node_event("hello", "box-p2", 8, [], 0)), 3.0)
    scheduler._frontier.tick(9.0)  # the backoff is over
    again = scheduler._frontier.next_task(9.0)
    assert again is not None
    scheduler._handle(_Taken("box-p2", [again["id"]]), 9.0)
    assert scheduler._frontier.in_flight == 1 and scheduler._nodes["box-p2"].tasks == {again["id"]}


def test_what_a_node_holds_counts_what_it_took_less_what_it_answered(tmp_path: Path) -> None:
    # A node's takes are noted as its own at once (see the test above); its answers must take them
    # off again, or `crawler status` showed each node "holding" every task it took since its last
    # heartbeat (44 each at the end of a crawl with nothing in flight).
    scheduler = idle_scheduler(tmp_path)
    task = image_task(scheduler, "/x.png")
    scheduler._handle(dict(make_node_event("heartbeat", "n1", 8, [], 0)), 0.0)
    scheduler._handle(_Taken("n1", [task["id"]]), 0.0)
    assert scheduler._nodes["n1"].tasks == {task["id"]}
    write_image(tmp_path, f"images/site.test/{PNG_SHA}.png")
    scheduler._handle(saved(task, f"images/site.test/{PNG_SHA}.png"), 0.1)
    assert scheduler._nodes["n1"].tasks == set()
    assert [node["holding"] for node in scheduler._publish_status(0.2, "running")["nodes"]] == [0]


def test_two_node_processes_with_one_id_are_said_once_a_restart_is_not(tmp_path: Path,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    # `crawler worker --node-id box` copied onto two machines: the scheduler took the two for one
    # node (half their threads in its dispatch, one's silence hidden by the other's heartbeats) and
    # said nothing. Each node process now draws a token; two that take turns under one id are said.
    scheduler = idle_scheduler(tmp_path)

    def event(kind: str, node: str, instance: str, now: float) -> None:
        scheduler._handle(dict(make_node_event(kind, node, 8, [], 0, instance)), now)  # type: ignore[arg-type]

    with caplog.at_level("WARNING"):
        event("hello", "box", "a1", 0.0)
        event("hello", "box", "b2", 0.1)  # the second machine
        event("heartbeat", "box", "a1", 2.0)
        event("heartbeat", "box", "b2", 2.1)
        event("heartbeat", "box", "a1", 4.0)
        event("hello", "solo", "c3", 5.0)
        event("hello", "solo", "d4", 6.0)  # restarted: the first process is gone, and never heard again
        event("heartbeat", "solo", "d4", 8.0)
    assert warnings_in(caplog) == ["scheduler: two node processes call themselves box (--node-id): give each an "
                                   "id of its own; the crawl counts them as one node"]


def _robots_task_of_a_site(tmp_path: Path) -> tuple[Scheduler, dict]:
    config = SchedulerConfig(output_dir=tmp_path, authkey=b"k" * 32, seeds=(f"{SITE}/",),
                             scope=Scope(frozenset({"site.test"}), read_sitemaps=False),
                             politeness=Politeness(delay_seconds=0))
    scheduler = Scheduler(config, clock=lambda: 0.0, store=MemoryStore())
    scheduler._applier.add_seeds([f"{SITE}/"])
    robots = scheduler._frontier.next_task(0.0)
    assert robots is not None and robots["kind"] == "robots"
    return scheduler, dict(robots)


@pytest.mark.parametrize(("reason", "status", "elapsed", "timed"), [
    ("no-such-host", None, 0.002, False), ("connection-refused", None, 0.001, False),  # no server was reached
    ("ReadTimeout", None, 60.0, True), ("too-slow", None, 10.0, True),  # a server kept the slot that long
    ("http-503", 503, 0.2, True)])
def test_the_slowest_hosts_are_timed_on_what_reached_a_server(tmp_path: Path, reason: str, status: int | None,
                                                              elapsed: float, timed: bool) -> None:
    # Before, a host with no DNS name was listed among "slowest hosts" as 1 download of 0.00 s.
    scheduler, robots = _robots_task_of_a_site(tmp_path)
    scheduler._handle(dict(make_result(robots, "n1", Outcome.FAILED, reason=reason, status=status, elapsed=elapsed,
                                       retryable=True)), 0.0)
    assert scheduler._tracker.slowest_hosts() == (
        [{"origin": SITE, "downloads": 1, "mean_seconds": elapsed}] if timed else [])


def _one_page_in_flight(tmp_path: Path, delay: float,
                        clock: Callable[[], float] = lambda: 0.0) -> tuple[Scheduler, dict]:
    """A scheduler of one site (one request at a time, robots.txt not read) whose seed was handed
    out at 9.0, and /b waiting behind it; returns it and the seed's task."""
    config = SchedulerConfig(output_dir=tmp_path, authkey=b"k" * 32, seeds=(f"{SITE}/",),
                             scope=Scope(frozenset({"site.test"}), read_sitemaps=False),
                             politeness=Politeness(delay_seconds=delay, obey_robots=False, per_host=1))
    scheduler = Scheduler(config, clock=clock, store=MemoryStore())
    scheduler._applier.add_seeds([f"{SITE}/"])
    first = scheduler._frontier.next_task(9.0)
    assert first is not None
    scheduler._frontier.add(f"{SITE}/b", canonical(f"{SITE}/b"), Kind.PAGE, 1, f"{SITE}/")
    return scheduler, dict(first)


@pytest.mark.parametrize(("held", "gap_from"), [(0.0, 10.007), (0.02, 9.987), (5.0, 9.907)])  # the last: 0.1 s at most
def test_an_origins_gap_counts_from_the_response_not_from_a_result_the_node_held(tmp_path: Path, held: float,
                                                                                gap_from: float) -> None:
    # A node holds results for company where a --delay paces the crawl; the gap between one
    # response and the next request must not grow by what it held (before: 20 ms more a request).
    scheduler, first = _one_page_in_flight(tmp_path, 0.5)
    scheduler._handle(dict(make_result(first, "n1", Outcome.FETCHED, status=200, held=held)), 10.007)
    assert scheduler._frontier.next_task(gap_from + 0.5 - 0.03) is None  # a dispatch step before the gap ends
    asked = gap_from + 0.5 - 0.004  # in the step in which it ends: handed out, to start as it ends
    task = scheduler._frontier.next_task(asked)
    assert task is not None and asked + task["wait"] == pytest.approx(gap_from + 0.5)


def test_a_seed_its_robots_txt_forbids_says_so(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # Before: "0 pages fetched (1 skipped)", and nothing said the site asks crawlers to stay out.
    scheduler, robots = _robots_task_of_a_site(tmp_path)
    scheduler._handle(dict(make_result(robots, "n1", Outcome.FETCHED, status=200,
                                       robots_text="User-agent: *\nDisallow: /\n")), 0.0)
    assert scheduler._frontier.next_task(0.0) is None
    with caplog.at_level("WARNING"):
        assert [(r["url"], r["reason"]) for r in failures_of(scheduler, tmp_path)] == [(f"{SITE}/", "robots")]
    assert warnings_in(caplog) == [
        f"scheduler: seed {SITE}/ is disallowed by its site's robots.txt; skipped (--ignore-robots crawls "
        "a site of your own anyway)"]


def test_a_site_that_refuses_the_first_connection_is_not_asked_again(tmp_path: Path) -> None:
    # Documentation links its examples' dev servers (http://127.0.0.1:5000/): nothing listens there.
    # Before, its robots.txt was tried three times with backoff, which held the crawl's end ~5 s.
    scheduler, robots = _robots_task_of_a_site(tmp_path)
    scheduler._handle(dict(make_result(robots, "n1", Outcome.FAILED, reason="connection-refused",
                                       retryable=True)), 0.0)
    assert scheduler._frontier.next_task(60.0) is None and scheduler._frontier.is_empty()
    assert [(r["url"], r["reason"], r["attempts"]) for r in failures_of(scheduler, tmp_path)] == [
        (f"{SITE}/robots.txt", "connection-refused", 1), (f"{SITE}/", "robots-unavailable", 0)]


@pytest.mark.parametrize("reason", ["ConnectTimeout", "connection-reset", "http-503"])
def test_a_site_that_may_be_busy_is_asked_again(tmp_path: Path, reason: str) -> None:
    scheduler, robots = _robots_task_of_a_site(tmp_path)
    scheduler._handle(dict(make_result(robots, "n1", Outcome.FAILED, reason=reason, retryable=True)), 0.0)
    scheduler._frontier.tick(60.0)
    again = scheduler._frontier.next_task(60.0)
    assert again is not None and again["url"] == f"{SITE}/robots.txt"


def test_a_page_whose_connection_is_refused_once_its_site_answered_is_asked_again(tmp_path: Path) -> None:
    scheduler = idle_scheduler(tmp_path)  # the site answered before: a refused connection is a restart
    page = page_task(scheduler, "/a.html")
    scheduler._handle(dict(make_result(page, "n1", Outcome.FAILED, reason="connection-refused",
                                       retryable=True)), 0.0)
    scheduler._frontier.tick(60.0)
    again = scheduler._frontier.next_task(60.0)
    assert again is not None and again["url"] == f"{SITE}/a.html"


def test_a_saved_image_counts_only_once_the_shared_disk_shows_it(tmp_path: Path,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    scheduler = idle_scheduler(tmp_path)
    path = f"images/site.test/{PNG_SHA}.png"
    lost = image_task(scheduler, "/lost.png")
    scheduler._handle(saved(lost, path), 0.0)  # a node on another disk: nothing here
    scheduler._applier.collect_checked(0.0, wait_seconds=2)
    assert scheduler.counts["images/saved"] == 0  # before: counted, recorded, and the crawl ended 0
    assert scheduler.counts["images/not-on-disk"] == 1 and scheduler._frontier.delayed == 1
    assert "node 'n1' saved http://site.test/lost.png" in caplog.text and "not on the shared disk" in caplog.text
    shown_late = image_task(scheduler, "/later.png")
    write_image(tmp_path, path, size=9)  # not the size the node reported
    scheduler._handle(saved(shown_late, path), 0.0)
    scheduler._applier.collect_checked(0.0, wait_seconds=2)
    assert scheduler.counts["images/not-on-disk"] == 2 and "has 9 bytes, not the 10" in caplog.text
    whole = image_task(scheduler, "/whole.png")
    write_image(tmp_path, path)
    scheduler._handle(saved(whole, path), 0.0)
    assert scheduler._applier.checks_pending == 1 and scheduler.counts["images/saved"] == 0
    scheduler._applier.collect_checked(0.0, wait_seconds=2)
    assert scheduler.counts["images/saved"] == 1 and scheduler._applier.checks_pending == 0
    scheduler._records.commit()
    assert [json.loads(line)["url"] for line in (tmp_path / "manifest.jsonl").read_text().splitlines()] == [
        f"{SITE}/whole.png"]


def test_max_images_holds_when_more_images_are_answered_than_asked_for(tmp_path: Path) -> None:
    """Links that turn out to be pictures are not held back at dispatch: the count holds at the end."""
    config = SchedulerConfig(output_dir=tmp_path, authkey=b"k" * 32, seeds=(f"{SITE}/",),
                             scope=Scope(frozenset({"site.test"})), limits=Limits(max_images=1),
                             politeness=Politeness(delay_seconds=0, per_host=4, obey_robots=False))
    scheduler = Scheduler(config, clock=lambda: 0.0, store=MemoryStore())
    answers = []
    for number, path in enumerate(("/one.png", "/two.png")):
        task = page_task(scheduler, path)  # a link to a picture: a page task
        sha = f"{number}" * 64
        image = {"path": f"images/site.test/{sha}.png", "sha256": sha, "bytes": 10, "content_type": "image/png",
                 "width": 1, "height": 1}
        write_image(tmp_path, image["path"])
        answers.append(dict(make_result(task, "n1", Outcome.SAVED, image=image, status=200)))
    scheduler._handle(answers, 0.0)
    scheduler._applier.collect_checked(0.0, wait_seconds=2)
    while scheduler._applier.checks_pending:
        scheduler._applier.collect_checked(0.0, wait_seconds=2)
    assert scheduler.counts["images/saved"] == 1 and scheduler.counts["images/over-limit"] == 1
    assert scheduler._frontier.delayed == 1  # pending again, for a --resume
    assert len(list((tmp_path / "images" / "site.test").iterdir())) == 1  # its file is not left behind


def test_an_images_validators_are_kept_only_once_it_is_recorded(tmp_path: Path) -> None:
    # A scheduler killed between a node's "saved" and the disk check must fetch the image whole on
    # --resume; had its validators been kept, the request would be conditional, a 304 would say
    # "unchanged", and the image would never reach the manifest (it did, before this test).
    config = SchedulerConfig(output_dir=tmp_path, authkey=b"k" * 32, seeds=(f"{SITE}/",),
                             scope=Scope(frozenset({"site.test"})),
                             politeness=Politeness(delay_seconds=0, obey_robots=False))
    store = SqliteStore(tmp_path, resume=False, fresh=False)
    scheduler = Scheduler(config, clock=lambda: 0.0, store=store)
    path = f"images/site.test/{PNG_SHA}.png"
    task = image_task(scheduler, "/x.png")
    write_image(tmp_path, path)
    scheduler._handle({**saved(task, path), "validators": {"etag": '"1"', "sha256": PNG_SHA}}, 0.0)
    scheduler._records.commit()  # what a kill -9 now would leave
    assert store.find_url(f"{SITE}/x.png").fetch is None  # type: ignore[union-attr]
    scheduler._applier.collect_checked(0.0, wait_seconds=2)
    scheduler._records.commit()
    assert json.loads(store.find_url(f"{SITE}/x.png").fetch)["etag"] == '"1"'  # type: ignore[union-attr]
    scheduler._applier.close()
    store.close()


def test_one_origin_goes_out_in_chains_and_a_chain_handed_back_costs_no_attempt(tmp_path: Path) -> None:
    scheduler = idle_scheduler(tmp_path)  # --delay 0, per-host 2
    scheduler._handle(dict(make_node_event("hello", "n1", 8, [], 0)), 0.0)  # a node of 8 threads
    for n in range(12):
        url = f"{SITE}/{n}.png"
        scheduler._frontier.add(url, canonical(url), Kind.IMAGE, 1, f"{SITE}/")
    scheduler._dispatch(0.0)
    chains = [scheduler._tasks.get_nowait() for _ in range(scheduler._tasks.qsize())]
    assert [len(chain) for chain in chains] == [6, 6]  # two slots, the work shared between them
    first = chains[0]
    scheduler._handle(dict(make_result(first[0], "n1", Outcome.FAILED, reason="http-503", retryable=True,
                                       retry_after=30.0, status=503)), 0.0)
    for task in first[1:]:  # what the node did not start once the origin asked for a pause
        scheduler._handle(dict(make_result(task, "n1", Outcome.FAILED, reason=NOT_STARTED, retryable=True)), 0.0)
    assert scheduler.counts["tasks/handed-back"] == 5 and failures_of(scheduler, tmp_path) == []
    assert scheduler._frontier.next_tasks(0.0) == []  # the slot is free, but the origin pauses as asked
    scheduler._frontier.tick(30.0)
    attempts = {task["url"]: task["id"].split(".")[1] for task in scheduler._frontier.next_tasks(30.0)}
    assert attempts == {first[0]["url"]: "2", **{task["url"]: "1" for task in first[1:]}}  # no attempt lost


def test_with_nothing_in_flight_the_loop_waits_for_the_disks_word_not_for_an_answer(tmp_path: Path) -> None:
    # The end of every crawl: the last image is saved and its file is being checked. Before, the
    # loop waited on the result queue, where nothing could come, for its whole idle wait (50 ms).
    scheduler = idle_scheduler(tmp_path)
    task = image_task(scheduler, "/last.png")
    write_image(tmp_path, f"images/site.test/{PNG_SHA}.png")
    scheduler._handle(saved(task, f"images/site.test/{PNG_SHA}.png"), 0.0)
    assert scheduler._frontier.in_flight == 0 and scheduler._applier.checks_pending == 1
    scheduler._wait_for_work()
    assert scheduler._applier.checks_pending == 0 and scheduler.counts["images/saved"] == 1


def test_a_scheduler_that_stops_dispatching_says_so_to_the_nodes(tmp_path: Path) -> None:
    # Nodes read the bulletin and hand back what waits in their chains, so a --max-time or a Ctrl-C
    # ends once the tasks in hand are done, not whole chains of up to 8.
    clock = iter([0.0, 0.0, 10.0, 10.0, 10.0, 10.0])
    config = SchedulerConfig(output_dir=tmp_path, authkey=b"k" * 32, seeds=(f"{SITE}/",),
                             scope=Scope(frozenset({"site.test"})), limits=Limits(max_seconds=5),
                             politeness=Politeness(delay_seconds=0, obey_robots=False))
    scheduler = Scheduler(config, clock=lambda: next(clock, 10.0), store=MemoryStore())
    scheduler._start()
    assert scheduler.bulletin.read()["state"] == "running"
    scheduler._step(10.0)
    assert scheduler.bulletin.read()["state"] == "stopping"


@pytest.mark.parametrize(("stop", "stopping", "stopped"), [
    ("interrupt", "stopping: interrupted; finishing the tasks in flight (interrupt again to stop at once)",
     "interrupted: the tasks in flight are done"),
    ("max-time", "stopping: --max-time 5s reached; finishing the tasks in flight",
     "limit: --max-time 5s reached; the tasks in flight are done"),
])
def test_a_stop_is_announced_once_and_its_end_says_it_is_over(tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                                             stop: str, stopping: str, stopped: str) -> None:
    """The closing line told an interrupted crawl to "interrupt again to stop at once" after all had stopped."""
    limits = Limits(max_seconds=5) if stop == "max-time" else Limits()
    ticks = iter(range(1_000_000))  # a second a look at the clock
    config = SchedulerConfig(output_dir=tmp_path, authkey=b"k" * 32, seeds=(f"{SITE}/",),
                             scope=Scope(frozenset({"site.test"})), limits=limits,
                             politeness=Politeness(delay_seconds=0, obey_robots=False))
    scheduler = Scheduler(config, clock=lambda: float(next(ticks)), store=MemoryStore())
    if stop == "interrupt":
        scheduler.request_stop()
    with caplog.at_level("INFO", logger="crawler.scheduler.loop"):
        scheduler.run()
    said = [record.getMessage().removeprefix("scheduler: ") for record in caplog.records]
    assert said[-2:] == [stopping, stopped]


@pytest.mark.parametrize(("hosts", "limits", "chained"), [
    (1, Limits(), True),  # one host's 2 slots against 8 threads: its round trips are what the crawl waits for
    (4, Limits(), False),  # 4 hosts' 8 slots fill the 8 threads: tasks go one at a time
    (1, Limits(max_images=100), False),  # an image limit is counted a task at a time
])
def test_chains_go_out_only_where_slots_are_what_the_crawl_waits_for(tmp_path: Path, hosts: int, limits: Limits,
                                                                    chained: bool) -> None:
    config = SchedulerConfig(output_dir=tmp_path, authkey=b"k" * 32, seeds=(f"{SITE}/",), limits=limits,
                             scope=Scope(frozenset({f"h{n}.test" for n in range(hosts)})),
                             politeness=Politeness(delay_seconds=0, obey_robots=False))  # per-host 2
    scheduler = Scheduler(config, clock=lambda: 0.0, store=MemoryStore())
    scheduler._handle(dict(make_node_event("hello", "n1", 8, [], 0)), 0.0)
    for host in range(hosts):
        for n in range(12):
            url = f"http://h{host}.test/{n}.png"
            scheduler._frontier.add(url, canonical(url), Kind.IMAGE, 1, f"http://h{host}.test/")
    scheduler._dispatch(0.0)
    items = [scheduler._tasks.get_nowait() for _ in range(scheduler._tasks.qsize())]
    assert any(isinstance(item, list) for item in items) == chained


def test_a_crawl_a_delay_paces_hands_out_a_steps_tasks_together_each_to_start_as_its_gap_ends(
        tmp_path: Path) -> None:
    # 120 sites with --delay 0.5: each host's gap ended on its own, so the scheduler woke, dispatched
    # one task and a node took it, for nearly every request (7,500 takes for 8,400 tasks; 2,400 now).
    hosts = [f"http://h{n}.test" for n in range(5)]
    clock = [0.0]
    config = SchedulerConfig(output_dir=tmp_path, authkey=b"k" * 32, seeds=tuple(f"{host}/" for host in hosts),
                             scope=Scope(frozenset(f"h{n}.test" for n in range(5)), read_sitemaps=False),
                             politeness=Politeness(delay_seconds=0.5, obey_robots=False, per_host=1))
    scheduler = Scheduler(config, clock=lambda: clock[0], store=MemoryStore())
    scheduler._applier.add_seeds([f"{host}/" for host in hosts])
    scheduler._handle(dict(make_node_event("hello", "n1", 8, [], 0)), 0.0)
    scheduler._dispatch(0.0)
    firsts = [scheduler._tasks.get_nowait() for _ in range(scheduler._tasks.qsize())]
    assert len(firsts) == 5 and all(task["wait"] == 0 for task in firsts)
    for n, task in enumerate(firsts):  # answered 2 ms apart: the gaps end at 0.601, 0.603 … 0.609
        scheduler._frontier.add(f"{hosts[n]}/next", canonical(f"{hosts[n]}/next"), Kind.PAGE, 1, f"{hosts[n]}/")
        scheduler._handle(dict(make_result(task, "n1", Outcome.FETCHED, status=200)), 0.101 + 0.002 * n)
    assert scheduler._frontier.next_wake(0.2) == pytest.approx(0.6)  # the start of the step they end in
    scheduler._dispatch(0.5999)
    assert scheduler._tasks.qsize() == 0  # a step before: nothing
    scheduler._dispatch(0.6005)  # one round hands out all five, to start as each gap ends
    desk = broker.TaskDesk(scheduler._tasks, on_hand_out=scheduler._count_waits_from_now)
    clock[0] = 0.602  # taken 1.5 ms later: the waits count from then
    taken = desk.take(10, 0.0)
    assert [task["url"] for task in taken] == [f"{host}/next" for host in hosts]  # those to start first in front
    assert [round(0.602 + task["wait"], 6) for task in taken] == [0.602, 0.603, 0.605, 0.607, 0.609]


def test_a_result_read_late_in_a_round_counts_its_gap_from_when_it_was_read(tmp_path: Path) -> None:
    # A round reads up to 500 results, and each was handled as if it had come when the round began;
    # after a pile-up (a pause of the scheduler's, a burst of answers) an origin's gap ran from a
    # moment before its response ended, and its next request came that much early.
    # what the clock says as the result is read: the round began at 10.0
    scheduler, first = _one_page_in_flight(tmp_path, 0.5, clock=lambda: 10.3)
    scheduler._results.put(dict(make_result(first, "n1", Outcome.FETCHED, status=200)))
    scheduler._step(10.0)
    assert scheduler._tasks.qsize() == 0
    assert scheduler._frontier.next_task(10.77) is None  # before: from 10.0, handed out at 10.5
    task = scheduler._frontier.next_task(10.795)
    assert task is not None and 10.795 + task["wait"] == pytest.approx(10.8)


def test_with_no_delay_a_result_read_late_in_a_round_holds_nothing_back_from_its_dispatch(tmp_path: Path) -> None:
    # A result read at its own time moved its origin's next request to then even with no gap to
    # keep; the round's dispatch, timed at its start, handed nothing out, and nothing woke the
    # scheduler before its 50 ms idle poll (the scheduler ceiling fell from 6,600 to 4,400 tasks/s).
    scheduler, first = _one_page_in_flight(tmp_path, 0, clock=lambda: 10.3)
    scheduler._handle(dict(make_node_event("hello", "n1", 8, [], 0)), 9.0)
    scheduler._results.put(dict(make_result(first, "n1", Outcome.FETCHED, status=200)))
    scheduler._step(10.0)
    assert [task["url"] for task in _tasks_in(scheduler._tasks.get_nowait())] == [f"{SITE}/b"]

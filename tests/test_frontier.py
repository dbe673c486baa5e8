from pathlib import Path

import pytest

from crawler.config import Politeness
from crawler.errors import StateError
from crawler.messages import MAX_CHAIN_TASKS, Kind
from crawler.scheduler.frontier import DISPATCH_STEP_SECONDS, Frontier
from crawler.scheduler.robots import MAX_WILDCARD_RULES, RobotsRules, listed_sitemaps
from crawler.scheduler.sqlite_store import SqliteStore
from crawler.urls import canonical


def make(tmp_path: Path, *, delay: float = 0.0, per_host: int = 2, robots: bool = True,
         resume: bool = False) -> tuple[Frontier, SqliteStore]:
    state = SqliteStore(tmp_path, resume=resume, fresh=False)
    frontier = Frontier(state, Politeness(delay_seconds=delay, per_host=per_host, obey_robots=robots),
                        lease_seconds=30, max_attempts=3, backoff_seconds=1)
    return frontier, state


def add(frontier: Frontier, url: str, kind: Kind = Kind.PAGE) -> bool:
    return frontier.add(url, canonical(url), kind, 0, None)


def test_frontier_dedups_equivalent_urls(tmp_path: Path) -> None:
    frontier, _ = make(tmp_path, robots=False)
    assert add(frontier, "http://a.test/x")
    assert not add(frontier, "HTTP://A.TEST:80/x#frag")
    assert frontier.pending_count == 1


def test_frontier_fetches_robots_first_then_obeys_it(tmp_path: Path) -> None:
    frontier, _ = make(tmp_path)
    add(frontier, "http://a.test/private/x")
    add(frontier, "http://a.test/public")
    robots = frontier.next_task(0.0)
    assert robots is not None and robots["kind"] == "robots" and robots["url"] == "http://a.test/robots.txt"
    assert frontier.next_task(0.0) is None  # nothing else before robots.txt is known
    frontier.complete(robots["id"], 0.0)
    frontier.set_robots("http://a.test", "User-agent: *\nDisallow: /private/\n")
    task = frontier.next_task(0.0)
    assert task is not None and task["url"] == "http://a.test/public"
    assert [(d.row.url, d.outcome, d.reason) for d in frontier.dropped] == [
        ("http://a.test/private/x", "skipped", "robots")]


def test_frontier_a_robots_txt_too_costly_to_read_disallows_its_site(tmp_path: Path,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    # Each rule with a wildcard is a pattern search for every URL of its site, in the scheduler's one
    # thread: 15,000 of them (512 KiB holds that many) cost 62 ms a URL, so a chain of 32 tasks would
    # hold every other site's dispatch 2 s. Past MAX_WILDCARD_RULES the site is taken as disallowed,
    # and said so, rather than crawled against rules left unread.
    frontier, _ = make(tmp_path)
    add(frontier, "http://a.test/public")
    robots = frontier.next_task(0.0)
    assert robots is not None
    frontier.complete(robots["id"], 0.0)
    rules = "".join(f"Disallow: /*x*{n}*\n" for n in range(MAX_WILDCARD_RULES + 1))
    frontier.set_robots("http://a.test", "User-agent: *\n" + rules)
    assert frontier.next_task(0.0) is None
    dropped = [(d.row.url, d.outcome, d.reason) for d in frontier.dropped]
    assert dropped == [("http://a.test/public", "skipped", "robots")]
    assert f"http://a.test: its robots.txt holds {MAX_WILDCARD_RULES + 1} rules with wildcards" in caplog.text
    assert listed_sitemaps("Sitemap: http://a.test/s.xml\nUser-agent: *\n" + rules) == []  # nor its sitemaps read
    within = RobotsRules("User-agent: *\n" + "".join(f"Disallow: /*x*{n}*\n" for n in range(MAX_WILDCARD_RULES)))
    assert within.allows("http://a.test/public") and not within.allows("http://a.test/ax1b")


def test_robots_txt_names_us_by_our_product_token_whole_as_rfc_9309_reads_it() -> None:
    # A group is ours where its User-agent line's product token (its leading letters, "-" and "_",
    # as Google's parser takes it) is ours, in any case. Protego matched any start of our name
    # ("queue" took the rules of another robot as ours) and not our name with a version after it
    # ("queue-crawler/1.0", which a site writes for us, was read as another robot's).
    def allowed(group: str) -> bool:
        return RobotsRules(f"User-agent: *\nDisallow: /star\n\n{group}\nDisallow: /\n").allows("http://a.test/x")
    assert not allowed("User-agent: queue-crawler")
    assert not allowed("User-agent: Queue-Crawler")
    assert not allowed("User-agent: queue-crawler/1.0")
    assert not allowed("User-agent: queue-crawler (+https://example.com/bot)")
    assert not allowed("User-agent: other-bot\nUser-agent: QUEUE-CRAWLER/2")
    assert allowed("User-agent: queue")
    assert allowed("User-agent: queue-")
    assert allowed("User-agent: crawler")
    assert not RobotsRules("User-agent: queue\nDisallow: /\n\nUser-agent: *\nDisallow: /x\n").allows("http://a.test/x")


def test_robots_txt_written_with_a_byte_order_mark_is_read() -> None:
    # Editors on Windows (Notepad until 2019) save UTF-8 with a byte order mark, which Google's parser
    # skips. Its first line was no User-agent line: the group's rules were dropped, every URL allowed.
    rules = RobotsRules("\ufeffUser-agent: *\nDisallow: /private/\n")
    assert not rules.allows("http://a.test/private/x") and rules.allows("http://a.test/public")
    assert listed_sitemaps("\ufeffSitemap: http://a.test/s.xml\n") == ["http://a.test/s.xml"]


def test_frontier_politeness_delay(tmp_path: Path) -> None:
    frontier, _ = make(tmp_path, delay=2.0, per_host=2, robots=False)
    for n in range(5):
        add(frontier, f"http://a.test/{n}")
    add(frontier, "http://b.test/0")
    first = frontier.next_task(10.0)
    second = frontier.next_task(10.0)
    assert {first["url"], second["url"]} == {"http://a.test/0", "http://b.test/0"}  # type: ignore[index]
    frontier.complete(first["id"], 10.003)  # type: ignore[index]
    assert frontier.next_task(11.9) is None  # a.test waits for its delay
    third = frontier.next_task(12.003)
    assert third is not None and third["url"] == "http://a.test/1"
    assert frontier.next_task(100.0) is None  # in flight to a.test, which has a gap: one at a time
    frontier.complete(third["id"], 100.003)
    assert frontier.next_task(101.9) is None  # the gap runs from the last answer
    assert frontier.next_task(102.003) is not None


@pytest.mark.parametrize(("asked", "said", "gap"), [
    # said: a crawl that went at 0.2 tasks/s said nothing of why
    ("5", "scheduler: http://a.test asks for Crawl-delay 5s in its robots.txt: one request every 5s there "
          "(--delay 0.5s)", 5.0),
    # said in a short line: it was said with all of its 309 digits
    ("1e308", "scheduler: http://a.test asks for Crawl-delay 1e+308s; using 60s", 60.0),  # the gap is the cap
])
def test_frontier_crawl_delay_from_robots_raises_the_gap_and_is_said(tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                                                     asked: str, said: str, gap: float) -> None:
    frontier, _ = make(tmp_path, delay=0.5)
    add(frontier, "http://a.test/1")
    add(frontier, "http://a.test/2")
    robots = frontier.next_task(0.0)
    frontier.complete(robots["id"], 0.0)  # type: ignore[index]
    with caplog.at_level("INFO"):
        frontier.set_robots("http://a.test", f"User-agent: *\nCrawl-delay: {asked}\n")
    assert [r.getMessage() for r in caplog.records] == [said]
    task = frontier.next_task(1.0)
    assert task is not None
    frontier.complete(task["id"], 1.0)
    assert frontier.next_task(1.0 + gap - 0.1) is None and frontier.next_task(1.0 + gap) is not None


def test_frontier_expired_lease_is_retried_then_failed(tmp_path: Path) -> None:
    frontier, _ = make(tmp_path, robots=False)
    add(frontier, "http://a.test/x")
    now = 0.0
    for attempt in range(1, 4):
        task = frontier.next_task(now)
        assert task is not None and task["id"] == f"1.{attempt}.{frontier.run_id}"
        now += 31
        expired = frontier.tick(now)
        assert len(expired) == 1
        frontier.retry_or_fail(expired[0], "lease-expired", now)
        now += 10  # past any backoff
        frontier.tick(now)
    assert frontier.is_empty()
    assert [(d.outcome, d.reason, d.attempts) for d in frontier.dropped] == [("failed", "lease-expired", 3)]


def test_frontier_first_answer_wins_and_late_duplicates_are_ignored(tmp_path: Path) -> None:
    frontier, _ = make(tmp_path, robots=False)
    add(frontier, "http://a.test/x")
    first = frontier.next_task(0.0)
    expired = frontier.tick(100.0)
    frontier.retry_or_fail(expired[0], "lease-expired", 100.0)
    frontier.tick(200.0)
    second = frontier.next_task(200.0)
    assert second is not None and second["id"] != first["id"]  # type: ignore[index]
    row = frontier.complete(first["id"], 200.0)  # type: ignore[index] # the slow node answers after all
    assert row is not None
    frontier.finish(row)
    assert frontier.complete(second["id"], 200.0) is None  # the second answer finds the URL finished
    assert frontier.is_empty()


def test_frontier_resume_restores_seen_and_unfinished(tmp_path: Path) -> None:
    frontier, state = make(tmp_path, robots=False)
    for n in range(3):
        add(frontier, f"http://a.test/{n}")
    done = frontier.next_task(0.0)
    frontier.finish(frontier.complete(done["id"], 0.0))  # type: ignore[arg-type,index]
    frontier.next_task(0.0)  # leased when the scheduler "dies"
    state.commit()
    state.close()
    with pytest.raises(StateError, match="--resume"):
        SqliteStore(tmp_path, resume=False, fresh=False)
    again, _ = make(tmp_path, robots=False, resume=True)
    assert again.restore() == 2
    assert not add(again, "http://a.test/0")
    urls = {again.next_task(0.0)["url"], again.next_task(0.0)["url"]}  # type: ignore[index]
    assert urls == {"http://a.test/1", "http://a.test/2"}


def test_frontier_state_refuses_a_second_scheduler(tmp_path: Path) -> None:
    _frontier, running = make(tmp_path)
    with pytest.raises(StateError, match="another scheduler"):
        SqliteStore(tmp_path, resume=True, fresh=False)
    running.close()
    SqliteStore(tmp_path, resume=True, fresh=False).close()  # free again once the first one is gone


def test_frontier_a_site_whose_robots_txt_cannot_be_read_is_skipped_and_the_crawl_ends(tmp_path: Path) -> None:
    frontier, _ = make(tmp_path)
    add(frontier, "http://a.test/")
    add(frontier, "http://a.test/page")
    now = 0.0
    for _attempt in range(3):  # a.test never answers; each attempt of its robots.txt fails
        task = frontier.next_task(now)
        assert task is not None and task["url"] == "http://a.test/robots.txt"
        row = frontier.complete(task["id"], now)
        assert row is not None
        frontier.retry_or_fail(row, "connection-refused", now)
        now += 10.0
        frontier.tick(now)
    assert [(d.row.kind, d.outcome, d.reason, d.gave_up) for d in frontier.dropped] == [
        ("robots", "failed", "connection-refused", True)]
    assert frontier.next_task(now) is None  # before the fix: None for ever, with the URLs still pending
    skipped = {(d.row.url, d.outcome, d.reason) for d in frontier.dropped[1:]}
    assert skipped == {("http://a.test/", "skipped", "robots-unavailable"),
                       ("http://a.test/page", "skipped", "robots-unavailable")}
    assert frontier.is_empty()


def test_frontier_images_go_before_more_pages(tmp_path: Path) -> None:
    frontier, _ = make(tmp_path, robots=False, per_host=100)
    for n in range(3):
        add(frontier, f"http://a.test/page-{n}.html")  # links of a fetched page, found first
    add(frontier, "http://a.test/photo.jpg", Kind.IMAGE)  # its images, found after them
    frontier.add("http://a.test/site.css", canonical("http://a.test/site.css"), Kind.STYLESHEET, 0, None)
    order = [task["url"].rsplit("/", 1)[1] for task in iter(lambda: frontier.next_task(0.0), None)]
    assert order == ["photo.jpg", "site.css", "page-0.html", "page-1.html", "page-2.html"]


def test_frontier_pages_go_on_while_images_are_paused(tmp_path: Path) -> None:
    frontier, _ = make(tmp_path, robots=False, per_host=100)
    add(frontier, "http://a.test/photo.jpg", Kind.IMAGE)
    add(frontier, "http://a.test/page.html")
    task = frontier.next_task(0.0, allow_images=False)
    assert task is not None and task["url"] == "http://a.test/page.html"
    assert frontier.next_task(0.0, allow_images=False) is None
    assert frontier.next_task(0.0) is not None  # the image once images may go again


def test_frontier_an_answer_from_an_earlier_run_is_not_taken_for_another_url(tmp_path: Path) -> None:
    # A scheduler killed within 50 ms of adding a URL never committed it; after --resume the same
    # URL id names another URL, and a late answer to the killed run's task must not finish that one.
    killed, _ = make(tmp_path / "killed", robots=False)
    add(killed, "http://a.test/old.png", Kind.IMAGE)
    old_task = killed.next_task(0.0)
    resumed, _ = make(tmp_path / "resumed", robots=False)
    add(resumed, "http://a.test/new.png", Kind.IMAGE)  # the same URL id, another URL
    assert old_task is not None
    assert resumed.complete(old_task["id"], 1.0) is None
    task = resumed.next_task(1.0)
    assert task is not None and task["url"] == "http://a.test/new.png"  # still to fetch
    assert resumed.complete("1.1", 1.0) is None and resumed.complete("x.1.y", 1.0) is None  # forged ids


def _urls(tasks: list) -> list[str]:
    return [task["url"].rsplit("/", 1)[1] for task in tasks]


def test_frontier_says_when_politeness_next_lets_a_task_go(tmp_path: Path) -> None:
    # The scheduler sleeps until then: before, it woke only at its next 50 ms idle poll, so a
    # --delay 0.12 gap came out at 0.15 s and a --delay 0.03 one at 0.05 s. "Then" is the start of
    # the dispatch step in which the gap ends: that round hands the task out, with the rest as its wait.
    assert DISPATCH_STEP_SECONDS == 0.02  # the times below are steps of 20 ms
    frontier, _ = make(tmp_path, delay=0.123, robots=False)
    assert frontier.next_wake(0.0) is None  # nothing waits on time
    add(frontier, "http://a.test/0")
    add(frontier, "http://a.test/1")
    first = frontier.next_task(10.001)
    assert first is not None and first["wait"] == 0
    assert frontier.next_wake(10.001) == pytest.approx(10.12)  # its gap ends at 10.124
    frontier.complete(first["id"], 10.05)  # the gap runs from the answer too: to 10.173
    assert frontier.next_wake(10.05) == pytest.approx(10.16)
    assert frontier.next_task(10.159) is None  # a step that ends before the gap does
    second = frontier.next_task(10.161)
    assert second is not None and second["wait"] == pytest.approx(0.012)  # it starts as the gap ends
    assert frontier.next_wake(10.161) == pytest.approx(10.28)  # the gap after its start ends at 10.296
    assert frontier.next_wake(10.3) is None
    retried, _ = make(tmp_path / "retry", robots=False)
    add(retried, "http://b.test/0")
    task = retried.next_task(0.0)
    row = retried.complete(task["id"], 1.0)  # type: ignore[index]
    assert row is not None and retried.retry_or_fail(row, "timeout", 1.0)
    assert retried.next_wake(1.0) == pytest.approx(2.0)  # its backoff of 1 s ends then


def test_frontier_with_a_delay_has_one_request_of_an_origin_in_flight_the_next_a_gap_after_its_answer(
        tmp_path: Path) -> None:
    # With --per-host 2 a second task went out a gap after the first's dispatch while the first was
    # in flight; a node that started the first late put the two closer than the gap at the server
    # (120 sites, --delay 0.1: up to 180 of 8,280 requests under 90 ms after the one before, one 25 ms).
    frontier, _ = make(tmp_path, delay=0.1, robots=False, per_host=2)
    for n in range(3):
        add(frontier, f"http://a.test/{n}")
    first = frontier.next_task(10.001)
    assert first is not None and frontier.next_task(10.5) is None  # the gap is over, the first in flight
    frontier.complete(first["id"], 10.603)  # its answer: the node started it late
    assert frontier.next_task(10.675) is None
    second = frontier.next_task(10.701)
    assert second is not None and 10.701 + second["wait"] == pytest.approx(10.703)


def test_frontier_with_no_delay_a_busy_origin_goes_out_in_chains_that_each_hold_one_slot(tmp_path: Path) -> None:
    frontier, _ = make(tmp_path, robots=False, per_host=2)
    longest = MAX_CHAIN_TASKS
    for n in range(2 * longest + 4):
        add(frontier, f"http://a.test/{n}")
    first, second = frontier.next_tasks(0.0), frontier.next_tasks(0.0)
    assert _urls(first) == [str(n) for n in range(longest)]
    assert _urls(second) == [str(n) for n in range(longest, 2 * longest)]
    assert frontier.next_tasks(0.0) == [] and frontier.in_flight == 2 * longest  # both slots taken: the cap holds
    for task in first[:-1]:  # the node runs a chain in turn: its slot is taken until its last answer
        frontier.complete(task["id"], 1.0)
        assert frontier.next_tasks(1.0) == []
    frontier.complete(first[-1]["id"], 1.0)
    assert _urls(frontier.next_tasks(1.0)) == [str(n) for n in range(2 * longest, 2 * longest + 4)]
    # A chained task's lease runs from when those before it may have ended.
    assert [frontier._leases[task["id"]].expires for task in second] == [30.0 * n for n in range(1, longest + 1)]


def test_frontier_shares_what_waits_between_an_origins_free_slots(tmp_path: Path) -> None:
    frontier, _ = make(tmp_path, robots=False, per_host=3)
    for n in range(9):
        add(frontier, f"http://a.test/{n}")
    assert [len(frontier.next_tasks(0.0)) for _ in range(4)] == [3, 3, 3, 0]


def test_frontier_sends_no_chain_where_a_gap_is_kept_or_robots_txt_comes_first(tmp_path: Path) -> None:
    delayed, _ = make(tmp_path / "delay", delay=0.5, robots=False)
    for n in range(20):
        add(delayed, f"http://a.test/{n}")
    assert _urls(delayed.next_tasks(0.0)) == ["0"]
    unchained, _ = make(tmp_path / "asked", robots=False)
    for n in range(20):
        add(unchained, f"http://a.test/{n}")
    assert _urls(unchained.next_tasks(0.0, chain=False)) == ["0"]
    robots, _ = make(tmp_path / "robots")
    for n in range(20):
        add(robots, f"http://a.test/{n}")
    (robots_task,) = robots.next_tasks(0.0)
    assert _urls([robots_task]) == ["robots.txt"]
    assert robots.next_tasks(0.0) == []
    robots.complete(robots_task["id"], 0.0)
    robots.set_robots("http://a.test", "User-agent: *\nCrawl-delay: 1\n")  # its Crawl-delay is a gap too
    assert _urls(robots.next_tasks(0.0)) == ["0"]


def test_frontier_a_chain_taken_back_from_the_desk_goes_back_in_order_and_frees_its_slot(tmp_path: Path) -> None:
    frontier, state = make(tmp_path, robots=False, per_host=1)
    for n in range(3):
        add(frontier, f"http://a.test/{n}")
    chain = frontier.next_tasks(0.0)
    assert _urls(chain) == ["0", "1", "2"]
    for task in reversed(chain):  # as the scheduler takes back a chain no node has taken
        frontier.release(task["id"])
    assert frontier.in_flight == 0
    again = frontier.next_tasks(0.0)
    assert _urls(again) == ["0", "1", "2"] and [task["id"].split(".")[1] for task in again] == ["1", "1", "1"]


def test_frontier_says_once_when_a_site_asks_it_to_wait(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # A 429 or 503 with Retry-After pauses the whole site, up to 5 minutes; the crawl sat idle with
    # nothing in flight and no word of why. The pause is said once, not for every answer within it.
    frontier, _ = make(tmp_path, robots=False)
    for n in range(4):
        add(frontier, f"http://a.test/{n}")
    rows = []
    for _ in range(3):
        task = frontier.next_task(0.0)
        assert task is not None
        rows.append(frontier.complete(task["id"], 0.0))
    caplog.set_level("INFO", logger="crawler")
    frontier.retry_or_fail(rows[0], "http-503", 0.0, retry_after=2.0)  # a short one: the log need not say it
    frontier.retry_or_fail(rows[1], "http-429", 0.0, retry_after=1000.0)
    frontier.retry_or_fail(rows[2], "http-429", 1.0, retry_after=1000.0)  # within the pause: said already
    said = [record.getMessage() for record in caplog.records if "asks to wait" in record.getMessage()]
    assert said == ["scheduler: http://a.test asks to wait (http-429, Retry-After 1000s): nothing goes there "
                    "for 300s (the longest wait kept)"]
    assert frontier.next_task(299.0) is None and frontier.next_task(301.0) is not None

"""A node's threads, without a scheduler: counting under contention, and a feeder that fails."""

import sys
import threading
import time
from types import SimpleNamespace

import pytest

import crawler
from crawler.config import FetchLimits, ImageFilter, RequestOptions, WorkerConfig
from crawler.errors import BadMessage
from crawler.messages import PROTOCOL_VERSION, Outcome, make_result, make_task
from crawler.node import worker as worker_module
from crawler.node.worker import Worker, _Answer, _Chain
from crawler.reasons import NOT_STARTED

TASKS = 20_000


class _Handler:
    """Answers at once: every third task fails."""

    limits = FetchLimits()
    request_options = RequestOptions()

    def handle(self, task: dict, session: object) -> dict:
        return {"task_id": task["id"], "outcome": "failed" if int(task["id"]) % 3 == 0 else "saved",
                "retryable": False, "reason": None}


class _LockChecked(Worker):
    """Refuses a change of the shared counters made without the node's lock."""

    checking = False

    def __setattr__(self, name: str, value: object) -> None:
        if self.checking and name in ("done", "_busy"):
            assert self._held_changed._is_owned(), f"{name} changed without the lock"  # type: ignore[attr-defined]
        super().__setattr__(name, value)


def test_worker_counts_every_task_of_every_fetcher_thread() -> None:
    # CPython 3.11 happens not to switch threads inside `x += 1`; the lock is what makes it
    # right everywhere, so the test checks the lock is held, and the count under contention.
    worker = _LockChecked(WorkerConfig("127.0.0.1", 1, b"k", threads=8))
    worker.checking = True
    for number in range(0, TASKS, 4):  # chains of one to three tasks (of the same thread, in turn)
        for chain in ([number], [number + 1, number + 2, number + 3]):
            worker._inbox.put(_Chain([{"id": str(n), "cookies": 0, "wait": 0.0} for n in chain], 0.0))  # type: ignore[misc]
    for _ in range(8):
        worker._inbox.put(None)
    worker._unfinished = TASKS // 2  # chains: two for every four tasks
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: a lost += shows up
    try:
        threads = [threading.Thread(target=worker._fetch_loop, args=(_Handler(), None)) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert worker.done == TASKS and worker._unfinished == 0
    assert worker._busy == 0


def _run_one_chain(worker: Worker, handler: _Handler, length: int) -> list[dict]:
    """Run a chain of image tasks 1..length through one fetcher thread of `worker`; return its results."""
    chain = [dict(make_task(f"{n}", "image", f"http://a.test/{n}.png", 0, None, 0)) for n in range(1, length + 1)]
    worker._inbox.put(_Chain(chain, time.monotonic()))  # type: ignore[arg-type]
    worker._inbox.put(None)
    worker._unfinished = 1  # one chain
    worker._fetch_loop(handler, None)  # type: ignore[arg-type]
    answers = [worker._outbox.get_nowait() for _ in range(length)]
    assert [answer.ends_chain for answer in answers] == [False] * (length - 1) + [True]  # type: ignore[union-attr]
    return [answer.result for answer in answers]  # type: ignore[union-attr]


def test_worker_a_chain_stops_at_a_failure_worth_retrying_and_hands_the_rest_back_unfetched() -> None:
    worker = Worker(WorkerConfig("127.0.0.1", 1, b"k", threads=1))
    handled = []

    class _Busy(_Handler):
        def handle(self, task: dict, session: object) -> dict:
            handled.append(task["id"])
            retry = task["id"] == "2"  # e.g. a 503 or 429 with Retry-After: the origin wants a pause
            return {"task_id": task["id"], "outcome": "failed" if retry else "saved", "retryable": retry,
                    "reason": "http-503" if retry else None}

    results = _run_one_chain(worker, _Busy(), 4)
    assert handled == ["1", "2"]  # nothing more is requested from that origin
    assert [(r["task_id"], r["reason"], r["retryable"]) for r in results] == [
        ("1", None, False), ("2", "http-503", True), ("3", NOT_STARTED, True), ("4", NOT_STARTED, True)]
    assert worker.done == 2 and worker._unfinished == 0 and worker._busy == 0


def test_worker_a_stopping_crawl_ends_a_chain_after_the_task_in_hand() -> None:
    worker = Worker(WorkerConfig("127.0.0.1", 1, b"k", threads=1))
    handled = []

    class _Stopping(_Handler):
        def handle(self, task: dict, session: object) -> dict:
            handled.append(task["id"])
            worker._winding_down = True  # meanwhile the bulletin said "stopping" (--max-time, Ctrl-C)
            return {"task_id": task["id"], "outcome": "saved", "retryable": False, "reason": None}

    results = _run_one_chain(worker, _Stopping(), 3)
    assert handled == ["1"] and [r["reason"] for r in results] == [None, NOT_STARTED, NOT_STARTED]
    assert worker.done == 1 and worker._unfinished == 0 and worker._busy == 0


@pytest.mark.parametrize(("queued_for", "started_after"), [(0.0, 0.05), (0.03, 0.02), (0.2, 0.0)])
def test_worker_starts_a_task_no_sooner_than_its_wait_after_it_was_taken(queued_for: float,
                                                                        started_after: float) -> None:
    # The scheduler hands a task out up to a dispatch step before its origin's gap ends; its wait
    # counts from the take, and time it spent in the node's inbox counts towards it.
    worker = Worker(WorkerConfig("127.0.0.1", 1, b"k", threads=1))
    started: list[float] = []

    class _Timed(_Handler):
        def handle(self, task: dict, session: object) -> dict:
            started.append(time.monotonic())
            return {"task_id": task["id"], "outcome": "saved", "retryable": False, "reason": None}

    task = dict(make_task("1", "image", "http://a.test/1.png", 0, None, 0), wait=0.05)
    taken_at = time.monotonic() - queued_for
    worker._inbox.put(_Chain([task], taken_at))  # type: ignore[list-item]
    worker._inbox.put(None)
    worker._unfinished = 1
    worker._fetch_loop(_Timed(), None)  # type: ignore[arg-type]
    waited = started[0] - taken_at - queued_for  # from when it reached the fetcher
    assert started[0] - taken_at >= 0.05  # never before the gap ends
    assert started_after - 0.001 <= waited < started_after + 0.02, waited


def test_worker_learns_that_the_crawl_is_stopping_from_the_answer_to_its_report() -> None:
    # The bulletin is read every 0.1 s; on a fast site a chain ran on for dozens of images in that
    # time, and --max-bytes 20k saved 16 to 29 images past the quota where 16 fetchers were at work.
    worker = Worker(WorkerConfig("127.0.0.1", 1, b"k", threads=1))
    sent: list = []

    def put(message: object) -> str:
        sent.append(message)
        return "stopping"  # the scheduler reached a limit: it dispatches no more

    worker._link = SimpleNamespace(results=SimpleNamespace(put=put))  # type: ignore[assignment]
    result = make_result(make_task("1", "image", "http://a.test/1.png", 0, None, 0), worker.node_id, Outcome.SAVED)
    worker._outbox.put(_Answer(result, ends_chain=True, ended_at=time.monotonic()))
    worker._outbox.put(None)  # the one fetcher has ended
    worker._report_loop([threading.Thread()])
    assert sent == [[result]]
    assert worker._winding_down  # so a chain's next task goes back unstarted (the test above)


class _Slow(_Handler):
    """Takes `seconds` over each task; saves it."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def handle(self, task: dict, session: object) -> dict:
        time.sleep(self.seconds)
        return dict(make_result(task, "n1", Outcome.SAVED))  # type: ignore[arg-type]  # only its id is read


def _run_chains(worker: Worker, chains: list[tuple[_Handler, list[str]]]) -> list[tuple[list[str], float]]:
    """Run each chain (of tasks with these ids) on a fetcher thread of its own, with the reporter;
    return the task ids of each put() to the scheduler and when it came, from the start."""
    sent: list[tuple[list[str], float]] = []
    started = time.monotonic()
    worker._link = SimpleNamespace(results=SimpleNamespace(  # type: ignore[assignment]
        put=lambda batch: sent.append(([result["task_id"] for result in batch], time.monotonic() - started))))
    for _handler, ids in chains:  # each fetcher takes one: the first is busy with its chain when the next starts
        worker._inbox.put(_Chain([{"id": task_id, "cookies": 0, "wait": 0.0} for task_id in ids], 0.0))  # type: ignore[misc]
    for _chain in chains:
        worker._inbox.put(None)
    worker._unfinished = len(chains)
    fetchers = [threading.Thread(target=worker._fetch_loop, args=(handler, None)) for handler, _ids in chains]
    reporter = threading.Thread(target=worker._report_loop, args=(fetchers,))
    for thread in (*fetchers, reporter):
        thread.start()
    for thread in (*fetchers, reporter):
        thread.join(timeout=20)
    return sent


def test_worker_results_of_a_chain_that_goes_on_leave_together_and_the_last_at_once(monkeypatch) -> None:
    # A chain holds its origin's slot until its last result, so the results before it may wait for
    # company: one put() for the chain, where each result went alone (one put a task: a one-site
    # crawl's scheduler spent half its CPU on them). The last leaves at once, the wait unfinished.
    monkeypatch.setattr(worker_module, "_REPORT_GATHER_SECONDS", 30.0)
    worker = Worker(WorkerConfig("127.0.0.1", 1, b"k", threads=4))  # 3 fetchers idle: the node is not saturated
    sent = _run_chains(worker, [(_Slow(0.02), ["1", "2", "3", "4", "5"])])
    assert [ids for ids, _at in sent] == [["1", "2", "3", "4", "5"]]
    assert sent[0][1] < 10  # with the last result, not at the end of the wait


def test_worker_a_result_waiting_for_company_leaves_with_another_chains_last_result(monkeypatch) -> None:
    # Chain a's first result waits for a's end; chain b's only result ends a chain, whose slot the
    # scheduler frees when it arrives: it leaves at once, and a's waiting result with it.
    monkeypatch.setattr(worker_module, "_REPORT_GATHER_SECONDS", 30.0)
    worker = Worker(WorkerConfig("127.0.0.1", 1, b"k", threads=4))
    sent = _run_chains(worker, [(_Slow(0.2), ["a1", "a2", "a3"]), (_Slow(0.3), ["b1"])])
    assert [ids for ids, _at in sent] == [["a1", "b1"], ["a2", "a3"]]
    assert sent[-1][1] < 10


@pytest.mark.parametrize("paced_hold", [0.0, 0.02])
def test_worker_where_a_delay_paces_the_crawl_results_wait_for_company_and_say_how_long(paced_hold: float) -> None:
    # Each task alone, the node far from saturated: where a --delay paces every host (run() sets
    # the hold from the bulletin), a result waits up to 20 ms, so the next one leaves with it (one
    # put, where there were two: a crawl of 120 sites at --delay 0.5 cost the scheduler 1.3 ms a
    # request). Each result says how long it was held, which the scheduler takes off the gap.
    worker = Worker(WorkerConfig("127.0.0.1", 1, b"k", threads=4))
    worker._paced_hold = paced_hold
    sent: list[list[tuple[str, float]]] = []
    worker._link = SimpleNamespace(results=SimpleNamespace(  # type: ignore[assignment]
        put=lambda batch: sent.append([(result["task_id"], result["held"]) for result in batch])))
    reporter = threading.Thread(target=worker._report_loop, args=([threading.Thread()],))
    reporter.start()
    for task_id in ("a", "b"):
        result = make_result(make_task(task_id, "image", f"http://{task_id}.test/1.png", 0, None, 0), "n1",
                             Outcome.SAVED)
        worker._outbox.put(_Answer(result, ends_chain=True, ended_at=time.monotonic()))
        time.sleep(0.005)
    time.sleep(0.05)
    worker._outbox.put(None)
    reporter.join(timeout=5)
    assert [[task_id for task_id, _held in batch] for batch in sent] == (
        [["a", "b"]] if paced_hold else [["a"], ["b"]])
    held = [seconds for batch in sent for _task_id, seconds in batch]
    assert all(0 <= seconds < 0.1 for seconds in held)
    if paced_hold:
        assert held[0] >= 0.015 and held[0] > held[1]  # the first waited for the second


def test_worker_a_feeder_that_fails_stops_the_node_instead_of_leaving_it_idle_and_alive() -> None:
    worker = Worker(WorkerConfig("127.0.0.1", 1, b"k", threads=4))

    def take(count: int, timeout: float, taker: str) -> list:
        return [dict(make_task("1.1.r", "page", "http://a.test/", 0, None, 0))]  # a good answer

    worker._link = SimpleNamespace(desk=SimpleNamespace(take=take))  # type: ignore[assignment]
    worker._held = None  # type: ignore[assignment]  # a bug in the node's own bookkeeping
    worker._feed_loop()
    assert worker._stop.is_set()  # the main thread stops heartbeating and leaves with exit status 1
    assert [worker._inbox.get_nowait() for _ in range(4)] == [None] * 4  # every fetcher is told to end


def test_worker_a_chain_longer_than_the_room_still_leaves_room_for_other_chains() -> None:
    # A chain holds one fetcher however many tasks it has. Counted by its tasks, a chain of 20 filled
    # a 4-thread node's room of 8, and the node took nothing more until it was nearly done: with three
    # sites 20 ms away, the crawl ran on two of its six per-host slots.
    worker = Worker(WorkerConfig("127.0.0.1", 1, b"k", threads=4))
    asked: list[int] = []
    takers: list[str] = []
    chain = [dict(make_task(f"{n}", "image", f"http://a.test/{n}.png", 0, None, 0)) for n in range(20)]

    def take(count: int, timeout: float, taker: str) -> list:
        asked.append(count)
        takers.append(taker)
        if len(asked) > 1:
            worker._stop.set()
            return []
        return [chain]

    bulletin = SimpleNamespace(read=lambda: {"state": "running"})
    worker._link = SimpleNamespace(desk=SimpleNamespace(take=take), bulletin=bulletin)  # type: ignore[assignment]
    feeder = threading.Thread(target=worker._feed)
    feeder.start()
    feeder.join(timeout=5)
    worker._stop.set()
    with worker._held_changed:
        worker._held_changed.notify_all()
    feeder.join(timeout=5)
    assert asked == [8, 7]  # the room of 8, then 7 with the chain in hand
    assert takers == [worker.node_id] * 2  # so the scheduler knows what a node that dies held


def test_worker_a_stopping_crawl_starts_no_task_that_waits_in_the_node() -> None:
    # A limit reached (--max-bytes, --max-images, --max-time) or an interrupt: what is in hand still
    # lands, but the tasks a node held waiting (two a fetcher) were fetched too, and a --max-bytes
    # 20k crawl saved 33 kB (a flaky test showed it); they go back for a --resume now.
    worker = Worker(WorkerConfig("127.0.0.1", 1, b"k", threads=1))
    worker._winding_down = True  # the bulletin said "stopping" before the fetcher took it up
    handled = []

    class _Recording(_Handler):
        def handle(self, task: dict, session: object) -> dict:
            handled.append(task["id"])
            return {"task_id": task["id"], "outcome": "saved", "retryable": False, "reason": None}

    results = _run_one_chain(worker, _Recording(), 2)
    assert handled == [] and [r["reason"] for r in results] == [NOT_STARTED, NOT_STARTED]
    assert worker.done == 0 and worker._unfinished == 0 and worker._busy == 0


def _serve_a_crawl(tmp_path, state: str, results=None):  # type: ignore[no-untyped-def]
    """A scheduler's manager on 127.0.0.1 for a crawl in `state` saving to tmp_path: (served, key)."""
    import queue

    from crawler import broker
    from crawler.messages import PROTOCOL_VERSION
    from crawler.storage import mark_crawl

    crawl_id = mark_crawl(tmp_path, keep=False)
    key = broker.generate_authkey()
    bulletin = broker.Bulletin({"protocol": PROTOCOL_VERSION, "crawl_id": crawl_id, "state": state,
                                "output_dir": str(tmp_path), "fetch": FetchLimits().to_dict(),
                                "image_filter": ImageFilter().to_dict(), "request": RequestOptions().to_dict()})
    return broker.serve("127.0.0.1", 0, key, queue.Queue(), results or queue.Queue(), bulletin), key


def test_worker_a_node_that_joins_a_finished_crawl_leaves_at_once(tmp_path) -> None:
    # A node that connected as a small crawl ended went on to say hello and start its fetchers, and
    # when the scheduler's process was gone by its next call, it left with an error ("no scheduler
    # at ..."), though the crawl had finished well. The bulletin it reads first says so: it leaves.
    import queue

    results: queue.Queue = queue.Queue()
    served, key = _serve_a_crawl(tmp_path, "finished", results)
    try:
        worker = Worker(WorkerConfig(*served.address, key, threads=2, node_id="late"))
        assert worker.run() == 0
    finally:
        served.stop()
    assert results.empty()  # no hello: the scheduler waits for no node that never works


def test_worker_names_the_scheduler_it_reached_of_the_crawls_several(tmp_path, caplog) -> None:
    # `--connect A:PORT,B:PORT` with A down: the node reached B and said "connected to A:PORT"
    import logging

    from tests.integration.test_cli_errors import free_port

    served, key = _serve_a_crawl(tmp_path, "finished")
    down = free_port()
    try:
        worker = Worker(WorkerConfig("127.0.0.1", down, key, threads=1, node_id="two", alternates=(served.address,)))
        with caplog.at_level(logging.INFO, logger="crawler"):
            assert worker.run() == 0
    finally:
        served.stop()
    said = caplog.text
    assert f"the crawl at 127.0.0.1:{served.address[1]} is over" in said, said
    assert f"scheduler at 127.0.0.1:{down} not reachable" in said


def test_worker_asked_to_leave_before_it_reached_its_scheduler_leaves_quietly() -> None:
    # A --resume of a finished crawl: its scheduler ended before `crawler run`'s workers reached it;
    # they retried for 10 s, then each printed a traceback ("no scheduler at …"). Now the run asks
    # them to leave (SIGTERM), and a worker that never reached its scheduler has nothing to hand back.
    from tests.integration.test_cli_errors import free_port
    worker = Worker(WorkerConfig("127.0.0.1", free_port(), b"k" * 32, threads=1, reconnect_seconds=30))
    threading.Timer(0.3, worker.request_stop).start()
    started = time.monotonic()
    assert worker.run() == 0
    assert time.monotonic() - started < 5  # at once, not after the retries' 30 s


def test_worker_a_paused_crawl_whose_scheduler_leaves_is_no_warning(caplog) -> None:
    # An interrupted `crawler run` pauses the crawl, says so on the bulletin, and its scheduler leaves:
    # a node that read "paused" warned "lost the scheduler" as if something had gone wrong.
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    worker = Worker(WorkerConfig("127.0.0.1", port, b"k" * 32, threads=1, reconnect_seconds=0.1))
    worker._paused = True
    broken = object()
    worker._link = broken  # type: ignore[assignment]
    with caplog.at_level("INFO"):
        assert worker._reconnect(broken) is None  # type: ignore[arg-type]
    assert [r.levelname for r in caplog.records if r.levelname in ("WARNING", "ERROR")] == []
    assert any("paused" in r.getMessage() for r in caplog.records)


def test_worker_after_reconnecting_reads_the_cookie_jar_of_the_scheduler_it_reached(tmp_path) -> None:
    # Each scheduler counts its jar's versions from 0: a node that held version 7 of a scheduler
    # since restarted (or of another of the crawl's schedulers) took version 1 of the new one as old.
    served, key = _serve_a_crawl(tmp_path, "running")
    try:
        worker = Worker(WorkerConfig(*served.address, key, threads=1, node_id="back"))
        worker._output_dir = tmp_path
        worker._jar.catch_up(lambda: [7, 7, []], None)  # type: ignore[arg-type]  # an empty jar: no session needed
        broken = object()
        worker._link = broken  # type: ignore[assignment]
        assert worker._reconnect(broken) is not None  # type: ignore[arg-type]
        assert worker._jar.needs(1)
    finally:
        served.stop()


def test_worker_takes_the_crawls_cookies_in_before_a_chain_that_needs_them_reaches_a_fetcher() -> None:
    # The feeder reads the jar (on its own connection: a fetcher thread would open one more), so
    # the first request of the chain already carries the cookie another node was given.
    from crawler.node.fetcher import new_session

    worker = Worker(WorkerConfig("127.0.0.1", 1, b"k", threads=1))
    worker._session = new_session(FetchLimits())
    chain = [dict(make_task(f"{n}.1.r", "image", f"http://a.test/{n}.png", 0, "http://a.test/", 0), cookies=1)
             for n in (1, 2)]
    batches = [[chain], []]
    reads = []

    def cookies() -> list:
        reads.append(threading.current_thread().name)
        return [1, 1, [["a.test", "/", "session", "abc", False, None]]]

    worker._link = SimpleNamespace(desk=SimpleNamespace(take=lambda *_args: batches.pop(0)),  # type: ignore[assignment]
                                   bulletin=SimpleNamespace(cookies=cookies, read=lambda: {"state": "finished"}))
    worker._feed()
    assert worker._inbox.get_nowait().tasks == chain  # type: ignore[union-attr]
    assert [(c.name, c.value) for c in worker._session.cookies] == [("session", "abc")]
    assert reads == [threading.current_thread().name]  # once, by the feeder


def test_worker_a_scheduler_of_another_protocol_is_named_with_what_to_do() -> None:
    # It said "scheduler speaks protocol 13, this node 14", and not what to do about it.
    worker = Worker(WorkerConfig("127.0.0.1", 1, b"k", threads=1))
    link = SimpleNamespace(bulletin=SimpleNamespace(read=lambda: {"protocol": PROTOCOL_VERSION - 1}))
    worker._connect_with_retries = lambda: link  # type: ignore[method-assign, assignment, return-value]
    with pytest.raises(BadMessage) as caught:
        worker.run()
    assert str(caught.value) == (f"scheduler speaks protocol {PROTOCOL_VERSION - 1}, this node {PROTOCOL_VERSION}: "
                                 f"run one queue-crawler version on the scheduler and every node (this node's: "
                                 f"{crawler.__version__})")


def test_worker_short_of_threads_says_so_in_one_line_and_takes_no_task(tmp_path, monkeypatch) -> None:
    # `crawler run --threads 20000`: the machine ran out of threads; each worker died with a
    # RuntimeError traceback (after its feeder had taken tasks it would never fetch).
    import queue

    from crawler import broker
    from crawler.errors import CrawlerError
    from crawler.node import worker as worker_module
    from crawler.storage import mark_crawl
    from tests.threads_run_out import ThreadsRunOut

    crawl_id = mark_crawl(tmp_path, keep=False)
    key = broker.generate_authkey()
    tasks: queue.Queue = queue.Queue()
    tasks.put(dict(make_task("1", "image", "http://a.test/1.png", 0, None, 0)))
    results: queue.Queue = queue.Queue()
    bulletin = broker.Bulletin({"protocol": PROTOCOL_VERSION, "crawl_id": crawl_id, "state": "running",
                                "output_dir": str(tmp_path), "fetch": FetchLimits().to_dict(),
                                "image_filter": ImageFilter().to_dict(), "request": RequestOptions().to_dict()})
    served = broker.serve("127.0.0.1", 0, key, tasks, results, bulletin)
    monkeypatch.setattr(worker_module, "threading", ThreadsRunOut(1, allowed=3))
    try:
        worker = Worker(WorkerConfig(*served.address, key, threads=8, node_id="short"))
        with pytest.raises(CrawlerError) as caught:
            worker.run()
    finally:
        served.stop()
    assert str(caught.value) == ("could start only 3 of its 8 fetcher threads (can't start new thread): the machine "
                                 "is out of threads or memory; give it fewer --threads")
    assert tasks.qsize() == 1  # the task is still the crawl's to hand out
    said = [results.get_nowait()["type"] for _ in range(results.qsize())]
    assert said == ["hello", "bye"]  # the scheduler counts no node that is gone

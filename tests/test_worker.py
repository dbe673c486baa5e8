"""A node's threads, without a scheduler: counting under contention, and a feeder that fails."""

import sys
import threading
from types import SimpleNamespace

from crawler.config import FetchLimits, RequestOptions, WorkerConfig
from crawler.messages import make_task
from crawler.node.worker import Worker

TASKS = 20_000


class _Handler:
    """Answers at once: every third task fails."""

    limits = FetchLimits()
    request_options = RequestOptions()

    def handle(self, task: dict, session: object) -> dict:
        return {"task_id": task["id"], "outcome": "failed" if int(task["id"]) % 3 == 0 else "saved"}


class _LockChecked(Worker):
    """Refuses a change of the shared counters made without the node's lock."""

    checking = False

    def __setattr__(self, name: str, value: object) -> None:
        if self.checking and name in ("done", "failed"):
            assert self._held_changed._is_owned(), f"{name} changed without the lock"  # type: ignore[attr-defined]
        super().__setattr__(name, value)


def test_worker_counts_every_task_of_every_fetcher_thread() -> None:
    # CPython 3.11 happens not to switch threads inside `x += 1`; the lock is what makes it
    # right everywhere, so the test checks the lock is held, and the count under contention.
    worker = _LockChecked(WorkerConfig("127.0.0.1", 1, b"k", threads=8))
    worker.checking = True
    for number in range(TASKS):
        worker._inbox.put({"id": str(number)})  # type: ignore[arg-type]
    for _ in range(8):
        worker._inbox.put(None)
    worker._unfinished = TASKS
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: a lost += shows up
    try:
        threads = [threading.Thread(target=worker._fetch_loop, args=(_Handler(),)) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert worker.done == TASKS and worker.failed == len(range(0, TASKS, 3)) and worker._unfinished == 0


def test_worker_a_feeder_that_fails_stops_the_node_instead_of_leaving_it_idle_and_alive() -> None:
    worker = Worker(WorkerConfig("127.0.0.1", 1, b"k", threads=4))

    def take(count: int, timeout: float) -> list:
        return [dict(make_task("1.1.r", "page", "http://a.test/", 0, None, 0))]  # a good answer

    worker._link = SimpleNamespace(desk=SimpleNamespace(take=take))  # type: ignore[assignment]
    worker._held = None  # type: ignore[assignment]  # a bug in the node's own bookkeeping
    worker._feed_loop()
    assert worker._stop.is_set()  # the main thread stops heartbeating and leaves with exit status 1
    assert [worker._inbox.get_nowait() for _ in range(4)] == [None] * 4  # every fetcher is told to end

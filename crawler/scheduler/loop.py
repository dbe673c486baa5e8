"""The scheduler's loop: start, then one step after another (read answers, watch nodes, dispatch,
commit, publish), then shut down. What an answer changes is results.py's; what is remembered is
the crawl store's.

It is the only writer of crawl state and of the manifest. It never fetches anything itself.
"""

from __future__ import annotations

import logging
import platform
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from crawler import broker
from crawler.config import TASKS_HELD_PER_THREAD, SchedulerConfig
from crawler.errors import BadMessage, StorageError
from crawler.messages import PROTOCOL_VERSION, Kind, NodeEvent, read_message
from crawler.scheduler.cookies import SharedCookies
from crawler.scheduler.frontier import Frontier
from crawler.scheduler.hosts import HostSync
from crawler.scheduler.records import CrawlRecords
from crawler.scheduler.results import ResultApplier
from crawler.scheduler.sqlite_store import SqliteStore
from crawler.scheduler.status import StatusTracker, status_line
from crawler.scheduler.store import CrawlStore
from crawler.storage import check_writable, mark_crawl, remove_temporaries
from crawler.units import seconds_option, size_option
from crawler.urls import canonical

log = logging.getLogger(__name__)

_IDLE_WAIT_SECONDS = 0.05  # how long the loop blocks on the result queue when there is nothing to do
_LEAST_WAIT_SECONDS = 0.0005  # a wait for a gap's end is never shorter (the clock's and the wake's grain)
_COMMIT_SECONDS = 0.05  # how often state is committed and records appended
_MAX_RESULTS_PER_ROUND = 500  # then dispatch again, so a flood of results cannot starve the nodes
_BYE_WAIT_SECONDS = 5.0  # after the end, how long to wait for nodes to notice and say goodbye
_NO_NODE_HINT_SECONDS = 5.0  # a crawl with no node this long says how to start one
_CHECK_WAIT_SECONDS = 10.0  # at the end, how long saved files may take to show (a slow network disk)
_PAUSE_NOTICE_SECONDS = 0.5  # after an interrupt, time for nodes (polling every 0.1 s) to read "paused"
_REFILL = object()  # put on the result queue when a node emptied the task queue: wakes the loop
_MAX_INSTANCES_KEPT = 8  # process tokens remembered per node id (restarts add one each)


@dataclass(frozen=True)
class _Taken:
    """Put on the result queue by the desk (in this process): which node took which tasks."""

    node_id: str
    task_ids: list[str]


@dataclass(frozen=True)
class _Died:
    """Put on the result queue by node_died (in this process): a node's process has ended. In that
    queue, what was taken in its name before comes before it, and what was taken after, after."""

    node_id: str


@dataclass
class _Node:
    node_id: str
    threads: int
    last_seen: float
    done: int = 0
    tasks: set[str] = field(default_factory=set)  # what its last heartbeat said it holds
    instance: str = ""  # the token of the process last heard under this id
    instances: set[str] = field(default_factory=set)  # those heard before: one back again is a twin
    twin_said: bool = False


class StopReason(str, Enum):
    """Why a scheduler run ended."""

    FINISHED = "finished"  # nothing pending, nothing in flight
    LIMIT = "limit"  # --max-time, --max-images or --max-bytes reached; what is pending stays for --resume
    INTERRUPTED = "interrupted"  # Ctrl-C or SIGTERM: the tasks in flight were finished
    INTERRUPTED_TWICE = "interrupted twice"  # stopped at once; tasks in flight go out again on --resume


@dataclass
class Summary:
    """How a scheduler run ended, for the closing paragraph and the exit code."""

    reason: StopReason
    detail: str  # the limit reached, for LIMIT ("--max-images 20 reached")
    seconds: float
    counts: dict[str, int] = field(default_factory=dict)  # this run's
    pending: int = 0
    output_dir: Path = Path()
    out_of_scope_hosts: list[str] = field(default_factory=list)  # hosts of images the scope kept out, most first
    earlier_images: int = 0  # saved by earlier runs of a resumed crawl
    earlier_bytes: int = 0
    seed_problems: list[str] = field(default_factory=list)  # seeds that came to nothing, and why
    # (origin, images) for the origins whose robots.txt disallowed images the pages show, most first (3)
    robots_disallowed_images: list[tuple[str, int]] = field(default_factory=list)
    trap_example: str | None = None  # the first link left out as a crawler trap
    max_page_bytes: int = 0  # where pages were cut (--max-page-bytes)
    max_pages_reached: int | None = None  # --max-pages, where pages in scope were found beyond it
    max_image_bytes: int = 0  # what larger images were refused at (--max-image-bytes)
    max_depth_reached: int | None = None  # --max-depth, where pages in scope were found deeper
    nothing_to_resume: bool = False  # a --resume found the crawl finished, and was given nothing new
    # one of several schedulers of a crawl (Redis) that dispatched nothing: its sites were the others'
    idle_in_shared_crawl: bool = False

    @property
    def finished(self) -> bool:
        """The crawl ran out of work or reached a limit (not interrupted)."""
        return self.reason in (StopReason.FINISHED, StopReason.LIMIT)


def open_store(config: SchedulerConfig) -> CrawlStore:
    """The crawl store the configuration names: Redis with --state, else SQLite in the output directory."""
    if config.state_url is not None and config.crawl_name is not None:
        from crawler.scheduler.redis_store import RedisStore  # redis-py is imported only for a Redis crawl
        return RedisStore(config.state_url, config.crawl_name, resume=config.resume, fresh=config.fresh)
    return SqliteStore(config.output_dir, resume=config.resume, fresh=config.fresh)


class Scheduler:
    """One crawl's coordinator: serves the queues and runs the loop until the crawl is over."""

    def __init__(self, config: SchedulerConfig, clock: Callable[[], float] = time.monotonic,
                 on_status: Callable[[dict[str, Any]], None] | None = None, store: CrawlStore | None = None) -> None:
        """`store`: where the crawl is kept (default: SQLite under the output directory)."""
        self.config = config
        self._clock = clock
        self._on_status = on_status  # called with each snapshot (every second); None: log lines
        self._stop_requested = threading.Event()
        self._stop_now = threading.Event()
        self._tasks: queue.Queue[dict[str, Any] | list[dict[str, Any]]] = queue.Queue()  # a task, or a chain
        self._starts: dict[str, float] = {}  # task id -> when it may start: queued tasks that wait (_hand_to_nodes)
        self._results: queue.Queue[object] = queue.Queue()
        self._nodes: dict[str, _Node] = {}
        self._dead: set[str] = set()  # nodes whose process ended: what is still taken in their name goes back
        self.counts: Counter[str] = Counter()
        self._tracker = StatusTracker(clock())
        self._next_claim_check = 0.0
        self._started = self._next_status = self._next_commit = self._next_progress = 0.0  # set by _start
        self._stopping: tuple[StopReason, str] | None = None  # why dispatching ended; the run ends after
        output = config.output_dir
        check_writable(output)
        self._store = store or open_store(config)
        self._frontier = Frontier(self._store, config.politeness, lease_seconds=config.lease_for(),
                                  max_attempts=config.max_attempts, backoff_seconds=config.backoff_seconds)
        shared = self._store.shared_hosts()  # several schedulers on one crawl: each dispatches to its origins
        self._sync = HostSync(shared, self._store, self._frontier) if shared is not None else None
        if self._sync is not None:
            self._frontier.owned = set()
        self._nothing_to_resume = False  # a --resume of a crawl that had finished: said at the end
        self._open_crawl()
        crawl_id = mark_crawl(output, keep=self._store.resumed)  # a --resume keeps it: nodes carry on
        self.bulletin = broker.Bulletin({
            "protocol": PROTOCOL_VERSION, "python": platform.python_version(), "crawl_id": crawl_id,
            "state": "running", "output_dir": str(output.resolve()),
            "fetch": config.fetch.to_dict(), "image_filter": config.image_filter.to_dict(),
            "request": config.request.to_dict(),
            "delay": config.politeness.delay_seconds,  # each host's gap at least: what a node may hold results for
        })
        self._served: broker.Served | None = None
        self._cookies = SharedCookies()  # the site's cookies, for every node as for one browser's tabs
        # The command that starts a node for this crawl (set by the CLI, which knows the key file);
        # said when the crawl has had no node for _NO_NODE_HINT_SECONDS (none joined yet, or all left).
        self.join_command = ""
        self._hinted_join = False
        self._nodeless_since: float | None = None  # None while a node is there (and before the start)
        self._a_node_joined = False
        self._ran_dry = False  # the last dispatch found nothing pending while the nodes wanted more

    # -- set-up ---------------------------------------------------------------------------------

    def _open_crawl(self) -> None:
        """Start the records, and on --resume everything an earlier run left (all of resume is here)."""
        output = self.config.output_dir
        joined = getattr(self._store, "joined", False)  # another scheduler started this run of the crawl
        removed = 0 if joined else remove_temporaries(output)  # else: its nodes' files being written
        if removed:
            log.info("scheduler: removed %d temporary files left by an earlier run", removed)
        self._records = CrawlRecords(output, self._store, rebuild=not joined)
        self._applier = ResultApplier(self.config, self._frontier, self._store, self._records, self.counts,
                                    self._tracker)
        if self._store.resumed:
            if not joined:
                self._fetch_again(self._records.gone)
            if self.config.recrawl and not joined:
                self._start_recrawl()
            restored = self._frontier.restore()
            # a shared crawl's scheduler restores only the origins it claims: the crawl's own count says
            unfinished = restored if self._sync is None else self._sync.crawl_unfinished()
            self._nothing_to_resume = not (unfinished or joined or self.config.recrawl)
            counts = self._store.counts()
            self._applier.pages_admitted = sum(n for (kind, _status), n in counts.items() if kind == Kind.PAGE)
            if not joined:  # one joining a running crawl restores nothing: it takes origins as it syncs
                log.info("scheduler: resuming: %d URLs to finish, %d images saved before",
                         restored, self._records.earlier_images)

    def _start_recrawl(self) -> None:
        """--recrawl: what the crawl knows goes out again, each request conditional on what it got last time."""
        older, now = self.config.recrawl_older_than_seconds, time.time()
        again, fresh = self._store.start_recrawl(None if older is None else now - older,
                                                 None if self.config.recrawl_fresh else now)
        self.counts["urls/still-fresh"] += fresh
        log.info("scheduler: re-crawl: %d known URLs to check%s%s", again,
                 "" if older is None else f" (fetched more than {seconds_option(older)} ago)",
                 f"; {fresh} still fresh by what their servers said (Cache-Control, Expires)" if fresh else "")

    def _fetch_again(self, gone: list[dict[str, Any]]) -> None:
        """On --resume: saved images whose files are gone from the output become pending again."""
        if not gone:
            return
        log.warning("scheduler: resuming: %d saved images are no longer in %s (first: %s); fetching them again",
                    len(gone), self.config.output_dir, gone[0].get("path"))
        for record in gone:
            key = canonical(str(record.get("url")))
            row = self._store.find_url(key) if key else None
            if row is not None:
                self._store.requeue(row.id, "saved-file-missing", 0)
                self._store.note_fetch(row.id, None, 0.0)  # no conditional request: we lack the bytes

    def listen(self) -> tuple[str, int]:
        """Start serving the queues; return the address nodes connect to."""
        self._served = broker.serve(self.config.listen_host, self.config.listen_port, self.config.authkey,
                                    self._tasks, self._results, self.bulletin, self.wake_to_refill, self._note_taken,
                                    self._count_waits_from_now)
        return self._served.address

    def _count_waits_from_now(self, batch: list[Any]) -> None:
        """A node takes `batch` (called by the server's threads): each task's wait, counted from its
        dispatch, now counts from this take, as the node counts it. A task that sat in the queue
        until a node had room would otherwise wait its whole wait again, holding a fetcher."""
        now = self._clock()
        for item in batch:
            for task in _tasks_in(item):
                starts = self._starts.pop(task["id"], None)
                if starts is not None:
                    task["wait"] = max(0.0, starts - now)

    def _note_taken(self, node_id: str, batch: list[Any]) -> None:
        """Node `node_id` took `batch` (called by the server's threads): the loop notes it as the
        node's, as its next heartbeat would, so a node that dies before then gives it back too."""
        self._results.put(_Taken(node_id, [str(task["id"]) for item in batch for task in _tasks_in(item)]))

    def wake_to_refill(self) -> None:
        """A node emptied the task queue: wake the loop to dispatch now (called by the server's threads)."""
        self._results.put(_REFILL)

    def node_died(self, node_id: str) -> None:
        """The process of node `node_id` has ended (`crawler run` watches its workers): its tasks come
        back now, not once it has been silent for --node-timeout. Called from another thread."""
        self._results.put(_Died(node_id))

    def request_stop(self) -> None:
        """Ask for a graceful stop (first call) or an immediate one (second call); signal-safe."""
        if self._stop_requested.is_set():
            self._stop_now.set()
        self._stop_requested.set()

    # -- the loop -------------------------------------------------------------------------------

    def run(self) -> Summary:
        """Crawl until nothing is pending or in flight, a limit is reached or a stop is asked for."""
        self._start()
        end = None
        while end is None and not self._stop_now.is_set():
            end = self._step(self._clock())
            if end is None:
                self._wait_for_work()
        if end is None:  # the second interrupt: stop at once
            end = (StopReason.INTERRUPTED_TWICE, "interrupted twice; stopped at once")
            self._take_back_queued()
        if end is self._stopping:  # announced when it began: say that it is over
            detail = "" if end[0] == StopReason.INTERRUPTED else f"{end[1]}; "
            log.info("scheduler: %s: %sthe tasks in flight are done", end[0].value, detail)
        else:
            log.info("scheduler: %s: %s", end[0].value, end[1])
        return self._shut_down(end[0], end[1] if end[0] == StopReason.LIMIT else "", self._clock() - self._started)

    def _start(self) -> None:
        self._started = self._clock()
        self._applier.add_seeds(self.config.seeds)
        self._store.commit()
        self._stopping = None
        self._tracker.started = self._started
        self._next_status = self._next_commit = self._started
        self._next_progress = self._started + self.config.progress_seconds

    def _step(self, now: float) -> tuple[StopReason, str] | None:
        """One round: read answers, watch nodes, expire and retry, dispatch, commit, publish.

        Returns why the run is over once it is (nothing left, or stopping with nothing in flight).
        """
        self._drain_results()
        if self._sync is not None:
            self._sync.step(now, self._ran_dry)
        self._applier.collect_checked(now)
        self._watch_nodes(now)
        self._hint_join(now)
        for row in self._frontier.tick(now):
            self.counts["tasks/expired"] += 1
            self._frontier.retry_or_fail(row, "lease-expired", now)
        if self._stopping is None:
            self._stopping = self._stop_reason(now)
            if self._stopping is not None:
                again = " (interrupt again to stop at once)" if self._stopping[0] == StopReason.INTERRUPTED else ""
                log.info("scheduler: stopping: %s; finishing the tasks in flight%s", self._stopping[1], again)
                self.bulletin.update(state="stopping")  # nodes hand back what waits in their chains
                self._take_back_queued()
        if self._stopping is None:
            # Dry: nothing pending at all. Origins waiting out --delay have work, and syncing more
            # often would not hurry them.
            self._ran_dry = self._dispatch(now) and self._frontier.pending_count == 0
        self._applier.record_dropped()
        if now >= self._next_commit:  # small transactions: a kill -9 loses at most this moment's results
            self._records.commit()
            self._next_commit = now + _COMMIT_SECONDS
        checking = self._applier.checks_pending  # saved images whose files are being looked at
        if self._frontier.is_empty() and self._tasks.empty() and not checking and self._crawl_done():
            return self._stopping or (StopReason.FINISHED, "nothing pending, nothing in flight")
        if self._stopping is not None and self._frontier.in_flight == 0 and not checking:
            return self._stopping
        if now >= self._next_status:
            self._next_status = now + 1.0
            self._report_status(now)
        return None

    def _crawl_done(self) -> bool:
        """Nothing is left here; on a shared crawl, nothing is left for any scheduler either."""
        if self._sync is None or self._stopping is not None:
            return True
        self._records.commit()  # this scheduler's last changes count first
        return self._sync.crawl_unfinished() == 0

    def _hint_join(self, now: float) -> None:
        """Say how to start a node once the crawl has had none for a while: none joined yet, or
        every one left (killed, cut off); said again each time the crawl is left without."""
        if self._nodes:
            self._a_node_joined, self._nodeless_since, self._hinted_join = True, None, False
            return
        if self._nodeless_since is None:
            self._nodeless_since = self._started if not self._a_node_joined else now
        if not self._hinted_join and now - self._nodeless_since >= _NO_NODE_HINT_SECONDS:
            self._hinted_join = True
            log.warning("scheduler: %s; start one with: %s",
                        "every crawler node has left; the crawl waits for one" if self._a_node_joined
                        else "no crawler node has joined yet",
                        self.join_command or "crawler worker --connect HOST:PORT --authkey-file FILE")

    def _report_status(self, now: float) -> None:
        status = self._publish_status(now, "stopping" if self._stopping else "running")
        if self._on_status is not None:
            self._on_status(status)
        elif now >= self._next_progress:
            log.info("scheduler: %s", status_line(status))
            self._next_progress = now + self.config.progress_seconds

    def _images_saved(self) -> int:
        """Images of the whole crawl, earlier runs included (what --max-images counts)."""
        return self._records.earlier_images + self.counts["images/saved"]

    def _bytes_saved(self) -> int:
        """Bytes of the whole crawl's images, earlier runs included (what --max-bytes counts)."""
        return self._records.earlier_bytes + self.counts["bytes/saved"]

    def _stop_reason(self, now: float) -> tuple[StopReason, str] | None:
        """Why to stop dispatching now, with the words for the log, or None to go on."""
        limits = self.config.limits
        if self._stop_requested.is_set():
            return StopReason.INTERRUPTED, "interrupted"
        if limits.max_seconds is not None and now - self._started >= limits.max_seconds:
            return StopReason.LIMIT, f"--max-time {limits.max_seconds:g}s reached"
        if limits.max_images is not None and self._images_saved() >= limits.max_images:
            return StopReason.LIMIT, f"--max-images {limits.max_images} reached"
        if limits.max_bytes is not None and self._bytes_saved() >= limits.max_bytes:
            return StopReason.LIMIT, f"--max-bytes {size_option(limits.max_bytes)} reached"
        return None

    def _wait_for_work(self) -> None:
        """Block until there may be something to do, at most _IDLE_WAIT_SECONDS."""
        if self._frontier.in_flight == 0 and self._applier.checks_pending:
            # No answer can come: what the loop waits for is the disk's word on the last saved
            # files (at the end of a crawl, that is all that is left).
            self._applier.collect_checked(self._clock(), wait_seconds=_IDLE_WAIT_SECONDS)
        else:
            self._wait_for_result()

    def _wait_for_result(self) -> None:
        # Until an answer comes, or the moment politeness lets a waiting task go: waking only at the
        # next idle poll made --delay 0.12 gaps 0.154 s (a gap ended just after the poll began).
        now = self._clock()
        wake = self._frontier.next_wake(now)
        timeout = _IDLE_WAIT_SECONDS if wake is None else min(_IDLE_WAIT_SECONDS, max(wake - now, _LEAST_WAIT_SECONDS))
        try:
            message = self._results.get(timeout=timeout)
        except queue.Empty:
            return
        self._handle(message, self._clock())

    def _drain_results(self) -> None:
        """Handle the results waiting, each at the time it is read: an origin's gap counts from its
        response's end, and a round of hundreds of results takes a tenth of a second or more."""
        for _ in range(_MAX_RESULTS_PER_ROUND):
            try:
                message = self._results.get_nowait()
            except queue.Empty:
                return
            self._handle(message, self._clock())

    def _dispatch(self, now: float) -> bool:
        """Queue tasks up to what the nodes hold; return True if the frontier had no task to give
        while they wanted more."""
        limit = self.config.limits.max_images
        threads = sum(node.threads for node in self._nodes.values())
        # Keep about as many tasks queued as the nodes online hold, so order and politeness stay
        # with the frontier and tasks of a lost node are few.
        target = max(4, TASKS_HELD_PER_THREAD * threads)
        with self._tasks.mutex:  # our own queue; an item is a task or a chain of them
            queued = sum(len(_tasks_in(item)) for item in self._tasks.queue)
        handed: list[dict[str, Any] | list[dict[str, Any]]] = []  # this round's, queued together at its end
        try:
            while queued < target:
                allow_images = self._images_allowed(now, limit)
                # Chains (Frontier.next_tasks) only while the waiting origins' slots are fewer than the
                # nodes' threads: then a slot's round trips are what the crawl waits for. An image limit
                # is counted a task at a time.
                chain = limit is None and self._frontier.waiting_origins * self.config.politeness.per_host < threads
                tasks = self._frontier.next_tasks(now, allow_images, chain)
                if not tasks:
                    return True
                cookies = self._cookies.names_version  # a node with an older jar reads it before it fetches
                handed.append([dict(task, cookies=cookies) for task in tasks] if len(tasks) > 1
                              else dict(tasks[0], cookies=cookies))
                queued += len(tasks)
                self.counts["tasks/dispatched"] += len(tasks)
            return False
        finally:
            self._hand_to_nodes(handed, now)

    def _images_allowed(self, now: float, limit: int | None) -> bool:
        """Image tasks may go: not paused (the output was not writable), nor at --max-images."""
        return now >= self._applier.images_paused_until and (limit is None or (
            self._images_saved() + self._frontier.in_flight_of(Kind.IMAGE) + self._applier.checks_pending < limit))

    def _hand_to_nodes(self, handed: list[dict[str, Any] | list[dict[str, Any]]], now: float) -> None:
        """Queue a round's tasks together, those that may start first in front: a take then leaves
        with all it has room for (a take woken by the first of several puts left with that one).
        The start of a task that waits is kept until a node takes it (_count_waits_from_now)."""
        if not handed:
            return
        handed.sort(key=lambda item: _tasks_in(item)[0]["wait"])
        for item in handed:
            for task in _tasks_in(item):
                if task["wait"] > 0:
                    self._starts[task["id"]] = now + task["wait"]
        broker.put_together(self._tasks, handed)

    def _take_back_queued(self) -> None:
        """Return tasks no node has taken yet to the frontier (they stay pending for a resume)."""
        while True:
            try:
                item = self._tasks.get_nowait()
            except queue.Empty:
                return
            for task in reversed(_tasks_in(item)):  # each goes to the front
                self._starts.pop(task["id"], None)
                self._frontier.release(str(task["id"]))

    # -- results --------------------------------------------------------------------------------

    def _handle(self, message: object, now: float) -> None:
        """Apply one message from the result queue: a node's batch (a flat list of messages) or one message.

        Nothing here recurses into what a peer sent, and a bad batch costs one log line.
        """
        if message is _REFILL:  # the loop dispatches next
            return
        if isinstance(message, _Died):
            self._mark_dead(message.node_id, now)
            return
        if isinstance(message, _Taken):
            if message.node_id in self._dead:  # the server's thread of a connection it left took these
                for task_id in message.task_ids:
                    self._frontier.release(task_id)  # nobody runs them: no attempt
                return
            node = self._nodes.get(message.node_id)
            if node is not None:
                node.tasks.update(message.task_ids)
            self._frontier.attribute(message.task_ids, message.node_id)
            return
        if not isinstance(message, list):
            problem = self._handle_one(message, now)
            if problem is not None:
                log.warning("scheduler: dropped a malformed message: %s", problem)
            return
        if len(message) > broker.MAX_BATCH:
            self.counts["messages/malformed"] += 1
            log.warning("scheduler: dropped a batch of %d messages (at most %d)", len(message), broker.MAX_BATCH)
            return
        dropped, first_problem = 0, None
        for item in message:
            problem = self._handle_one(item, now)
            if problem is not None:
                dropped += 1
                first_problem = first_problem or problem
        if dropped:
            log.warning("scheduler: dropped %d of the %d messages in a batch as malformed (the first: %s)",
                        dropped, len(message), first_problem)

    def _handle_one(self, message: object, now: float) -> str | None:
        """Apply one message; return what is wrong with it instead, if anything (counted here)."""
        try:
            checked = read_message(message)  # a list here (a batch in a batch) is refused as not a dict
        except BadMessage as exc:
            self.counts["messages/malformed"] += 1
            return str(exc)
        if checked["type"] != "result":
            self._node_event(checked, now)
            return None
        result = checked
        node = self._nodes.get(result["node"])
        if node is not None:
            node.last_seen = now
            node.tasks.discard(result["task_id"])  # held no more (noted when taken: see _Taken)
        if result["cookies"] and self._cookies.merge(result["cookies"], time.time()):
            self.bulletin.publish_cookies(self._cookies.published())  # before the tasks this result makes
        self._applier.apply(result, now)
        return None

    # -- nodes ----------------------------------------------------------------------------------

    def _node_event(self, event: NodeEvent, now: float) -> None:
        node_id = event["node"]
        if event["type"] == "bye":
            if self._nodes.pop(node_id, None) is not None:
                log.info("scheduler: node %s left after %d tasks", node_id, event["done"])
            return
        if event["type"] == "died":  # a node's own process, which it watched
            self._mark_dead(node_id, now)
            return
        if event["type"] == "hello":  # a new process: under a dead one's name if a node restarted whole
            self._dead.discard(node_id)
        node = self._nodes.get(node_id)
        if node is None:
            node = self._nodes[node_id] = _Node(node_id, event["threads"], now)
            log.info("scheduler: node %s joined with %d threads (Python %s; this scheduler: Python %s, protocol %d)",
                     node_id, event["threads"], event.get("python") or "?", platform.python_version(),
                     PROTOCOL_VERSION)
        self._note_instance(node, event.get("instance") or "")
        node.threads, node.last_seen, node.done = event["threads"], now, event["done"]
        node.tasks = set(event["tasks"])
        self._frontier.attribute(event["tasks"], node_id)

    def _note_instance(self, node: _Node, instance: str) -> None:
        """Two processes given one --node-id take turns in its events (a restart is followed only by
        the new one): say so once, as the crawl counts them as one node."""
        if not instance or instance == node.instance:
            return
        if instance in node.instances and not node.twin_said:
            node.twin_said = True
            log.warning("scheduler: two node processes call themselves %s (--node-id): give each an id of its "
                        "own; the crawl counts them as one node", node.node_id)
        if len(node.instances) < _MAX_INSTANCES_KEPT:
            node.instances.add(instance)
        node.instance = instance

    def _watch_nodes(self, now: float) -> None:
        if now >= self._next_claim_check:
            self._next_claim_check = now + 1.0
            with self._tasks.mutex:  # our own queue: which dispatched tasks no node has taken yet
                accounted = {str(task["id"]) for item in self._tasks.queue for task in _tasks_in(item)}
            with self._results.mutex:  # and which are answered, the answer not read yet
                for waiting in self._results.queue:
                    if isinstance(waiting, list) and len(waiting) > broker.MAX_BATCH:
                        continue  # dropped when it is read: not worth a scan every second
                    for message in waiting if isinstance(waiting, list) else [waiting]:
                        task_id = message.get("task_id") if isinstance(message, dict) else None
                        if type(task_id) is str:  # what a peer sent: not str() of any shape
                            accounted.add(task_id)
            for node in self._nodes.values():
                accounted |= node.tasks
            for row in self._frontier.expire_unclaimed(accounted, now, self.config.node_timeout_seconds):
                self.counts["tasks/lost"] += 1
                log.warning("scheduler: task for %s was taken but never reported; dispatching it again", row.url)
                self._frontier.retry_or_fail(row, "lost-in-transit", now)
        for node in list(self._nodes.values()):
            if now - node.last_seen > self.config.node_timeout_seconds:
                self._take_back_from(node, f"silent for {now - node.last_seen:.0f}s", now)

    def _mark_dead(self, node_id: str, now: float) -> None:
        """Node `node_id`'s process ended: what it held, and what is still taken in its name, goes back."""
        self._dead.add(node_id)
        if node_id in self._nodes:
            self._take_back_from(self._nodes[node_id], "has died", now)

    def _take_back_from(self, node: _Node, why: str, now: float) -> None:
        """`node` is gone: forget it, and dispatch what it held again (an attempt, as the URL may be what killed it)."""
        del self._nodes[node.node_id]
        rows = self._frontier.expire_node(node.node_id)
        log.warning("scheduler: node %s %s; taking back its %d tasks", node.node_id, why, len(rows))
        for row in rows:
            self._frontier.retry_or_fail(row, "node-lost", now)

    # -- status and the end ---------------------------------------------------------------------

    def _publish_status(self, now: float, state: str) -> dict[str, Any]:
        nodes = [{"node": n.node_id, "threads": n.threads, "done": n.done, "holding": len(n.tasks),
                  "last_seen_seconds": round(now - n.last_seen, 1)} for n in self._nodes.values()]
        status = self._tracker.snapshot(now, self.counts, self._frontier.pending_count + self._frontier.delayed,
                                        self._frontier.in_flight, nodes, self._frontier.busiest_hosts(), state)
        self.bulletin.update(status=status)
        return status

    def _shut_down(self, reason: StopReason, detail: str, seconds: float) -> Summary:
        finished = reason in (StopReason.FINISHED, StopReason.LIMIT)
        final = self._publish_status(self._clock(), "finished" if finished else "stopped")
        if self._on_status is not None:
            self._on_status(final)
        # An interrupted crawl is paused, not over: nodes stay and reconnect to a --resume.
        self.bulletin.update(state="finished" if finished else "paused")
        if finished and self._served is not None:
            self._served.desk.close()  # a node's next take returns at once, empty: it reads the end and leaves
        deadline = self._clock() + (_BYE_WAIT_SECONDS if finished else _PAUSE_NOTICE_SECONDS)
        while self._clock() < deadline:
            self._drain_results()  # a node that joined as the crawl ended is waited for too
            if not self._nodes:
                break
            self._wait_for_result()
            self._watch_nodes(self._clock())  # a dead node will never say goodbye: stop waiting for it
        deadline = self._clock() + _CHECK_WAIT_SECONDS  # after a second interrupt, checks still end
        while self._applier.checks_pending and self._clock() < deadline:
            self._applier.collect_checked(self._clock(), wait_seconds=0.1)
        self._applier.close()
        self._applier.record_dropped()
        if self.config.prune:
            self._applier.prune_gone()
        if self.config.scope.sitemaps_only and not self.counts["sitemaps/fetched"]:
            log.warning("scheduler: --sitemaps-only, but no sitemap could be read (none listed in robots.txt, "
                        "none at /sitemap.xml): only the seeds were crawled")
        out_of_scope_hosts = [host for host, _count in self._applier.out_of_scope_hosts.most_common(3)]
        self._records.run_summary(detail or reason.value, seconds, dict(self.counts), self._tracker.slowest_hosts(),
                                  out_of_scope_hosts)
        self._records.commit()
        if self._served is not None:
            self._served.stop()
        # Nobody is writing (on a shared crawl: no scheduler's nodes either): a killed node's files go
        if self._frontier.in_flight == 0 and (self._sync is None or self._sync.crawl_unfinished() == 0):
            removed = remove_temporaries(self.config.output_dir)
            if removed:
                log.info("scheduler: removed %d half-written files left by killed nodes", removed)
        pending = (self._frontier.pending_count + self._frontier.delayed + self._frontier.in_flight
                   + self._applier.checks_pending)  # still leased in the store: fetched again on --resume
        if self._sync is not None:
            self._sync.release_all()  # its origins can be claimed at once (a paused crawl's too)
        self._records.close()
        try:  # images saved early were referred to by pages fetched later: the manifest says how many
            self._records.settle()
        except StorageError as exc:
            log.warning("scheduler: could not rewrite the manifest and failures with the run's last word: %s", exc)
        self._store.close()
        return Summary(reason, detail, seconds, dict(self.counts), pending, self.config.output_dir,
                       out_of_scope_hosts, self._records.earlier_images, self._records.earlier_bytes,
                       self._applier.seed_problems, self._applier.robots_disallowed_images.most_common(3),
                       self._applier.trap_example, self.config.fetch.max_page_bytes,
                       self.config.limits.max_pages if self._applier.pages_beyond_max_pages else None,
                       self.config.fetch.max_image_bytes,
                       self.config.limits.max_depth if self._applier.pages_beyond_max_depth else None,
                       self._nothing_to_resume and not self.counts["tasks/dispatched"],
                       self._sync is not None and self._sync.saw_others and not self.counts["tasks/dispatched"])


def _tasks_in(item: dict[str, Any] | list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The tasks of an item of the task queue: a task alone, or a chain."""
    return item if isinstance(item, list) else [item]

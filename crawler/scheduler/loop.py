"""The scheduler's loop: seed, dispatch, drain results, feed the frontier, decide the end, keep records.

It is the only writer of crawl state and of the manifest. It never fetches anything itself.
"""

from __future__ import annotations

import logging
import os
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
from crawler.errors import BadMessage
from crawler.messages import PROTOCOL_VERSION, Found, Kind, NodeEvent, Outcome, Result, read_message
from crawler.reasons import MAX_SLOW_ATTEMPTS, SLOW_REASONS, describe_reason
from crawler.scheduler.frontier import Frontier
from crawler.scheduler.records import CrawlRecords, found_as_of
from crawler.scheduler.sqlite_store import SqliteStore
from crawler.scheduler.status import StatusTracker, status_line
from crawler.scheduler.store import CrawlStore, UrlRow
from crawler.storage import STORAGE_REASONS, check_writable, remove_temporaries
from crawler.urllog import url_event
from crawler.urls import ScopeRules, canonical, host_of

log = logging.getLogger(__name__)

_IDLE_WAIT_SECONDS = 0.05  # how long the loop blocks on the result queue when there is nothing to do
_COMMIT_SECONDS = 0.05  # how often state is committed and records appended
_MAX_RESULTS_PER_ROUND = 500  # then dispatch again, so a flood of results cannot starve the nodes
_BYE_WAIT_SECONDS = 5.0  # after the end, how long to wait for nodes to notice and say goodbye
_NO_NODE_HINT_SECONDS = 5.0  # a crawl with no node this long says how to start one
_PAUSE_NOTICE_SECONDS = 0.5  # after an interrupt, time for nodes (polling every 0.2 s) to read "paused"
_PLURAL: dict[str, str] = {Kind.PAGE: "pages", Kind.IMAGE: "images", Kind.ROBOTS: "robots",
                           Kind.STYLESHEET: "stylesheets"}  # the counts' words: pages/fetched
# @import chains deeper than this are not followed (real sites nest one or two; a server that
# generates a new stylesheet on every import must not hold the crawl).
MAX_IMPORT_DEPTH = 8
_REFILL = object()  # put on the result queue when a node emptied the task queue: wakes the loop


@dataclass
class _Node:
    node_id: str
    threads: int
    last_seen: float
    done: int = 0
    tasks: set[str] = field(default_factory=set)  # what its last heartbeat said it holds


class StopReason(str, Enum):
    """Why a scheduler run ended."""

    FINISHED = "finished"  # nothing pending, nothing in flight
    LIMIT = "limit"  # --max-time or --max-images reached; what is pending stays for --resume
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

    @property
    def finished(self) -> bool:
        """The crawl ran out of work or reached a limit (not interrupted)."""
        return self.reason in (StopReason.FINISHED, StopReason.LIMIT)


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
        self._tasks: queue.Queue[dict[str, Any]] = queue.Queue()
        self._results: queue.Queue[object] = queue.Queue()
        self._scope = ScopeRules(config.scope)
        self._out_of_scope: set[int] = set()  # hashes of image URLs the scope kept out
        self.out_of_scope_hosts: Counter[str] = Counter()
        self._nodes: dict[str, _Node] = {}
        self.counts: Counter[str] = Counter()
        self._pages_admitted = 0
        self._images_paused_until = 0.0
        self._tracker = StatusTracker(clock())
        self._next_claim_check = 0.0
        output = config.output_dir
        check_writable(output)
        self._store = store or SqliteStore(output, resume=config.resume, fresh=config.fresh)
        self._frontier = Frontier(self._store, config.politeness, lease_seconds=config.lease_for(),
                                  max_attempts=config.max_attempts, backoff_seconds=config.backoff_seconds)
        self._open_crawl()
        self.bulletin = broker.Bulletin({
            "protocol": PROTOCOL_VERSION, "state": "running", "output_dir": str(output.resolve()),
            "fetch": config.fetch.to_dict(), "image_filter": config.image_filter.to_dict(),
            "request": config.request.to_dict(),
        })
        self._served: broker.Served | None = None
        # The command that starts a node for this crawl (set by the CLI, which knows the key file);
        # said once when no node has joined after _NO_NODE_HINT_SECONDS.
        self.join_command = ""
        self._hinted_join = False

    # -- set-up ---------------------------------------------------------------------------------

    def _open_crawl(self) -> None:
        """Start the records, and on --resume everything an earlier run left (all of resume is here)."""
        output = self.config.output_dir
        removed = remove_temporaries(output)
        if removed:
            log.info("scheduler: removed %d temporary files left by an earlier run", removed)
        self._records = CrawlRecords(output, self._store)
        if self._store.resumed:
            restored = self._frontier.restore()
            counts = self._store.counts()
            self._pages_admitted = sum(n for (kind, _status), n in counts.items() if kind == Kind.PAGE)
            log.info("scheduler: resuming: %d URLs to finish, %d images saved before",
                     restored, self._records.earlier_images)

    def listen(self) -> tuple[str, int]:
        """Start serving the queues; return the address nodes connect to."""
        self._served = broker.serve(self.config.listen_host, self.config.listen_port, self.config.authkey,
                                    self._tasks, self._results, self.bulletin, self.wake_to_refill)
        return self._served.address

    def wake_to_refill(self) -> None:
        """A node emptied the task queue: wake the loop to dispatch now (called by the server's threads)."""
        self._results.put(_REFILL)

    def request_stop(self) -> None:
        """Ask for a graceful stop (first call) or an immediate one (second call); signal-safe."""
        if self._stop_requested.is_set():
            self._stop_now.set()
        self._stop_requested.set()

    # -- the loop -------------------------------------------------------------------------------

    def run(self) -> Summary:
        """Crawl until nothing is pending or in flight, a limit is reached or a stop is asked for."""
        started = self._clock()
        for url in self.config.seeds:
            key = canonical(url)
            if key is not None and self._frontier.add(url, key, Kind.PAGE, 0, None):
                self._pages_admitted += 1
        self._store.commit()
        stop: tuple[StopReason, str] | None = None
        self._tracker.started = started
        next_status, next_progress = started, started + self.config.progress_seconds
        next_commit = started
        while not self._stop_now.is_set():
            now = self._clock()
            self._drain_results(now)
            self._watch_nodes(now)
            if not self._nodes and not self._hinted_join and now - started >= _NO_NODE_HINT_SECONDS:
                self._hinted_join = True
                log.warning("scheduler: no crawler node has joined yet; start one with: %s",
                            self.join_command or "crawler worker --connect HOST:PORT --authkey-file FILE")
            for row in self._frontier.tick(now):
                self.counts["tasks/expired"] += 1
                self._frontier.retry_or_fail(row, "lease-expired", now)
            if stop is None:
                stop = self._stop_reason(now, started)
                if stop is not None:
                    log.info("scheduler: stopping: %s", stop[1])
                    self._take_back_queued()
            if stop is None:
                self._dispatch(now)
            self._record_dropped()
            if now >= next_commit:  # small transactions: a kill -9 loses at most this moment's results
                self._records.commit()
                next_commit = now + _COMMIT_SECONDS
            if self._frontier.is_empty() and self._tasks.empty():
                stop = stop or (StopReason.FINISHED, "nothing pending, nothing in flight")
                break
            if stop is not None and self._frontier.in_flight == 0:
                break
            if now >= next_status:
                next_status = now + 1.0
                status = self._publish_status(now, "stopping" if stop else "running")
                if self._on_status is not None:
                    self._on_status(status)
                elif now >= next_progress:
                    log.info("scheduler: %s", status_line(status))
                    next_progress = now + self.config.progress_seconds
            self._wait_for_result()
        if self._stop_now.is_set():
            stop = (StopReason.INTERRUPTED_TWICE, "interrupted twice; stopped at once")
            self._take_back_queued()
        assert stop is not None  # the loop leaves only with a reason or on the second interrupt
        log.info("scheduler: %s: %s", stop[0].value, stop[1])
        return self._wind_up(stop[0], stop[1] if stop[0] == StopReason.LIMIT else "", self._clock() - started)

    def _images_saved(self) -> int:
        """Images of the whole crawl, earlier runs included (what --max-images counts)."""
        return self._records.earlier_images + self.counts["images/saved"]

    def _stop_reason(self, now: float, started: float) -> tuple[StopReason, str] | None:
        """Why to stop dispatching now, with the words for the log, or None to go on."""
        limits = self.config.limits
        if self._stop_requested.is_set():
            return (StopReason.INTERRUPTED,
                    "interrupted; finishing the tasks in flight (interrupt again to stop at once)")
        if limits.max_seconds is not None and now - started >= limits.max_seconds:
            return StopReason.LIMIT, f"--max-time {limits.max_seconds:g}s reached"
        if limits.max_images is not None and self._images_saved() >= limits.max_images:
            return StopReason.LIMIT, f"--max-images {limits.max_images} reached"
        return None

    def _wait_for_result(self) -> None:
        try:
            message = self._results.get(timeout=_IDLE_WAIT_SECONDS)
        except queue.Empty:
            return
        self._handle(message, self._clock())

    def _drain_results(self, now: float) -> None:
        for _ in range(_MAX_RESULTS_PER_ROUND):
            try:
                message = self._results.get_nowait()
            except queue.Empty:
                return
            self._handle(message, now)

    def _queue_target(self) -> int:
        # Keep the queue about as long as what the nodes online hold, so order and politeness
        # stay with the frontier and tasks of a lost node are few.
        return max(4, TASKS_HELD_PER_THREAD * sum(node.threads for node in self._nodes.values()))

    def _dispatch(self, now: float) -> None:
        limit = self.config.limits.max_images
        target = self._queue_target()
        while self._tasks.qsize() < target:
            allow_images = now >= self._images_paused_until and (limit is None or (
                self._images_saved() + self._frontier.in_flight_of(Kind.IMAGE) < limit))
            task = self._frontier.next_task(now, allow_images)
            if task is None:
                return
            self._tasks.put(dict(task))
            self.counts["tasks/dispatched"] += 1

    def _take_back_queued(self) -> None:
        """Return tasks no node has taken yet to the frontier (they stay pending for a resume)."""
        while True:
            try:
                task = self._tasks.get_nowait()
            except queue.Empty:
                return
            self._frontier.release(str(task["id"]))

    # -- results --------------------------------------------------------------------------------

    def _handle(self, message: object, now: float) -> None:
        if message is _REFILL:  # the loop dispatches next
            return
        if isinstance(message, list):  # a node's batch of results
            if len(message) > broker.MAX_BATCH:
                self.counts["messages/malformed"] += 1
                log.warning("scheduler: dropped a batch of %d messages (at most %d)", len(message), broker.MAX_BATCH)
                return
            for item in message:
                self._handle(item, now)
            return
        try:
            checked = read_message(message)
        except BadMessage as exc:
            self.counts["messages/malformed"] += 1
            log.warning("scheduler: dropped a malformed message: %s", exc)
            return
        if checked["type"] != "result":
            self._node_event(checked, now)
            return
        result = checked
        node = self._nodes.get(result["node"])
        if node is not None:
            node.last_seen = now
        row = self._frontier.complete(result["task_id"], now)
        if row is None:
            self.counts["results/ignored"] += 1  # a second answer to a task that is already finished
            return
        self._tracker.record_result(result["node"], self._frontier.origin_of_row(row), result["elapsed"], now)
        outcome = result["outcome"]
        if outcome == Outcome.FAILED:
            self._failed(row, result, now)
        elif outcome == Outcome.REDIRECT:
            self._redirected(row, result)
        elif outcome in (Outcome.SAVED, Outcome.DUPLICATE):  # an image task, or a "page" link that was an image
            self._image_saved(row, result)
        elif outcome == Outcome.SKIPPED:  # filtered out, or not a kind of page we read
            self._frontier.fail(row, result["reason"] or "filtered", Outcome.SKIPPED)
        elif row.kind == Kind.ROBOTS:
            self._frontier.set_robots(self._frontier.origin_of_row(row), result["robots_text"])
            self._frontier.finish(row)
        elif row.kind == Kind.STYLESHEET:
            self._stylesheet_fetched(row, result)
        else:
            self._page_fetched(row, result, now)

    def _failed(self, row: UrlRow, result: Result, now: float) -> None:
        reason = result["reason"] or "unknown"
        if reason in STORAGE_REASONS:  # the shared disk, not the site: pause images, lose nothing
            pause = self.config.storage_pause_seconds
            if now >= self._images_paused_until:
                log.warning("scheduler: node %s cannot write the output (%s); pausing image tasks for %.0fs",
                            result["node"], reason, pause)
            self._images_paused_until = now + pause
            self.counts["images/storage-errors"] += 1
            self._frontier.put_back(row, now, pause)
            return
        status = result["status"]
        if row.found_as == Found.FAVICON.value and status is not None and 400 <= status < 500:
            # Only a browser's guess, not a reference on the page: its absence is no failure of the site.
            self._frontier.fail(row, "no-favicon", Outcome.SKIPPED)
        elif result["retryable"]:
            bound = MAX_SLOW_ATTEMPTS if reason in SLOW_REASONS else None
            if self._frontier.retry_or_fail(row, reason, now, result["retry_after"], bound):
                self.counts["tasks/retried"] += 1
        else:
            self._frontier.fail(row, reason)

    def _redirected(self, row: UrlRow, result: Result) -> None:
        url, key = result["location"] or ["", ""]
        self.counts[f"{_PLURAL[row.kind]}/redirected"] += 1
        # The state and failures.jsonl say the same: a redirect that goes nowhere is the URL's
        # failure (or skip), one that leads on is done and its target a URL of its own.
        kind = Kind(row.kind)
        if kind != Kind.ROBOTS and row.hops + 1 > self.config.fetch.max_redirects:
            self._frontier.fail(row, "too-many-redirects")
            return
        if kind != Kind.ROBOTS and not (
                self._scope.allows(key) if kind == Kind.PAGE else self._scope.allows_resource(key)):
            self._frontier.fail(row, "redirect-out-of-scope", Outcome.SKIPPED)
            return
        self._frontier.finish(row, "redirect")
        url_event(Outcome.REDIRECT, row.url, kind=row.kind, location=url)
        if kind == Kind.ROBOTS:  # a redirected robots.txt is fetched by the node itself; not here
            return
        if kind == Kind.PAGE:  # the target is a page of its own and counts against --max-pages
            max_pages = self.config.limits.max_pages
            if (max_pages is None or self._pages_admitted < max_pages) and self._frontier.add(
                    url, key, Kind.PAGE, row.depth, row.page_url, row.hops + 1):
                self._pages_admitted += 1
        else:  # an image or a stylesheet: the target keeps the depth and the way it was found
            self._frontier.add(url, key, kind, row.depth, row.page_url, row.hops + 1, row.found_as)

    def _page_fetched(self, row: UrlRow, result: Result, now: float) -> None:
        self._frontier.finish(row)
        self.counts["pages/fetched"] += 1
        url_event(Outcome.FETCHED, row.url, kind=row.kind, links=len(result["links"]), images=len(result["images"]))
        limits = self.config.limits
        before = self._frontier.pending_count
        seen, allows = self._frontier.seen, self._scope.allows  # most links were seen: test that first
        if limits.max_depth is None or row.depth + 1 <= limits.max_depth:
            for url, key in result["links"]:
                if limits.max_pages is not None and self._pages_admitted >= limits.max_pages:
                    break
                if not seen(key) and allows(key) and self._frontier.add(url, key, Kind.PAGE, row.depth + 1, row.url):
                    self._pages_admitted += 1
        self._add_resources(row, result, row.depth + 1, 0)
        self._tracker.record_discovered(self._frontier.pending_count - before, now)

    def _stylesheet_fetched(self, row: UrlRow, result: Result) -> None:
        self._frontier.finish(row)
        self.counts["stylesheets/fetched"] += 1
        url_event(Outcome.FETCHED, row.url, kind=row.kind, images=len(result["images"]))
        self._add_resources(row, result, row.depth, row.depth + 1)

    def _add_resources(self, row: UrlRow, result: Result, image_depth: int, import_depth: int) -> None:
        """Queue the images and stylesheets a page or stylesheet refers to (depth limits do not apply)."""
        seen, allows = self._frontier.seen, self._scope.allows_resource
        for url, key, found_as in result["images"]:
            if not seen(key):
                if allows(key):
                    self._frontier.add(url, key, Kind.IMAGE, image_depth, row.url, 0, found_as)
                else:
                    self._count_out_of_scope(key)
        if import_depth <= MAX_IMPORT_DEPTH:
            for url, key in result["stylesheets"]:
                if not seen(key) and allows(key):
                    self._frontier.add(url, key, Kind.STYLESHEET, import_depth, row.url)

    def _count_out_of_scope(self, key: str) -> None:
        """Count each image URL the scope keeps out once, by host, for the summary's hint."""
        marker = hash(key)
        if marker not in self._out_of_scope:
            self._out_of_scope.add(marker)
            self.counts["images/out-of-scope"] += 1
            self.out_of_scope_hosts[host_of(key)] += 1

    def _image_saved(self, row: UrlRow, result: Result) -> None:
        image = result["image"]
        if image is None:
            self._frontier.fail(row, "no-image-in-result")
            return
        existing = self._store.image_path_for(image["sha256"])
        self._frontier.finish(row, None if existing is None else "duplicate")
        url_event(Outcome.SAVED if existing is None else Outcome.DUPLICATE, row.url, path=existing or image["path"],
                  bytes=image["bytes"], width=image["width"], height=image["height"], found_as=found_as_of(row),
                  page_url=row.page_url, node=result["node"])
        if existing is not None:
            self.counts["images/duplicate"] += 1
            self.counts["bytes/duplicate"] += image["bytes"]
            if existing != image["path"]:  # the same bytes were saved first under another host's folder
                try:
                    os.unlink(self.config.output_dir / image["path"])
                except OSError:
                    pass
            return
        self._records.image(row, dict(image), result["node"])
        self.counts["images/saved"] += 1
        self.counts["bytes/saved"] += image["bytes"]

    def _record_dropped(self) -> None:
        for dropped in self._frontier.dropped:
            if dropped.row.kind == Kind.ROBOTS:
                log.warning("scheduler: could not read %s: %s; skipping that site", dropped.row.url,
                            describe_reason(dropped.reason, dropped.row.url))
            if dropped.row.kind == Kind.PAGE and (dropped.gave_up or dropped.reason == "robots-unavailable"):
                self.counts["pages/unreachable"] += 1  # network failures and server errors: exit status 3
            self._record_failure(dropped.row, dropped.outcome, dropped.reason, dropped.attempts)
        self._frontier.dropped.clear()

    def _record_failure(self, row: UrlRow, outcome: Outcome, reason: str, attempts: int) -> None:
        self._records.failure(row, outcome, reason, attempts)
        url_event(outcome, row.url, kind=row.kind, reason=reason, attempts=attempts, page_url=row.page_url)
        self.counts[f"{_PLURAL[row.kind]}/{outcome}"] += 1

    # -- nodes ----------------------------------------------------------------------------------

    def _node_event(self, event: NodeEvent, now: float) -> None:
        node_id = event["node"]
        if event["type"] == "bye":
            if self._nodes.pop(node_id, None) is not None:
                log.info("scheduler: node %s left after %d tasks", node_id, event["done"])
            return
        node = self._nodes.get(node_id)
        if node is None:
            node = self._nodes[node_id] = _Node(node_id, event["threads"], now)
            log.info("scheduler: node %s joined with %d threads", node_id, event["threads"])
        node.threads, node.last_seen, node.done = event["threads"], now, event["done"]
        node.tasks = set(event["tasks"])
        self._frontier.attribute(event["tasks"], node_id)

    def _watch_nodes(self, now: float) -> None:
        if now >= self._next_claim_check:
            self._next_claim_check = now + 1.0
            with self._tasks.mutex:  # our own queue: which dispatched tasks no node has taken yet
                accounted = {str(task["id"]) for task in self._tasks.queue}
            with self._results.mutex:  # and which are answered, the answer not read yet
                for waiting in self._results.queue:
                    for message in waiting if isinstance(waiting, list) else [waiting]:
                        if isinstance(message, dict):
                            accounted.add(str(message.get("task_id")))
            for node in self._nodes.values():
                accounted |= node.tasks
            for row in self._frontier.expire_unclaimed(accounted, now, self.config.node_timeout_seconds):
                self.counts["tasks/lost"] += 1
                log.warning("scheduler: task for %s was taken but never reported; dispatching it again", row.url)
                self._frontier.retry_or_fail(row, "lost-in-transit", now)
        for node in list(self._nodes.values()):
            if now - node.last_seen > self.config.node_timeout_seconds:
                del self._nodes[node.node_id]
                rows = self._frontier.expire_node(node.node_id)
                log.warning("scheduler: node %s silent for %.0fs; taking back its %d tasks",
                            node.node_id, now - node.last_seen, len(rows))
                for row in rows:
                    self._frontier.retry_or_fail(row, "node-lost", now)

    # -- the end --------------------------------------------------------------------------------

    def _publish_status(self, now: float, state: str) -> dict[str, Any]:
        nodes = [{"node": n.node_id, "threads": n.threads, "done": n.done, "holding": len(n.tasks),
                  "last_seen_seconds": round(now - n.last_seen, 1)} for n in self._nodes.values()]
        status = self._tracker.snapshot(now, self.counts, self._frontier.pending_count + self._frontier.delayed,
                                        self._frontier.in_flight, nodes, self._frontier.busiest_hosts(), state)
        self.bulletin.update(status=status)
        return status

    def _wind_up(self, reason: StopReason, detail: str, seconds: float) -> Summary:
        finished = reason in (StopReason.FINISHED, StopReason.LIMIT)
        final = self._publish_status(self._clock(), "finished" if finished else "stopped")
        if self._on_status is not None:
            self._on_status(final)
        # An interrupted crawl is paused, not over: nodes stay and reconnect to a --resume.
        self.bulletin.update(state="finished" if finished else "paused")
        deadline = self._clock() + (_BYE_WAIT_SECONDS if finished else _PAUSE_NOTICE_SECONDS)
        while self._nodes and self._clock() < deadline:
            self._wait_for_result()
            self._watch_nodes(self._clock())  # a dead node will never say goodbye: stop waiting for it
        self._record_dropped()
        out_of_scope_hosts = [host for host, _count in self.out_of_scope_hosts.most_common(3)]
        self._records.run_summary(detail or reason.value, seconds, dict(self.counts), self._tracker.slowest_hosts(),
                                  out_of_scope_hosts)
        self._records.commit()
        if self._served is not None:
            self._served.stop()
        if self._frontier.in_flight == 0:  # nobody is writing: what a killed node left half-written goes
            removed = remove_temporaries(self.config.output_dir)
            if removed:
                log.info("scheduler: removed %d half-written files left by killed nodes", removed)
        pending = self._frontier.pending_count + self._frontier.delayed + self._frontier.in_flight
        self._store.close()
        self._records.close()
        return Summary(reason, detail, seconds, dict(self.counts), pending, self.config.output_dir,
                       out_of_scope_hosts, self._records.earlier_images, self._records.earlier_bytes)

"""A crawler node: N fetcher threads looping take task → fetch → extract or verify and save → report.

A node keeps no crawl state: killing one loses only the time of its in-flight tasks, which the
scheduler hands out again when their leases run out.
"""

from __future__ import annotations

import hashlib
import logging
import os
import queue
import socket
import threading
import time
from pathlib import Path
from typing import Any

import requests

from crawler import broker
from crawler.config import FetchLimits, ImageFilter, WorkerConfig
from crawler.errors import BadAuthkey, BadMessage, CrawlerError, FetchError, SchedulerUnreachable, StorageError
from crawler.extract import extract
from crawler.fetcher import Fetched, fetch, new_session
from crawler.images import NotAnImage, filter_reason, identify
from crawler.messages import (MAX_ROBOTS_CHARS, PROTOCOL_VERSION, Result, Task, make_node_event, make_result,
                              read_task)
from crawler.storage import check_writable, image_path, save_atomic
from crawler.urls import canonical

log = logging.getLogger(__name__)

_POLL_SECONDS = 0.5  # how long a fetcher thread blocks on the task queue before checking for the end
_STATUS_SECONDS = 5.0  # how often a node logs its one-line status
_HTML_TYPES = ("text/html", "application/xhtml+xml", "")


def default_node_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class Worker:
    """One crawler node: connects, runs its fetcher threads, reports, and leaves when the crawl ends."""

    def __init__(self, config: WorkerConfig) -> None:
        self.config = config
        self.node_id = config.node_id or default_node_id()
        self._stop = threading.Event()  # finish the current task, then exit
        self._lost = threading.Event()  # the scheduler is gone for good
        self._link_lock = threading.Lock()
        self._link: broker.Link | None = None
        self._holding: dict[int, str] = {}  # thread ident → task id it works on (for heartbeats)
        self._holding_lock = threading.Lock()
        self.done = 0
        self.failed = 0

    def request_stop(self) -> None:
        """Finish the tasks in hand and leave (signal-safe)."""
        self._stop.set()

    # -- connection -----------------------------------------------------------------------------

    def _connect_with_retries(self) -> broker.Link:
        """Connect, retrying for reconnect_seconds; BadAuthkey is final at once."""
        give_up = time.monotonic() + self.config.reconnect_seconds
        delay = 0.2
        while True:
            try:
                return broker.connect(self.config.host, self.config.port, self.config.authkey)
            except SchedulerUnreachable:
                if time.monotonic() + delay > give_up or self._stop.is_set():
                    raise
                log.info("worker %s: scheduler at %s:%d not reachable; retrying in %.1fs", self.node_id,
                         self.config.host, self.config.port, delay)
                time.sleep(delay)
                delay = min(delay * 2, 5.0)

    def _reconnect(self, broken: broker.Link) -> broker.Link | None:
        """Replace a broken link (proxies never reconnect by themselves); None if the scheduler is gone."""
        with self._link_lock:
            if self._link is not broken and self._link is not None:
                return self._link  # another thread reconnected already
            if self._lost.is_set():
                return None
            log.warning("worker %s: lost the scheduler; reconnecting for up to %.0fs", self.node_id,
                        self.config.reconnect_seconds)
            try:
                self._link = self._connect_with_retries()
            except CrawlerError as exc:
                log.error("worker %s: %s", self.node_id, exc)
                self._lost.set()
                self._stop.set()
                return None
            log.info("worker %s: reconnected", self.node_id)
            self._send_event("hello")
            return self._link

    def _put(self, message: dict[str, Any]) -> bool:
        """Send one message to the scheduler, reconnecting if needed; False if it is gone."""
        link = self._link
        while link is not None:
            try:
                link.results.put(message)
                return True
            except broker.CONNECTION_ERRORS:
                link = self._reconnect(link)
        return False

    def _send_event(self, event: str) -> None:
        link = self._link
        if link is None:
            return
        with self._holding_lock:
            holding = list(self._holding.values())
        try:
            link.results.put(dict(make_node_event(event, self.node_id, self.config.threads, holding, self.done)))
        except broker.CONNECTION_ERRORS:
            pass  # the next heartbeat or task call reconnects

    # -- running --------------------------------------------------------------------------------

    def run(self) -> int:
        """Work until the scheduler says the crawl is over; return the exit code."""
        self._link = self._connect_with_retries()
        settings = self._link.bulletin.read()
        if settings.get("protocol") != PROTOCOL_VERSION:
            raise BadMessage(f"scheduler speaks protocol {settings.get('protocol')}, this node {PROTOCOL_VERSION}")
        output_dir = self.config.output_dir or Path(settings["output_dir"])
        check_writable(output_dir)
        limits = FetchLimits.from_dict(settings["fetch"])
        image_filter = ImageFilter.from_dict(settings["image_filter"])
        log.info("worker %s: connected to %s:%d, %d threads, saving to %s", self.node_id, self.config.host,
                 self.config.port, self.config.threads, output_dir)
        self._send_event("hello")
        threads = [threading.Thread(target=self._fetch_loop, args=(limits, image_filter, output_dir),
                                    name=f"fetcher-{n}", daemon=True) for n in range(self.config.threads)]
        for thread in threads:
            thread.start()
        self._watch()
        for thread in threads:
            thread.join()
        if self._lost.is_set():
            return 1
        self._send_event("bye")
        log.info("worker %s: done: %d tasks, %d failed", self.node_id, self.done, self.failed)
        return 0

    def _watch(self) -> None:
        """Main thread: heartbeats, and noticing the end of the crawl."""
        next_heartbeat = 0.0
        started = last_status = time.monotonic()
        done_at_last_status = 0
        while not self._stop.is_set():
            link = self._link
            if link is None:
                return
            try:
                if link.bulletin.read().get("state") == "finished":
                    log.info("worker %s: the scheduler says the crawl is over", self.node_id)
                    self._stop.set()
                    return
            except broker.CONNECTION_ERRORS:
                self._reconnect(link)
                continue
            now = time.monotonic()
            if now >= next_heartbeat:
                self._send_event("heartbeat")
                next_heartbeat = now + self.config.heartbeat_seconds
            if now - last_status >= _STATUS_SECONDS:
                with self._holding_lock:
                    busy = len(self._holding)
                log.info("worker %s: %d tasks done (%d failed), %d/%d threads busy, %.1f tasks/s, up %.0fs",
                         self.node_id, self.done, self.failed, busy, self.config.threads,
                         (self.done - done_at_last_status) / (now - last_status), now - started)
                last_status, done_at_last_status = now, self.done
            self._stop.wait(_POLL_SECONDS)

    def _fetch_loop(self, limits: FetchLimits, image_filter: ImageFilter, output_dir: Path) -> None:
        session = new_session(limits)
        me = threading.get_ident()
        while not self._stop.is_set():
            link = self._link
            if link is None:
                return
            try:
                message = link.tasks.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                continue
            except broker.CONNECTION_ERRORS:
                self._reconnect(link)
                continue
            try:
                task = read_task(message)
            except BadMessage as exc:
                log.warning("worker %s: dropped a malformed task: %s", self.node_id, exc)
                continue
            with self._holding_lock:
                self._holding[me] = task["id"]
            result = self._handle(task, session, limits, image_filter, output_dir)
            self.done += 1
            self.failed += result["outcome"] == "failed"
            self._put(dict(result))  # type: ignore[arg-type]
            with self._holding_lock:
                self._holding.pop(me, None)
        session.close()

    def _handle(self, task: Task, session: requests.Session, limits: FetchLimits, image_filter: ImageFilter,
                output_dir: Path) -> Result:
        """Return the result of one task; never raises (a bug becomes a failed result and a log line)."""
        started = time.monotonic()
        try:
            if task["kind"] == "robots":
                result = self._robots(task, session, limits)
            elif task["kind"] == "page":
                result = self._page(task, session, limits, image_filter, output_dir)
            else:
                fetched = fetch(session, task["url"], limits, limits.max_image_bytes)
                result = self._redirect(task, fetched) or self._save(task, fetched, limits, image_filter,
                                                                     output_dir)
        except FetchError as exc:
            result = make_result(task, self.node_id, "failed", reason=exc.reason, retryable=exc.retryable,
                                 retry_after=exc.retry_after)
        except StorageError as exc:
            log.error("worker %s: %s", self.node_id, exc)
            result = make_result(task, self.node_id, "failed", reason=exc.reason, retryable=True)
        except Exception as exc:  # the loop's edge: one bad page must not kill a fetcher thread
            log.exception("worker %s: task %s (%s) crashed", self.node_id, task["id"], task["url"])
            result = make_result(task, self.node_id, "failed", reason=f"internal-error: {type(exc).__name__}")
        result["elapsed"] = round(time.monotonic() - started, 4)
        return result

    def _robots(self, task: Task, session: requests.Session, limits: FetchLimits) -> Result:
        try:
            fetched = fetch(session, task["url"], limits, MAX_ROBOTS_CHARS, cut_at_cap=True,
                            follow_redirects=True)
        except FetchError as exc:
            if not exc.retryable and exc.reason.startswith("http-4"):
                # No robots.txt (or one we may not read): everything is allowed, as the major engines do.
                return make_result(task, self.node_id, "fetched", status=int(exc.reason[5:8]))
            raise
        text = fetched.body.decode("utf-8", errors="replace")[:MAX_ROBOTS_CHARS]
        return make_result(task, self.node_id, "fetched", robots_text=text, status=fetched.status,
                           bytes=len(fetched.body))

    def _redirect(self, task: Task, fetched: Fetched) -> Result | None:
        if fetched.location is None:
            return None
        key = canonical(fetched.location)
        if key is None:
            raise FetchError(task["url"], "bad-redirect")
        return make_result(task, self.node_id, "redirect", location=[fetched.location, key],
                           status=fetched.status)

    def _page(self, task: Task, session: requests.Session, limits: FetchLimits, image_filter: ImageFilter,
              output_dir: Path) -> Result:
        fetched = fetch(session, task["url"], limits, limits.max_page_bytes, cut_at_cap=True)
        redirect = self._redirect(task, fetched)
        if redirect is not None:
            return redirect
        if fetched.content_type.startswith("image/"):  # a link straight to a picture: keep it
            if fetched.truncated:
                raise FetchError(task["url"], "too-large")
            return self._save(task, fetched, limits, image_filter, output_dir)
        if fetched.content_type not in _HTML_TYPES:
            return make_result(task, self.node_id, "skipped", reason="not-html", status=fetched.status,
                               bytes=len(fetched.body))
        refs = extract(fetched.body, task["url"], fetched.charset)
        return make_result(task, self.node_id, "fetched", links=refs.links, images=refs.images,
                           status=fetched.status, bytes=len(fetched.body),
                           reason="truncated" if fetched.truncated else None)

    def _save(self, task: Task, fetched: Fetched, limits: FetchLimits, image_filter: ImageFilter,
              output_dir: Path) -> Result:
        data = fetched.body
        try:
            info = identify(data, limits.max_image_pixels)
        except NotAnImage as exc:
            return make_result(task, self.node_id, "failed", reason=exc.reason, status=fetched.status,
                               bytes=len(data))
        unwanted = filter_reason(info, len(data), image_filter)
        if unwanted is not None:
            return make_result(task, self.node_id, "skipped", reason=unwanted, bytes=len(data))
        sha256 = hashlib.sha256(data).hexdigest()
        relative = image_path(task["url"], sha256, info.extension)
        written = save_atomic(output_dir, relative, data)
        image = {"path": relative, "sha256": sha256, "bytes": len(data), "content_type": info.content_type,
                 "width": info.width, "height": info.height}
        return make_result(task, self.node_id, "saved" if written else "duplicate", image=image,
                           status=fetched.status, bytes=len(data))


def run_worker(config: WorkerConfig) -> int:
    """Run a node until the crawl ends; errors other than bugs are raised as CrawlerError."""
    return Worker(config).run()


__all__ = ["Worker", "run_worker", "default_node_id", "BadAuthkey"]

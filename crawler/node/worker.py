"""A crawler node: a feeder takes tasks in batches, N fetcher threads handle them, a reporter sends
results in batches; the main thread sends heartbeats and notices the end of the crawl.

A node keeps no crawl state: killing one loses only the time of the tasks it holds, which the
scheduler hands out again when their leases run out or the node's heartbeats stop.
"""

from __future__ import annotations

import logging
import os
import platform
import queue
import re
import secrets
import socket
import threading
import time
from pathlib import Path
from typing import Any, NamedTuple

import requests

from crawler import __version__, broker
from crawler.config import TASKS_HELD_PER_THREAD, FetchLimits, ImageFilter, RequestOptions, WorkerConfig
from crawler.errors import BadMessage, CrawlerError, SchedulerUnreachable
from crawler.messages import (
    PROTOCOL_VERSION,
    NodeEventType,
    Outcome,
    Result,
    Task,
    make_node_event,
    make_result,
    read_chain,
    result_chars,
)
from crawler.node.cookies import SetCookies, SharedJar
from crawler.node.fetcher import new_session
from crawler.node.handlers import TaskHandler
from crawler.node.hsts import HstsNotes
from crawler.reasons import NOT_STARTED
from crawler.storage import check_crawl_output
from crawler.units import host_port, plural

log = logging.getLogger(__name__)

_WINDING_DOWN = ("stopping", "paused", "finished")  # the crawl's states in which the scheduler dispatches no more
_POLL_SECONDS = 0.1  # longest wait on the scheduler before looking at the stop flag again
_STATUS_SECONDS = 5.0  # how often a node logs its one-line status
# Every take() and put() is a round trip that costs CPU on both ends (pickling, a server thread,
# GIL hand-offs), so both go in batches: tasks are taken once a quarter of the room is free, not
# as each task ends, and results leave together (waiting for company only while that keeps no
# host waiting: see _wait_for_company). Room counts tasks not yet
# finished (queued here or in work), so results waiting to be sent never keep a thread idle.
_REFILL_FRACTION = 4  # take more once 1/4 of the room is free
_REPORT_GATHER_SECONDS = 0.02  # how long a result waits for company at most (see _wait_for_company)
_REPORT_BATCH = 200  # results per put() at most
_REPORT_BATCH_CHARS = 4_000_000  # a batch closes past this; one result adds MAX_REF_CHARS_PER_PAGE at most,
# so a batch stays under 10M characters: 40 MB of UTF-8 at worst, under broker.MAX_MESSAGE_BYTES


class _Chain(NamedTuple):
    """Tasks taken together to run one after another (most chains are one task), and when: what
    each task's wait counts from."""

    tasks: list[Task]
    taken_at: float  # time.monotonic() when the take returned


class _Answer(NamedTuple):
    """A task's result on its way to the reporter, whether it is the last of its chain (its
    fetcher is free, and the scheduler frees the origin's slot when it arrives), and when it ended."""

    result: Result
    ends_chain: bool
    ended_at: float  # time.monotonic(): what the result's `held` counts from


def _sleep_until(moment: float) -> None:
    """Wait until time.monotonic() reaches `moment` (a task's wait is a step of 20 ms at most)."""
    pause = moment - time.monotonic()
    if pause > 0:
        time.sleep(pause)


def default_node_id() -> str:
    """HOST-PID, the host name in the characters a node id takes (messages.NODE_ID)."""
    host = re.sub(r"[^A-Za-z0-9._-]", "_", socket.gethostname()).lstrip("._-")[:48] or "node"
    return f"{host}-{os.getpid()}"


class Worker:
    """One crawler node: connects, runs its threads, reports, and leaves when the crawl ends."""

    def __init__(self, config: WorkerConfig) -> None:
        self.config = config
        self.node_id = config.node_id or default_node_id()
        self._stop = threading.Event()  # take no more tasks; finish those held, then exit
        self._lost = threading.Event()  # the scheduler is gone for good
        self._paused = False  # the scheduler stopped on an interrupt; a --resume may come back
        self._winding_down = False  # the scheduler dispatches no more (a limit, an interrupt): as last read
        self._session: requests.Session | None = None  # the fetchers' one session, once run() made it
        self._set_cookies = SetCookies()  # what the site sets while a task runs, for the scheduler to share
        self._hsts = HstsNotes()  # the hosts a task's answers ask to be fetched over https only
        self._jar = SharedJar()  # this node's copy of the crawl's cookie jar
        self._broken = threading.Event()  # a thread of ours failed: leave, and say so in the exit code
        self.crawl_over = False  # the scheduler said the crawl is finished (not paused, not gone)
        self._link_lock = threading.Lock()
        self._link: broker.Link | None = None
        self._address = 0  # which of the crawl's schedulers (config.addresses()) the link goes to
        self._output_dir = config.output_dir or Path()  # the scheduler's path unless given; set by run()
        # The inbox holds chains: tasks one fetcher runs one after another (most chains are one
        # task). None in the inbox: no more tasks (one per fetcher, after the last task); None in
        # the outbox: a fetcher has ended (its last message). Threads leave at once at the end.
        self._inbox: queue.Queue[_Chain | None] = queue.Queue()  # taken, not started
        self._outbox: queue.Queue[_Answer | None] = queue.Queue()  # answered, not sent
        self._held: set[str] = set()  # every task id taken and not yet reported (for heartbeats)
        self._instance = secrets.token_hex(4)  # in each event: tells this process from another with its id
        # Chains taken and not yet done (a task alone is a chain of one): what the feeder's room is
        # counted in. A chain holds one fetcher however long it is; counted by its tasks, one chain
        # longer than the room kept a node from taking the other origins' chains, and a crawl of
        # three sites 20 ms away ran on two of its six slots (19.2 s, not 10.7).
        self._unfinished = 0
        self._busy = 0  # fetchers with a chain in hand
        self._held_changed = threading.Condition()  # guards the three; notified when a task is finished
        # Chains whose last result went to the outbox, and of those the reporter has taken: while
        # the two are equal, every result waiting there is one of a chain that goes on.
        self._chains_ended = 0
        self._chains_taken = 0
        self._chain_ended = threading.Condition()  # guards _chains_ended; notified as it grows
        self._limit = max(2, config.threads * TASKS_HELD_PER_THREAD)
        self._refill = max(1, self._limit // _REFILL_FRACTION)
        self._paced_hold = 0.0  # how long a result may wait for company in a crawl a --delay paces (see run)
        # Tasks attempted. What became of them is the scheduler's to say: it alone knows which
        # answers are failures (a guessed /favicon.ico or /sitemap.xml that is not there is none)
        # and which attempts were the last.
        self.done = 0

    def request_stop(self) -> None:
        """Finish the tasks in hand and leave (signal-safe)."""
        self._stop.set()

    # -- connection -----------------------------------------------------------------------------

    def _connect_with_retries(self) -> broker.Link:
        """Connect, retrying for reconnect_seconds (each of the crawl's schedulers in turn, from the
        one last used); BadAuthkey is final at once."""
        give_up = time.monotonic() + self.config.reconnect_seconds
        delay = 0.2
        addresses = self.config.addresses()
        while True:
            for _ in range(len(addresses)):
                host, port = addresses[self._address]
                try:
                    return broker.connect(host, port, self.config.authkey)
                except SchedulerUnreachable as exc:
                    last = exc
                    if not self._stop.is_set():  # leaving (a signal): one try of each, to hand back what it holds
                        log.info("worker %s: scheduler at %s not reachable; retrying", self.node_id,
                                 host_port(host, port))
                    self._address = (self._address + 1) % len(addresses)
            if time.monotonic() + delay > give_up or self._stop.is_set():
                if len(addresses) == 1:
                    raise last
                raise SchedulerUnreachable(f"none of the crawl's schedulers answers ({last})") from last
            self._stop.wait(delay)  # asked to leave meanwhile (a signal): at once
            delay = min(delay * 2, 1.0)  # each try is a fresh connection: back soon after a partition

    def _scheduler_address(self) -> str:
        """The address of the scheduler the link goes to (of the crawl's several, the one answering)."""
        return host_port(*self.config.addresses()[self._address])

    def _reconnect(self, broken: broker.Link) -> broker.Link | None:
        """Replace a broken link (proxies never reconnect by themselves); None if the scheduler is gone."""
        with self._link_lock:
            if self._link is not broken and self._link is not None:
                return self._link  # another thread reconnected already
            if self._lost.is_set():
                return None
            if self._paused and not self._stop.is_set():  # it said it would go: a --resume may bring it back
                log.info("worker %s: the paused crawl's scheduler has left; waiting up to %.0fs for it to resume",
                         self.node_id, self.config.reconnect_seconds)
            elif not self._stop.is_set():
                log.warning("worker %s: lost the scheduler; reconnecting for up to %.0fs", self.node_id,
                            self.config.reconnect_seconds)
            try:
                self._link = self._connect_with_retries()
            except CrawlerError as exc:
                if self._stop.is_set():
                    log.info("worker %s: the scheduler is gone; leaving, as asked", self.node_id)
                elif self._paused:
                    log.info("worker %s: the paused crawl did not resume within %.0fs; leaving", self.node_id,
                             self.config.reconnect_seconds)
                else:
                    log.error("worker %s: %s", self.node_id, exc)
                self._lost.set()
                self._stop.set()
                return None
            try:  # a scheduler back on this address may run another crawl (or a --fresh one)
                self._check_output(self._link.bulletin.read())
            except (CrawlerError, *broker.CONNECTION_ERRORS) as exc:
                log.error("worker %s: %s", self.node_id, exc)
                self._broken.set()
                self._stop.set()
                return None
            log.info("worker %s: reconnected", self.node_id)
            self._jar = SharedJar()  # the scheduler reached (restarted, or another) counts its versions from 0
            self._paused = False
            self._send_event("hello")
            return self._link

    def _check_output(self, settings: dict[str, Any]) -> None:
        """Refuse to work unless our output path holds the scheduler's crawl (never create it here)."""
        crawl_id = settings.get("crawl_id")
        if not isinstance(crawl_id, str):
            raise BadMessage("the scheduler names no crawl id; is it an older version?")
        check_crawl_output(self._output_dir, crawl_id, str(settings.get("output_dir")))

    def _put(self, message: Any) -> bool:
        """Send a message (or a list of them) to the scheduler, reconnecting if needed; False if it is gone."""
        link = self._link
        while link is not None:
            try:
                if link.results.put(message) in _WINDING_DOWN:  # a report is answered with the crawl's state
                    self._winding_down = True  # only a bulletin read clears it (a resumed crawl): no race back
                return True
            except broker.CONNECTION_ERRORS:
                link = self._reconnect(link)
        return False

    def _send_event(self, event: NodeEventType) -> None:
        link = self._link
        if link is None:
            return
        with self._held_changed:
            held = list(self._held)
        try:
            link.results.put(dict(make_node_event(event, self.node_id, self.config.threads, held, self.done,
                                                  self._instance)))
        except broker.CONNECTION_ERRORS:
            pass  # the next heartbeat or task call reconnects

    def report_death(self, node_id: str) -> None:
        """Tell the scheduler that `node_id`, one of this node's processes, died (see supervise._Replacer):
        it takes back what that one held at once. Lost with a broken link: its silence says it then."""
        link = self._link
        if link is None:
            return
        try:
            link.results.put(dict(make_node_event("died", node_id, 0, [], 0)))
        except broker.CONNECTION_ERRORS:
            pass

    # -- running --------------------------------------------------------------------------------

    def run(self) -> int:
        """Work until the scheduler says the crawl is over; return the exit code."""
        try:
            self._link = self._connect_with_retries()
            settings = self._link.bulletin.read()
        except (SchedulerUnreachable, *broker.CONNECTION_ERRORS):
            if not self._stop.is_set():
                raise
            # Asked to leave before it reached the scheduler: `crawler run`'s workers, when the
            # crawl was over before they joined (a --resume of a finished crawl): nothing to do.
            log.info("worker %s: asked to leave before the crawl began; leaving", self.node_id)
            return 0
        if settings.get("protocol") != PROTOCOL_VERSION:
            raise BadMessage(f"scheduler speaks protocol {settings.get('protocol')}, this node {PROTOCOL_VERSION}: "
                             f"run one queue-crawler version on the scheduler and every node (this node's: "
                             f"{__version__})")
        self._output_dir = self.config.output_dir or Path(settings["output_dir"])
        self._check_output(settings)
        if settings.get("state") == "finished":  # joined as it ended: the scheduler may be gone by the next call
            self.crawl_over = True
            log.info("worker %s: the crawl at %s is over; nothing to do", self.node_id, self._scheduler_address())
            return 0
        delay = settings.get("delay")
        if isinstance(delay, (int, float)) and delay > 0:  # half the gap: the slot is free again well before it ends
            self._paced_hold = min(_REPORT_GATHER_SECONDS, delay / 2)
        handler = TaskHandler(self.node_id, FetchLimits.from_dict(settings["fetch"]),
                              ImageFilter.from_dict(settings["image_filter"]), self._output_dir,
                              RequestOptions.from_dict(settings.get("request", {})))
        log.info("worker %s: connected to %s (protocol %d, scheduler on Python %s, this node on %s), "
                 "%d threads, saving to %s", self.node_id, self._scheduler_address(), PROTOCOL_VERSION,
                 settings.get("python", "?"), platform.python_version(), self.config.threads, self._output_dir)
        self._send_event("hello")
        # One Session for all fetchers: a host's next request, whichever thread makes it, goes on a
        # connection kept alive from the last one. Each thread with its own, a crawl with a delay
        # spread one host's requests over every thread: as many connections (and TLS handshakes),
        # each idle so long between requests that servers which keep one alive for seconds, not
        # minutes, had closed it.
        session = new_session(handler.limits, handler.request_options, self.config.threads)
        self._session = session
        self._set_cookies.watch(session)
        self._hsts.watch(session)
        fetchers = [threading.Thread(target=self._fetch_loop, args=(handler, session), name=f"fetcher-{n}",
                                     daemon=True) for n in range(self.config.threads)]
        feeder = threading.Thread(target=self._feed_loop, name="feeder", daemon=True)
        reporter = threading.Thread(target=self._report_loop, args=(fetchers,), name="reporter", daemon=True)
        self._start(fetchers, reporter, feeder)
        self._watch()
        for thread in (feeder, *fetchers, reporter):
            thread.join()
        session.close()
        if self._lost.is_set() or self._broken.is_set():
            return 0 if self._paused and not self._broken.is_set() else 1  # paused: leaving is no failure
        self._send_event("bye")
        log.info("worker %s: done: %s", self.node_id, plural(self.done, "task"))
        return 0

    def _start(self, fetchers: list[threading.Thread], reporter: threading.Thread, feeder: threading.Thread) -> None:
        """Start the node's threads, the feeder last: a node the machine cannot give its threads
        leaves having taken no task, and says why in one line (a CrawlerError)."""
        try:
            for thread in (*fetchers, reporter, feeder):
                thread.start()
        except RuntimeError as exc:  # "can't start new thread": the kernel's limit of threads, or the memory
            started = sum(thread.is_alive() for thread in fetchers)
            for _ in range(started):
                self._inbox.put(None)  # the started fetchers end, each saying so to the reporter
            for _ in range(len(fetchers) - started):
                self._outbox.put(None)  # and for those that never started: the reporter ends too
            self._send_event("bye")
            raise CrawlerError(f"could start only {started} of its {self.config.threads} fetcher threads ({exc}): "
                               "the machine is out of threads or memory; give it fewer --threads") from exc

    def _watch(self) -> None:
        """Main thread: heartbeats, the status line, and noticing the end of the crawl."""
        next_heartbeat = 0.0
        started = last_status = time.monotonic()
        done_at_last_status = 0
        while not self._stop.is_set():
            link = self._link
            if link is None:
                return
            try:
                state = self._crawl_state(link)
                if state == "finished":
                    return
                if state == "paused" and not self._paused:
                    self._paused = True
                    log.info("worker %s: the crawl is paused; waiting up to %.0fs for the scheduler to resume",
                             self.node_id, self.config.reconnect_seconds)
            except broker.CONNECTION_ERRORS:
                self._reconnect(link)
                continue
            now = time.monotonic()
            if now >= next_heartbeat:
                self._send_event("heartbeat")
                next_heartbeat = now + self.config.heartbeat_seconds
            if now - last_status >= _STATUS_SECONDS:
                log.info("worker %s: %s done, %d held, %.1f tasks/s, up %.0fs", self.node_id,
                         plural(self.done, "task"), len(self._held),
                         (self.done - done_at_last_status) / (now - last_status), now - started)
                last_status, done_at_last_status = now, self.done
            self._stop.wait(_POLL_SECONDS)

    def _crawl_state(self, link: broker.Link) -> str | None:
        """The state the scheduler's bulletin gives; at "finished", stop (the feeder or the main thread,
        whichever reads it first)."""
        bulletin = link.bulletin.read()
        if not isinstance(bulletin, dict):  # an answer out of step: the link cannot be trusted
            raise EOFError(f"the bulletin read gave {type(bulletin).__name__}")
        state = bulletin.get("state")
        self._winding_down = state in _WINDING_DOWN
        if self._session is not None and self._jar.stale(bulletin.get("cookie_version")):
            self._catch_up_cookies(self._session)  # values a site set anew on another node
        if state == "finished" and not self._stop.is_set():
            log.info("worker %s: the scheduler says the crawl is over", self.node_id)
            self.crawl_over = True
            self._stop.set()
        return state if isinstance(state, str) else None

    def _feed_loop(self) -> None:
        """Take tasks in batches while at least a refill's worth of room is free."""
        try:
            self._feed()
        except Exception:  # the loop's edge: a node that takes no tasks must not look alive
            log.exception("worker %s: the task feeder failed; leaving", self.node_id)
            self._broken.set()
            self._stop.set()
        finally:
            for _ in range(self.config.threads):
                self._inbox.put(None)

    def _feed(self) -> None:
        while not self._stop.is_set():
            with self._held_changed:
                room = self._limit - self._unfinished
                if room < self._refill:
                    self._held_changed.wait(_POLL_SECONDS)
                    continue
            link = self._link
            if link is None:
                return
            try:
                batch = link.desk.take(room, _POLL_SECONDS, self.node_id)
                if not isinstance(batch, list):  # an answer out of step: the link cannot be trusted
                    raise EOFError(f"take gave {type(batch).__name__}")
                if not batch and self._crawl_state(link) == "finished":  # the desk closes at the end
                    return
            except broker.CONNECTION_ERRORS:
                self._reconnect(link)
                continue
            taken_at = time.monotonic()
            for message in batch:
                try:
                    chain = read_chain(message)
                except BadMessage as exc:
                    log.warning("worker %s: dropped a malformed task: %s", self.node_id, exc)
                    continue
                if self._jar.needs(chain[-1]["cookies"]) and self._session is not None:  # a chain's left together
                    # here, on the feeder's connection: a fetcher thread would open one of its own
                    self._catch_up_cookies(self._session, chain[-1]["cookies"])
                with self._held_changed:
                    self._held.update(task["id"] for task in chain)
                    self._unfinished += 1
                self._inbox.put(_Chain(chain, taken_at))

    def _fetch_loop(self, handler: TaskHandler, session: requests.Session) -> None:
        """One fetcher thread: chains from the inbox until the end.

        A chain's tasks run in turn. Once one fails in a way worth another attempt (the origin may be
        down, or asking us to slow down), the rest go back unfetched, for the scheduler to pace; so
        do they once the crawl or this node is stopping (a limit, an interrupt), which then ends as
        soon as the task in hand, not the whole chain, is done. Once the crawl is stopping, a chain
        or task that waited here is not started at all: only what was in hand still lands. A task
        starts no sooner than its wait after it was taken (its origin's gap ends then).
        """
        try:
            while (taken := self._inbox.get()) is not None:
                with self._held_changed:
                    self._busy += 1
                hand_back = False
                chain = taken.tasks
                for position, task in enumerate(chain, 1):
                    hand_back = hand_back or self._winding_down or (position > 1 and self._stop.is_set())
                    if hand_back:
                        result = make_result(task, self.node_id, Outcome.FAILED, reason=NOT_STARTED, retryable=True)
                    else:
                        _sleep_until(taken.taken_at + task["wait"])  # its origin's gap ends then
                        self._set_cookies.start()
                        self._hsts.start()
                        result = handler.handle(task, session)
                        result["cookies"] = self._set_cookies.taken()
                        result["hsts"] = self._hsts.taken()
                    self._finished(result, attempted=not hand_back, chain_done=position == len(chain))
                    hand_back = hand_back or result["retryable"]
        finally:
            self._outbox.put(None)

    def _catch_up_cookies(self, session: requests.Session, task_cookies: int | None = None) -> None:
        """Take the crawl's cookie jar into this node's session (node.cookies); a lost link leaves
        it for the next task or the next bulletin read, which reconnect."""
        link = self._link
        if link is None:
            return
        try:
            self._jar.catch_up(link.bulletin.cookies, session, task_cookies)
        except broker.CONNECTION_ERRORS:
            pass

    def _finished(self, result: Result, attempted: bool, chain_done: bool) -> None:
        """Hand a task's result to the reporter; once `chain_done` (its fetcher is free), free its room."""
        self._outbox.put(_Answer(result.copy(), chain_done, time.monotonic()))
        if chain_done:
            with self._chain_ended:
                self._chains_ended += 1
                self._chain_ended.notify()
        with self._held_changed:  # N fetchers count: += is no atomic step
            self.done += attempted
            self._unfinished -= chain_done
            self._busy -= chain_done
            if self._limit - self._unfinished >= self._refill:
                self._held_changed.notify()

    def _wait_for_company(self, first: _Answer | None) -> None:
        """Hold the first result of a batch back a moment where that keeps no host waiting, so that
        those behind it leave in the same put(): each put is a round trip that costs both ends CPU
        (one result a put, a one-site crawl's scheduler spent half its CPU on them).

        The scheduler frees a host's politeness slot only when the result that frees it arrives,
        so a result waits (up to _REPORT_GATHER_SECONDS) only while every fetcher has a task in
        hand, when waiting starves nobody, or while its chain goes on, whose slot stays held until
        the chain's last result: until then, or until some other chain's last result comes; or
        where a --delay paces every host, for at most half the gap: the slot is free again long
        before the gap ends, which the scheduler counts from the response's end (the result says
        how long it was held). Otherwise it leaves at once, with whatever piled up while the last
        put() was on the wire (group commit).
        """
        if first is None:
            return
        if self._busy >= self.config.threads:  # an int read: no lock needed
            time.sleep(_REPORT_GATHER_SECONDS)
        elif not first.ends_chain:
            with self._chain_ended:
                self._chain_ended.wait_for(lambda: self._chains_ended > self._chains_taken, _REPORT_GATHER_SECONDS)
        elif self._paced_hold:
            time.sleep(self._paced_hold)

    def _report_loop(self, fetchers: list[threading.Thread]) -> None:
        """Send results as they come, each batch holding whatever finished while the last was sent."""
        ended = 0  # fetchers that have said they are done
        while ended < len(fetchers):
            first = self._outbox.get()
            self._wait_for_company(first)
            gathered = [first]
            chars = 0 if first is None else result_chars(first.result)
            # Bounded in count and size: the scheduler drops a connection whose message is too big.
            while len(gathered) < _REPORT_BATCH and chars < _REPORT_BATCH_CHARS:
                try:
                    answer = self._outbox.get_nowait()
                except queue.Empty:
                    break
                gathered.append(answer)
                chars += 0 if answer is None else result_chars(answer.result)
            answers = [answer for answer in gathered if answer is not None]
            self._chains_taken += sum(answer.ends_chain for answer in answers)
            sending = time.monotonic()
            for answer in answers:  # the scheduler counts the origin's gap from the response's end
                answer.result["held"] = round(sending - answer.ended_at, 4)
            batch = [answer.result for answer in answers]
            ended += len(gathered) - len(batch)
            if batch and not self._put(batch):
                return  # the scheduler is gone for good; run() reports it
            with self._held_changed:
                self._held.difference_update(result["task_id"] for result in batch)


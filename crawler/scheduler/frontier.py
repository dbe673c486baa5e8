"""What to fetch next, and when: pending URLs per origin, the seen-set, leases, politeness, robots.

The frontier decides; the `CrawlStore` remembers. The clock is passed in, so tests need no sleeps.
"""

from __future__ import annotations

import heapq
import itertools
import json
import logging
import secrets
from collections import OrderedDict, deque
from dataclasses import dataclass, field

from crawler.config import Politeness
from crawler.messages import (
    MAX_CHAIN_TASKS,
    VALIDATOR_KEYS,
    Kind,
    Outcome,
    Task,
    make_task,
    make_task_id,
    parse_task_id,
)
from crawler.scheduler.robots import ALLOW_ALL, MAX_WILDCARD_RULES, RobotsRules
from crawler.scheduler.store import (
    UNFINISHED,
    CrawlStore,
    UrlRow,
    UrlStatus,
    dispatch_origin,
    referrer_policy_of,
    robots_key,
)
from crawler.urls import origin_of

log = logging.getLogger(__name__)
_SAID_PAUSE_SECONDS = 5.0  # a Retry-After this long or longer is said in the log: the crawl visibly waits
_RESOURCE_KINDS = (Kind.IMAGE, Kind.STYLESHEET, Kind.SITEMAP, Kind.MENU)  # queued apart from pages, and taken first
# Gaps end on a clock of this step: each dispatch round hands out every task whose origin's gap
# ends before the step is over, saying how long the node waits before it starts it (its `wait`).
# A crawl a --delay paces then wakes the scheduler once a step and hands its nodes several tasks a
# take, not one of each for every request; the gaps stay as long as they were (the node waits them out).
DISPATCH_STEP_SECONDS = 0.02


def step_end(now: float) -> float:
    """The end of the dispatch step `now` falls in: what a round may hand out has its gap end by then."""
    return (now // DISPATCH_STEP_SECONDS + 1) * DISPATCH_STEP_SECONDS


def known_validators(fetch: str) -> dict[str, str]:
    """The validators a re-crawl's conditional request carries, from a row's last fetch."""
    return {key: value for key, value in json.loads(fetch).items() if key in VALIDATOR_KEYS}


@dataclass
class Lease:
    """A dispatched task that has not been answered yet."""

    task_id: str
    url_id: int
    origin: str
    kind: str
    expires: float
    row: UrlRow  # the URL as leased, so an answer needs no database read
    node: str | None = None  # set when a node's heartbeat names the task
    chain: str | None = None  # the first task's id, for a task sent in a chain (see next_tasks)
    unclaimed_since: float | None = None  # first seen neither queued nor held by any node


@dataclass
class _Host:
    """One origin's queue and politeness state."""

    origin: str
    pending: deque[int] = field(default_factory=deque)  # page URL ids; a robots.txt task goes first
    # Images and stylesheets go before more pages: a crawl cut short (--max-time, --max-pages,
    # Ctrl-C) then has the images of the pages it did fetch.
    resources: deque[int] = field(default_factory=deque)
    in_flight: int = 0
    next_time: float = 0.0  # no request to this origin before this moment (its task may go out sooner, to wait)
    delay: float = 0.0
    rules: RobotsRules | None = None  # None until robots.txt is known
    robots_failed: bool = False  # robots.txt could not be fetched: nothing else is requested
    paused_until: float = 0.0  # the end of the last pause its Retry-After asked for, which was said


@dataclass(frozen=True)
class Dropped:
    """A URL that left the frontier without a fetch: disallowed by robots, or out of attempts."""

    row: UrlRow
    outcome: Outcome  # skipped or failed
    reason: str
    attempts: int
    gave_up: bool = False  # a failure that might have passed another time (out of attempts, not final)


class Frontier:
    """Pending URLs per origin, leases of dispatched tasks, and the rules for what may go out next."""

    def __init__(self, store: CrawlStore, politeness: Politeness, *, lease_seconds: float,
                 max_attempts: int, backoff_seconds: float) -> None:
        self._store = store
        self._robots_given_up: set[str] = set()  # origins an earlier run gave up on (filled by restore)
        self._politeness = politeness
        self._lease_seconds = lease_seconds
        self._max_attempts = max_attempts
        self._backoff_seconds = backoff_seconds
        # The seen-set holds 64-bit hash() values, not the strings (which stay in SQLite): the whole
        # scheduler measured 95 bytes per queued URL at a million. Two URLs with one hash (about
        # 1 in 10^7 at a million URLs) would skip the second.
        self._seen: set[int] = set()
        self._hosts: dict[str, _Host] = {}
        self._active: OrderedDict[str, None] = OrderedDict()  # origins with pending URLs, round robin
        self._delayed: list[tuple[float, int, str, str]] = []  # (due, url id, origin, kind) retries waiting
        self._leases: dict[str, Lease] = {}
        self._expiries: list[tuple[float, str]] = []  # (expires, task id), a heap; stale entries skipped
        self._gaps_end: list[tuple[float, str]] = []  # (end, origin) of gaps (--delay, Retry-After), a heap
        self._lease_of_url: dict[int, str] = {}
        self._chain_open: dict[str, int] = {}  # chain -> its leases not ended: the chain holds its slot till 0
        self.dropped: list[Dropped] = []  # drained by the scheduler, which records them
        self.run_id = secrets.token_hex(4)  # in every task id: answers to an earlier run's tasks are told apart
        self.pending_count = 0
        # With several schedulers on one crawl (hosts.py): the origins this one dispatches to. A URL
        # of another origin is only recorded; its owner learns of it from the store. None: all.
        self.owned: set[str] | None = None

    # -- adding -------------------------------------------------------------------------------

    def seen(self, canonical: str) -> bool:
        return hash(canonical) in self._seen

    def add(self, url: str, canonical: str, kind: Kind, depth: int, page_url: str | None,
            hops: int = 0, found_as: str | None = None, words: str | None = None) -> bool:
        """Queue a URL unless it was seen before; return True if it is new."""
        key = hash(canonical)
        if key in self._seen:
            return False
        self._seen.add(key)
        url_id = self._store.add_url(canonical, url, kind, depth, page_url, hops, found_as, words)
        origin = origin_of(canonical)
        if self.owned is None or origin in self.owned:
            self._enqueue(origin, url_id, kind)
        return True

    def _host(self, origin: str) -> _Host:
        host = self._hosts.get(origin)
        if host is None:
            host = self._hosts[origin] = _Host(origin, delay=self._politeness.delay_seconds)
            if not self._politeness.obey_robots:
                host.rules = ALLOW_ALL
            else:
                known, text = self._store.robots_text(origin)
                if known:
                    self._apply_robots(host, text)
                elif origin in self._robots_given_up:
                    host.robots_failed = True
                elif self.owned is not None and self._robots_elsewhere(host):
                    pass
                elif not self.seen(robots_key(origin)):
                    robots_id = self._store.add_url(robots_key(origin), f"{origin}/robots.txt", Kind.ROBOTS,
                                                    0, None, 0)
                    self._seen.add(hash(robots_key(origin)))
                    host.pending.appendleft(robots_id)
                    self.pending_count += 1
                # else: unfinished when an earlier run stopped; restore() queues it
        return host

    def _robots_elsewhere(self, host: _Host) -> bool:
        """Shared crawl: True if another scheduler recorded this origin's robots.txt row (then it
        is among the origin's unfinished URLs, or it ended without rules: the site is skipped)."""
        row = self._store.find_url(robots_key(host.origin))
        if row is None:
            return False
        self._seen.add(hash(robots_key(host.origin)))
        if row.status not in UNFINISHED:
            host.robots_failed = True
        return True

    def adopt(self, origin: str, rows: list[UrlRow]) -> None:
        """Shared crawl: this scheduler now dispatches to `origin`; queue its unfinished URLs (those a
        scheduler that is gone had leased are pending again)."""
        assert self.owned is not None
        self.owned.add(origin)
        for row in sorted(rows, key=lambda row: (row.kind != Kind.ROBOTS, row.id)):
            if row.id in self._lease_of_url:
                continue  # ours already, in flight
            if row.status == UrlStatus.LEASED:
                self._store.requeue(row.id, None, row.attempts)
            self._seen.add(hash(row.canonical))
            self._enqueue(origin, row.id, row.kind, front=row.kind == Kind.ROBOTS)

    def accept(self, rows: list[UrlRow]) -> None:
        """Shared crawl: queue URLs other schedulers found on origins this one dispatches to."""
        for row in rows:
            origin = self.origin_of_row(row)
            self._seen.add(hash(row.canonical))
            if self.owned is not None and origin in self.owned and row.status == UrlStatus.PENDING:
                self._enqueue(origin, row.id, row.kind, front=row.kind == Kind.ROBOTS)

    def disown(self, origin: str) -> None:
        """Shared crawl: another scheduler dispatches to `origin` now; forget its queue (tasks in
        flight are still answered here)."""
        if self.owned is not None:
            self.owned.discard(origin)
        host = self._hosts.pop(origin, None)
        if host is not None:
            self.pending_count -= len(host.pending) + len(host.resources)
            self._active.pop(origin, None)
            if host.in_flight:  # its leases end here as answers come; keep counting them
                self._hosts[origin] = _Host(origin, in_flight=host.in_flight, rules=host.rules)

    def idle_origins(self) -> list[str]:
        """Owned origins with nothing in flight here (what can be handed to another scheduler)."""
        return [origin for origin in (self.owned or ()) if not (self._hosts.get(origin) and
                                                                 self._hosts[origin].in_flight)]

    def _enqueue(self, origin: str, url_id: int, kind: str, front: bool = False) -> None:
        host = self._host(origin)
        queue = host.resources if kind in _RESOURCE_KINDS else host.pending
        if front:
            queue.appendleft(url_id)
        else:
            queue.append(url_id)
        self.pending_count += 1
        self._active[origin] = None

    def restore(self) -> int:
        """Reload an earlier run's seen-set, robots.txt given up on, and unfinished URLs (all pending again;
        a shared crawl's come with the origins this scheduler claims)."""
        self._seen.update(hash(canonical) for canonical in self._store.canonicals())
        self._robots_given_up.update(self._store.finished_robots())
        if self.owned is not None:
            return 0
        restored = 0
        for row in self._store.restore():
            self._enqueue(self.origin_of_row(row), row.id, row.kind, front=row.kind == Kind.ROBOTS)
            restored += 1
        return restored

    # -- robots ---------------------------------------------------------------------------------

    def _apply_robots(self, host: _Host, text: str | None) -> None:
        host.rules = RobotsRules(text)
        if host.rules.too_costly:
            log.warning("scheduler: %s: its robots.txt holds %d rules with wildcards (more than %d, each a pattern "
                        "search for every URL): taking every URL there as disallowed", host.origin,
                        host.rules.wildcard_rules, MAX_WILDCARD_RULES)
        crawl_delay = host.rules.crawl_delay()
        if crawl_delay is not None and crawl_delay > host.delay:
            capped = min(crawl_delay, self._politeness.max_crawl_delay_seconds)
            if capped < crawl_delay:
                log.warning("scheduler: %s asks for Crawl-delay %gs; using %gs", host.origin,
                            crawl_delay, capped)
            else:  # else a slow crawl of that site says nothing of why
                log.info("scheduler: %s asks for Crawl-delay %gs in its robots.txt: one request every %gs there "
                         "(--delay %gs)", host.origin, crawl_delay, capped, host.delay)
            host.delay = capped

    def set_robots(self, origin: str, text: str | None) -> None:
        """Record an origin's robots.txt (None: allow everything) and apply it."""
        self._store.set_robots(origin, text)
        self._apply_robots(self._host(origin), text)

    # -- dispatching ----------------------------------------------------------------------------

    def next_task(self, now: float, allow_images: bool = True) -> Task | None:
        """Return the next task that politeness allows now, leasing it; None if none is ready."""
        tasks = self.next_tasks(now, allow_images, chain=False)
        return tasks[0] if tasks else None

    def next_tasks(self, now: float, allow_images: bool = True, chain: bool = True) -> list[Task]:
        """Return the next tasks that politeness allows now, leased; [] if none is ready.

        One task, or with `chain` and an origin with no gap to keep between its requests (delay 0,
        no Crawl-delay) and more waiting than its free slots, a chain of its next tasks: one node
        runs them one after another, and the chain holds one of the origin's --per-host slots until
        its last answer. The cap holds, and a slot's next request no longer waits for a round trip
        through the scheduler.
        """
        for _ in range(len(self._active)):
            origin, _unused = self._active.popitem(last=False)
            host = self._hosts[origin]
            tasks = self._take_chain(host, now, allow_images, chain)
            if host.pending or host.resources:
                self._active[origin] = None  # to the back: round robin between origins
            if tasks:
                return tasks
        return []

    @property
    def waiting_origins(self) -> int:
        """Origins with URLs waiting to be dispatched."""
        return len(self._active)

    def _take_chain(self, host: _Host, now: float, allow_images: bool, chain: bool) -> list[Task]:
        first = self._take(host, now, allow_images)
        if first is None:
            return []
        tasks = [first]
        if chain and host.delay == 0 and host.rules is not None:  # robots.txt known: its task goes alone
            # What waits is shared between this slot and the others still free.
            waiting = 1 + len(host.pending) + len(host.resources)
            free_slots = 1 + self._politeness.per_host - host.in_flight
            length = min(MAX_CHAIN_TASKS, -(-waiting // free_slots))
            while len(tasks) < length:
                task = self._take(host, now, allow_images, position=len(tasks))
                if task is None:
                    break
                tasks.append(task)
        if len(tasks) > 1:
            self._chain_open[first["id"]] = len(tasks)
            for task in tasks:
                self._leases[task["id"]].chain = first["id"]
        return tasks

    def _queue_to_take(self, host: _Host, allow_images: bool) -> deque[int] | None:
        """Images and stylesheets first once robots.txt is settled (and images are not paused), then pages."""
        if host.resources and (host.rules is not None or host.robots_failed) and allow_images:
            return host.resources
        return host.pending or host.resources or None

    def _take(self, host: _Host, now: float, allow_images: bool, position: int = 0) -> Task | None:
        """Lease the origin's next task if politeness allows; `position` > 0: the next of a chain,
        which runs in the slot its first task took."""
        while (queue := self._queue_to_take(host, allow_images)) is not None:
            if (position == 0 and host.in_flight >= self._slots(host)) or host.next_time > step_end(now):
                return None
            row = self._store.get_url(queue[0], itertools.islice(queue, 1, None))
            if row is None:  # a hash collision's twin that SQLite refused: nothing to fetch
                queue.popleft()
                self.pending_count -= 1
                continue
            robots_task = row.kind == Kind.ROBOTS
            # A site whose robots.txt could not be had is skipped: its URLs leave the queue now
            # (this test comes before the wait for robots.txt, which would otherwise never end).
            if not robots_task and host.robots_failed:
                queue.popleft()
                self.pending_count -= 1
                if row.status == UrlStatus.PENDING:
                    self._drop(row, Outcome.SKIPPED, "robots-unavailable", row.attempts)
                continue
            if not robots_task and host.rules is None:
                return None  # robots.txt first
            if row.kind == Kind.IMAGE and not allow_images:
                return None
            queue.popleft()
            self.pending_count -= 1
            if row.status != UrlStatus.PENDING:  # finished meanwhile by a late answer to an earlier lease
                continue
            if not robots_task and host.rules is not None and not host.rules.allows(row.url):
                self._drop(row, Outcome.SKIPPED, "robots", row.attempts)
                continue
            return self._lease(host, row, now, position)
        return None

    def _slots(self, host: _Host) -> int:
        """Requests the origin may have in flight: --per-host, but one where a gap is kept between
        its requests (--delay, Crawl-delay). The frontier knows when a task went out, not when its
        request started: a second one in flight was spaced from the first's dispatch, and a node
        that started the first late (its fetchers busy, a pause of its process) put the two closer
        than the gap. One at a time, the next goes a gap after the last answer, as Heritrix and
        Nutch space a host's requests."""
        return 1 if host.delay > 0 else self._politeness.per_host

    def _lease(self, host: _Host, row: UrlRow, now: float, position: int) -> Task:
        leased = self._store.lease(row)
        task_id = make_task_id(row.id, leased.attempts, self.run_id)
        starts = max(now, host.next_time)  # the origin's gap ends then (within this dispatch step)
        expires = starts + self._lease_seconds * (position + 1)  # a chained task starts when those before it end
        self._leases[task_id] = Lease(task_id, row.id, host.origin, row.kind, expires, leased)
        heapq.heappush(self._expiries, (expires, task_id))
        self._lease_of_url[row.id] = task_id
        if position == 0:
            host.in_flight += 1
        self._keep_gap(host, starts, host.delay)
        task = make_task(task_id, row.kind, row.url, row.depth, row.page_url, row.hops,
                         known_validators(row.fetch) if row.fetch else None, referrer_policy_of(row.words))
        task["wait"] = starts - now
        return task

    def fail(self, row: UrlRow, reason: str, outcome: Outcome = Outcome.FAILED) -> None:
        """Record a URL as failed (or skipped) for good."""
        self._drop(row, outcome, reason, max(row.attempts, 1))

    def in_flight_of(self, kind: Kind) -> int:
        return sum(1 for lease in self._leases.values() if lease.kind == kind)

    def _drop(self, row: UrlRow, outcome: Outcome, reason: str, attempts: int, gave_up: bool = False) -> None:
        self._store.finish(row.id, UrlStatus.FAILED if outcome == Outcome.GONE else UrlStatus(outcome.value),
                           reason, attempts)
        self.dropped.append(Dropped(row, outcome, reason, attempts, gave_up))
        if row.kind == Kind.ROBOTS:  # robots.txt failed for good: request nothing else from that origin
            self._host(self.origin_of_row(row)).robots_failed = True

    # -- answers --------------------------------------------------------------------------------

    def complete(self, task_id: str, now: float) -> UrlRow | None:
        """End the lease of `task_id`; return its URL's row, or None if the URL is finished already.

        The origin's next request waits `delay` from `now` too (when the response ended), so the
        gap holds between one response and the next request, not only between dispatches.
        """
        parsed = parse_task_id(task_id)
        if parsed is None or parsed[2] != self.run_id:
            return None  # forged, or sent by an earlier run (whose URL ids may name other URLs now)
        url_id = parsed[0]
        lease_id = self._lease_of_url.pop(url_id, None)
        if lease_id is not None:
            lease = self._leases.pop(lease_id)
            self._end_lease(lease)
            host = self._hosts.get(lease.origin)
            if host is not None:
                self._keep_gap(host, now, host.delay)
            return lease.row  # leased, so not finished: no need to ask the database
        row = self._store.get_url(url_id)
        if row is None:  # no such URL: a forged or stale id
            return None
        # A late answer to an expired lease still counts if nobody else finished the URL.
        return row if row.status in UNFINISHED else None

    def _end_lease(self, lease: Lease) -> None:
        if lease.chain is not None:  # the chain's slot stays taken until its last lease ends
            left = self._chain_open.pop(lease.chain) - 1
            if left:
                self._chain_open[lease.chain] = left
                return
        host = self._hosts.get(lease.origin)
        if host is not None:
            host.in_flight -= 1

    def finish(self, row: UrlRow, reason: str | None = None) -> None:
        """Record a URL as done (`reason`: how, when it was not a plain fetch: redirect, duplicate)."""
        self._store.finish(row.id, UrlStatus.DONE, reason, row.attempts)

    def retry_or_fail(self, row: UrlRow, reason: str, now: float, retry_after: float | None = None,
                      max_attempts: int | None = None) -> bool:
        """Schedule another attempt with exponential backoff; False (and recorded as failed) when out of tries
        (`max_attempts`, when given and lower, bounds this URL's tries below the crawl's)."""
        attempts = max(row.attempts, 1)
        if attempts >= min(self._max_attempts, max_attempts or self._max_attempts):
            self._drop(row, Outcome.FAILED, reason, attempts, gave_up=True)
            return False
        delay = self._backoff_seconds * 2 ** (attempts - 1)
        origin = self.origin_of_row(row)
        if retry_after is not None:
            capped = min(retry_after, self._politeness.max_retry_after_seconds)
            delay = max(delay, capped)
            host = self._host(origin)
            if capped >= _SAID_PAUSE_SECONDS and now >= host.paused_until:  # once a pause: else the crawl
                host.paused_until = now + capped  # idles minutes with nothing in flight, and says nothing of why
                log.info("scheduler: %s asks to wait (%s, Retry-After %gs): nothing goes there for %gs%s", origin,
                         reason, retry_after, capped, " (the longest wait kept)" if capped < retry_after else "")
            self._keep_gap(host, now, capped)  # the whole origin slows down
        self._store.requeue(row.id, reason, attempts)
        heapq.heappush(self._delayed, (now + delay, row.id, origin, row.kind))
        return True

    def origin_of_row(self, row: UrlRow) -> str:
        """The origin a URL is fetched from (for robots.txt tasks, the origin it belongs to)."""
        return dispatch_origin(row)

    def attribute(self, task_ids: list[str], node: str) -> None:
        """Note which node holds these tasks (from its heartbeat)."""
        for task_id in task_ids:
            lease = self._leases.get(task_id)
            if lease is not None:
                lease.node = node

    def _keep_gap(self, host: _Host, now: float, seconds: float) -> None:
        """No request to `host` for `seconds` from `now` (a gap that ends later stands). No gap moves
        nothing: a result read after its round began would otherwise hold the origin back from that
        round's dispatch, and with no gap to end, nothing woke the scheduler for it."""
        until = now + seconds
        if seconds > 0 and until > host.next_time:
            host.next_time = until
            heapq.heappush(self._gaps_end, (until, host.origin))

    def next_wake(self, now: float) -> float | None:
        """When a task held back by politeness may next go out (the dispatch step in which an
        origin's gap ends begins, a retry falls due), for the scheduler to wake then rather than at
        its next idle poll; None if nothing waits on time. A gap that ends and finds nothing to send
        costs one idle round."""
        gaps = self._gaps_end
        while gaps and self._gap_stale(*gaps[0], now):
            heapq.heappop(gaps)
        soonest = []
        if gaps:
            gap_end = gaps[0][0]
            step_begins = step_end(gap_end - DISPATCH_STEP_SECONDS)  # the round there hands its task out
            # Past already: that round could not send it (the origin's slots were taken, robots.txt
            # first…); the gap's end is the time to look again.
            soonest.append(step_begins if step_begins > now else gap_end)
        if self._delayed:
            soonest.append(self._delayed[0][0])
        return min(soonest, default=None)

    def _gap_stale(self, end: float, origin: str, now: float) -> bool:
        """The gap is over, or was made longer since (its new end has an entry of its own), or its
        origin went to another scheduler."""
        host = self._hosts.get(origin)
        return end <= now or host is None or host.next_time != end

    def tick(self, now: float) -> list[UrlRow]:
        """Requeue retries that are due and expire overdue leases; return the rows whose lease expired."""
        while self._delayed and self._delayed[0][0] <= now:
            _due, url_id, origin, kind = heapq.heappop(self._delayed)
            self._enqueue(origin, url_id, kind, front=True)
        overdue = []
        while self._expiries and self._expiries[0][0] <= now:
            _expires, task_id = heapq.heappop(self._expiries)
            lease = self._leases.get(task_id)
            if lease is not None and lease.expires <= now:
                overdue.append(lease)
        return self._expire(overdue)

    def expire_node(self, node: str) -> list[UrlRow]:
        """Take back every lease held by a node that stopped sending heartbeats."""
        return self._expire([lease for lease in self._leases.values() if lease.node == node])

    def _expire(self, leases: list[Lease]) -> list[UrlRow]:
        expired = []
        for lease in leases:
            del self._leases[lease.task_id]
            self._lease_of_url.pop(lease.url_id, None)
            self._end_lease(lease)
            expired.append(lease.row)
        return expired

    def expire_unclaimed(self, accounted: set[str], now: float, grace_seconds: float) -> list[UrlRow]:
        """Take back leases that no queue and no node has accounted for during `grace_seconds`.

        A node killed while blocked in `get()` leaves a server thread that takes the next task
        and drops it; nobody will ever report that task, so its lease would otherwise run its
        full length.
        """
        lost = []
        for lease in self._leases.values():
            if lease.task_id in accounted:
                lease.unclaimed_since = None
            elif lease.unclaimed_since is None:
                lease.unclaimed_since = now
            elif now - lease.unclaimed_since > grace_seconds:
                lost.append(lease)
        return self._expire(lost)

    def put_back(self, row: UrlRow, now: float, delay_seconds: float) -> None:
        """Try a URL again later without counting the attempt (the failure was ours, not the site's)."""
        self._store.requeue(row.id, None, max(row.attempts - 1, 0))
        heapq.heappush(self._delayed, (now + delay_seconds, row.id, self.origin_of_row(row), row.kind))

    def release(self, task_id: str) -> None:
        """Put a dispatched task that was never taken by a node back at the front, uncounted."""
        lease = self._leases.pop(task_id, None)
        if lease is None:
            return
        self._lease_of_url.pop(lease.url_id, None)
        self._end_lease(lease)
        row = lease.row
        self._store.requeue(row.id, None, max(row.attempts - 1, 0))
        self._enqueue(lease.origin, row.id, lease.kind, front=True)

    # -- counts ---------------------------------------------------------------------------------

    def busiest_hosts(self, limit: int = 5) -> list[dict[str, int | str]]:
        """Return the origins with the most work queued or in flight."""
        ranked = sorted(self._hosts.values(), key=lambda h: (h.in_flight, len(h.pending) + len(h.resources)),
                        reverse=True)
        return [{"origin": h.origin, "in_flight": h.in_flight, "pending": len(h.pending) + len(h.resources)}
                for h in ranked[:limit] if h.in_flight or h.pending or h.resources]

    @property
    def in_flight(self) -> int:
        return len(self._leases)

    @property
    def delayed(self) -> int:
        return len(self._delayed)

    def is_empty(self) -> bool:
        """True when nothing is pending, waiting for a retry, or in flight: the crawl is over."""
        return self.pending_count == 0 and not self._delayed and not self._leases

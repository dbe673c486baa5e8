"""The crawl's durable store: the one interface the scheduler talks to for everything that must last.

What a backend keeps: each URL once (by canonical form) with its kind, depth, where it was found,
status and attempts (for images also their words and how many pages referred to them); the
content hashes of stored images and where they went; the manifest and failure records, in order;
each origin's robots.txt. What it does not keep: timers. Leases, backoff
and politeness are the frontier's, in memory; a restart makes every leased URL pending again.

`SqliteStore` (sqlite_store.py) is the embedded default; `MemoryStore` here holds the same in
dictionaries, for unit tests and throwaway crawls. tests/test_store_contract.py says what every
backend must do, and runs against each.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

from crawler.messages import REFERRER_POLICIES, Kind, Word
from crawler.urls import DEFAULT_REFERRER_POLICY, origin_of


class UrlStatus(Word):
    """Where a URL stands in the crawl."""

    PENDING = "pending"  # waiting to go out (or for a retry)
    LEASED = "leased"  # out as a task, not answered yet
    DONE = "done"  # fetched (a redirect is done too: its target is a URL of its own)
    FAILED = "failed"  # for good, recorded in failures.jsonl
    SKIPPED = "skipped"  # not fetched by rule, or fetched and not wanted; recorded too


UNFINISHED = (UrlStatus.PENDING, UrlStatus.LEASED)
LEASED_TEXT = str(UrlStatus.LEASED)  # the plain string, once: lease() runs for every task
RECORD_TABLES = ("manifest", "failures")
# What a new crawl where one is saved is refused with: the same command run again a week later
# most likely wants the re-crawl (conditional requests), which it would not find by --fresh.
EARLIER_CRAWL_CHOICES = ("holds an earlier crawl; add --resume to carry on, --recrawl to fetch only what changed "
                         "since, or --fresh to start over")


class UrlRow(NamedTuple):
    id: int
    canonical: str  # the seen-set key
    url: str  # as it is requested
    kind: str  # a Kind's value
    depth: int
    page_url: str | None
    hops: int  # redirects followed to reach it
    status: str  # a UrlStatus's value
    attempts: int
    found_as: str | None = None  # how the first reference showed an image (a Found's value)
    words: str | None = None  # an image's alt, title, caption, Referrer Policy from its first reference (image_words)
    fetch: str | None = None  # the last successful fetch, of an earlier run: validators and bytes (a JSON object)


def image_words(alt: str, title: str, caption: str, referrer_policy: str | None = None) -> str | None:
    """The words a page gave an image, and the Referrer Policy it set for it (when not a browser's
    default), as the store keeps them (a JSON object); None if it gave neither."""
    given: dict[str, str] = {"alt": alt, "title": title, "caption": caption} if alt or title or caption else {}
    if referrer_policy is not None and referrer_policy != DEFAULT_REFERRER_POLICY:
        given["referrer"] = referrer_policy
    return json.dumps(given, ensure_ascii=False) if given else None


def referrer_policy_of(words: str | None) -> str | None:
    """The Referrer Policy an image's stored words keep (see image_words), or None for the default."""
    if not words or '"referrer"' not in words:  # a quote inside the words is escaped: only the key matches
        return None
    policy = json.loads(words).get("referrer")
    return policy if policy in REFERRER_POLICIES else None


def dispatch_origin(row: UrlRow) -> str:
    """The origin a URL is fetched from (for robots.txt rows, the origin whose rules they are)."""
    return origin_of(row.url if row.kind == Kind.ROBOTS else row.canonical)


def robots_key(origin: str) -> str:
    """The seen-set key of an origin's robots.txt row (no page's canonical URL can look like it)."""
    return f"robots:{origin}"


class CrawlStore(ABC):
    """What the scheduler needs remembered. Changes may be buffered until `commit()`, but every read
    sees them at once; after `commit()` returns they survive a kill of the scheduler process."""

    resumed: bool  # True when the store held an earlier run's crawl

    # -- URLs -----------------------------------------------------------------------------------

    @abstractmethod
    def add_url(self, canonical: str, url: str, kind: Kind, depth: int, page_url: str | None, hops: int,
                found_as: str | None = None, words: str | None = None) -> int:
        """Record a new URL as pending and return its id (the caller has checked it is new)."""

    @abstractmethod
    def note_references(self, canonicals: list[str]) -> None:
        """One more page (or stylesheet, or sitemap) referred to each of these URLs as an image."""

    @abstractmethod
    def reference_counts(self) -> dict[str, int]:
        """{url: pages that referred to it as an image}, for the URLs that have any, each by the URL
        its row keeps (the manifest's: looking records up by canonical form cost 30 µs an image)."""

    @abstractmethod
    def get_url(self, url_id: int, upcoming: Iterable[int] = ()) -> UrlRow | None:
        """The URL with this id as it stands now, or None. `upcoming`: ids likely asked for next
        (a backend may read them in the same round trip)."""

    @abstractmethod
    def _set_status(self, url_id: int, status: UrlStatus, reason: str | None, attempts: int) -> None:
        """Change a URL's status (the verbs below are the public way)."""

    def lease(self, row: UrlRow) -> UrlRow:
        """Mark a pending URL as out for its next attempt; return it as leased."""
        leased = row._replace(status=LEASED_TEXT, attempts=row.attempts + 1)
        self._set_status(row.id, UrlStatus.LEASED, None, leased.attempts)
        return leased

    def requeue(self, url_id: int, reason: str | None, attempts: int) -> None:
        """Make a URL pending again (a retry, a task taken back), with the attempts that count."""
        self._set_status(url_id, UrlStatus.PENDING, reason, attempts)

    def finish(self, url_id: int, status: UrlStatus, reason: str | None, attempts: int) -> None:
        """End a URL for good: done, failed or skipped."""
        if status in UNFINISHED:
            raise ValueError(f"finish: {status} is not an end")
        self._set_status(url_id, status, reason, attempts)

    @abstractmethod
    def note_fetch(self, url_id: int, fetch: str | None, at: float) -> None:
        """Remember what the last successful fetch of a URL gave (validators and bytes, a JSON object;
        None forgets it) and when (POSIX time), for the next re-crawl to ask with. Rows read in the
        same run may show it or not (the scheduler keeps each leased row as it was leased)."""

    @abstractmethod
    def fetched_hashes(self) -> set[str]:
        """The sha256 of what every URL that is done gave at its last fetch (what the sites still serve)."""

    @abstractmethod
    def start_recrawl(self, fetched_before: float | None, fresh_at: float | None) -> tuple[int, int]:
        """Make the finished URLs (not robots.txt rows) fetched before that time (None: all) pending
        again, with their attempts at 0, but for those still fresh at `fresh_at` (see still_fresh;
        None: none is); so too the URLs skipped without a request (robots.txt forbade them or could
        not be read: see skipped_unasked); make every robots.txt row pending and forget the rules.
        Return how many URLs were made pending, and how many were left as still fresh."""

    @abstractmethod
    def restore(self) -> Iterator[UrlRow]:
        """After a restart: every unfinished URL, oldest first, the leased ones made pending again."""

    @abstractmethod
    def find_url(self, canonical: str) -> UrlRow | None:
        """The URL with this canonical form, or None (not for the hot path)."""

    def find_urls(self, canonicals: list[str]) -> list[UrlRow | None]:
        """find_url for each of these, in order (a backend may ask for many in one round trip)."""
        return [self.find_url(key) for key in canonicals]

    @abstractmethod
    def canonicals(self) -> Iterator[str]:
        """Every URL's canonical form (the seen-set to rebuild on resume)."""

    @abstractmethod
    def finished_robots(self) -> Iterator[str]:
        """Origins whose robots.txt row ended without rules being recorded (the crawl gave up on them)."""

    @abstractmethod
    def counts(self) -> dict[tuple[str, str], int]:
        """{(kind, status): number of URLs}."""

    # -- images and records ---------------------------------------------------------------------

    @abstractmethod
    def image_path_for(self, sha256: str) -> str | None:
        """Where content with this hash was stored, or None if it never was."""

    @abstractmethod
    def record_image(self, sha256: str, path: str, record: str) -> None:
        """Note stored content and its manifest record (a JSON text); content stored before is ignored."""

    @abstractmethod
    def forget_images(self, sha256s: set[str]) -> None:
        """Forget stored content and its manifest records (its files are gone from the output)."""

    @abstractmethod
    def record_failure(self, record: str) -> None:
        """Note a failure record (a JSON text)."""

    @abstractmethod
    def records(self, table: str) -> Iterator[dict[str, Any]]:
        """The "manifest" or "failures" records in the order they were written."""

    # -- robots.txt -----------------------------------------------------------------------------

    @abstractmethod
    def robots_text(self, origin: str) -> tuple[bool, str | None]:
        """(known, text) of an origin's robots.txt; text None means allow everything."""

    @abstractmethod
    def set_robots(self, origin: str, text: str | None) -> None:
        """Record an origin's robots.txt (None: there is none, allow everything)."""

    def shared_hosts(self) -> Any:
        """For a store several schedulers may share: who dispatches to which origin (hosts.SharedHosts).
        None: this scheduler is the crawl's only one."""
        return None

    # -- durability -----------------------------------------------------------------------------

    @abstractmethod
    def commit(self) -> None:
        """Make everything recorded so far durable, or raise StorageError (earlier commits stay)."""

    @abstractmethod
    def close(self) -> None:
        """Commit what can be committed and let go of the store."""


def still_fresh(noted: dict[str, Any], at: float | None) -> bool:
    """Whether a URL's last response is still fresh at time `at`, as its server said (the max_age
    of the fetch noted, counted from when it was noted); never when `at` is None."""
    if at is None:
        return False
    max_age = noted.get("max_age")
    if not max_age:
        return False
    return float(noted.get("at", 0.0)) + int(max_age) > at


def skipped_unasked(status: str, attempts: int) -> bool:
    """A URL the frontier skipped without a request: robots.txt forbade it, or could not be read
    (only those skips spend no attempt). A re-crawl reads robots.txt again, so it decides them again."""
    return status == UrlStatus.SKIPPED and attempts == 0


def recrawl_rows(store: CrawlStore, rows: Iterable[UrlRow], fetched_before: float | None,
                 fresh_at: float | None) -> tuple[int, int]:
    """start_recrawl's work for a store that reads its rows one by one: requeue them as it says."""
    again = fresh = 0
    for row in rows:
        if row.kind == Kind.ROBOTS:
            store.requeue(row.id, None, 0)
        elif row.status in (UrlStatus.DONE, UrlStatus.FAILED) or skipped_unasked(row.status, row.attempts):
            noted = json.loads(row.fetch) if row.fetch else {}  # when it was fetched, and how long it stays fresh
            if fetched_before is not None and float(noted.get("at", 0.0)) >= fetched_before:
                continue
            if still_fresh(noted, fresh_at):
                fresh += 1
            else:
                store.requeue(row.id, None, 0)
                again += 1
    return again, fresh


def check_table(table: str) -> None:
    if table not in RECORD_TABLES:
        raise ValueError(f"no record table {table!r}; there are {', '.join(RECORD_TABLES)}")


class MemoryStore(CrawlStore):
    """The store in dictionaries: everything the interface promises except surviving the process."""

    def __init__(self) -> None:
        self.resumed = False
        self._rows: dict[int, UrlRow] = {}
        self._next_id = 1
        self._reasons: dict[int, str | None] = {}
        self._canonicals: set[str] = set()
        self._images: dict[str, str] = {}
        self._records: dict[str, list[str]] = {table: [] for table in RECORD_TABLES}
        self._robots: dict[str, str | None] = {}
        self._references: Counter[str] = Counter()
        self._pending_fetches: dict[int, str | None] = {}  # noted, not shown by rows until a restore or re-crawl

    def add_url(self, canonical: str, url: str, kind: Kind, depth: int, page_url: str | None, hops: int,
                found_as: str | None = None, words: str | None = None) -> int:
        url_id = self._next_id
        self._next_id += 1
        if canonical in self._canonicals:  # as SQLite's UNIQUE: the id of a refused twin names nothing
            return url_id
        self._canonicals.add(canonical)
        self._rows[url_id] = UrlRow(url_id, canonical, url, str(kind), depth, page_url, hops,
                                    str(UrlStatus.PENDING), 0, found_as, words)
        return url_id

    def note_references(self, canonicals: list[str]) -> None:
        self._references.update(key for key in canonicals if key in self._canonicals)

    def note_fetch(self, url_id: int, fetch: str | None, at: float) -> None:
        self._pending_fetches[url_id] = fetch

    def fetched_hashes(self) -> set[str]:
        latest = {row.id: row.fetch for row in self._rows.values() if row.status == UrlStatus.DONE}
        latest.update((url_id, fetch) for url_id, fetch in self._pending_fetches.items() if url_id in latest)
        return {json.loads(fetch).get("sha256", "") for fetch in latest.values() if fetch}

    def start_recrawl(self, fetched_before: float | None, fresh_at: float | None) -> tuple[int, int]:
        self._apply_fetches()
        counted = recrawl_rows(self, list(self._rows.values()), fetched_before, fresh_at)
        self._robots.clear()
        return counted

    def _apply_fetches(self) -> None:
        """What was noted becomes part of the rows, as a restart does for the SQLite store."""
        for url_id, fetch in self._pending_fetches.items():
            self._rows[url_id] = self._rows[url_id]._replace(fetch=fetch)
        self._pending_fetches.clear()

    def reference_counts(self) -> dict[str, int]:
        urls = {row.canonical: row.url for row in self._rows.values()}
        return {urls[canonical]: count for canonical, count in self._references.items() if count > 0}

    def get_url(self, url_id: int, upcoming: Iterable[int] = ()) -> UrlRow | None:
        return self._rows.get(url_id)

    def _set_status(self, url_id: int, status: UrlStatus, reason: str | None, attempts: int) -> None:
        row = self._rows.get(url_id)
        if row is not None:
            self._rows[url_id] = row._replace(status=str(status), attempts=attempts)
            self._reasons[url_id] = reason

    def restore(self) -> Iterator[UrlRow]:
        self._apply_fetches()
        for row in list(self._rows.values()):
            if row.status in UNFINISHED:
                if row.status == UrlStatus.LEASED:
                    self.requeue(row.id, None, row.attempts)
                yield self._rows[row.id]

    def find_url(self, canonical: str) -> UrlRow | None:
        return next((row for row in self._rows.values() if row.canonical == canonical), None)

    def canonicals(self) -> Iterator[str]:
        yield from self._canonicals

    def finished_robots(self) -> Iterator[str]:
        for row in self._rows.values():
            if row.kind == Kind.ROBOTS and row.status not in UNFINISHED:
                origin = origin_of(row.url)
                if origin not in self._robots:
                    yield origin

    def counts(self) -> dict[tuple[str, str], int]:
        return dict(Counter((row.kind, row.status) for row in self._rows.values()))

    def image_path_for(self, sha256: str) -> str | None:
        return self._images.get(sha256)

    def record_image(self, sha256: str, path: str, record: str) -> None:
        if sha256 not in self._images:  # stored before: the first path and record stay
            self._images[sha256] = path
            self._records["manifest"].append(record)

    def forget_images(self, sha256s: set[str]) -> None:
        for sha256 in sha256s:
            self._images.pop(sha256, None)
        self._records["manifest"] = [record for record in self._records["manifest"]
                                     if json.loads(record).get("sha256") not in sha256s]

    def record_failure(self, record: str) -> None:
        self._records["failures"].append(record)

    def records(self, table: str) -> Iterator[dict[str, Any]]:
        check_table(table)
        yield from (json.loads(record) for record in self._records[table])

    def robots_text(self, origin: str) -> tuple[bool, str | None]:
        return (origin in self._robots, self._robots.get(origin))

    def set_robots(self, origin: str, text: str | None) -> None:
        self._robots[origin] = text

    def commit(self) -> None:
        pass  # nothing outlives the process

    def close(self) -> None:
        pass

"""What the SQLite and Redis stores share: changes buffered in memory, written in one batch.

The scheduler's hot path adds URLs and changes statuses for every task; a backend that took each
change to its database at once would spend more time there than in the crawl. So changes wait
in memory (every read sees them at once) until `_flush` hands them to the backend's `_write`
as one `Batch`, which the backend applies all or nothing.
"""

from __future__ import annotations

from abc import abstractmethod
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from crawler.messages import Kind
from crawler.scheduler.store import LEASED_TEXT, CrawlStore, UrlRow, UrlStatus

_READ_AHEAD_ROWS = 64  # rows one dispatch read fetches: the one asked for and the next in its host's queue
_READ_AHEAD_LIMIT = 8192  # rows held read ahead at most (with many hosts, the cache starts over)


@dataclass
class Batch:
    """Everything recorded since the last write, in the order a backend applies it."""

    rows: list[UrlRow] = field(default_factory=list)  # new URLs (a canonical form already stored is ignored)
    statuses: dict[int, tuple[str, str | None, int]] = field(default_factory=dict)  # id → (status, reason, attempts)
    fetches: dict[int, tuple[str | None, float]] = field(default_factory=dict)  # id → (fetch JSON, when)
    references: Counter[str] = field(default_factory=Counter)  # canonical → references to add
    images: dict[str, str] = field(default_factory=dict)  # sha256 → path of newly stored content
    records: list[tuple[str, str]] = field(default_factory=list)  # (table, JSON record), in order

    def __bool__(self) -> bool:
        return bool(self.rows or self.statuses or self.fetches or self.references or self.images or self.records)


class BufferedStore(CrawlStore):
    """A CrawlStore whose changes wait in memory for `_flush`; subclasses read and write the backend."""

    def __init__(self) -> None:
        self._new_rows: dict[int, UrlRow] = {}  # added since the last flush
        self._pending = Batch()  # everything else since the last flush
        self._stored_hashes: set[int] | None = None  # hash() of every stored sha256, loaded on first use
        # Rows read ahead for dispatch, one backend read for many (each is a GIL hand-off with the
        # manager's threads, or a round trip); a row leaves when its status changes, so what is
        # here is never stale.
        self._read_ahead: dict[int, UrlRow] = {}

    # -- what a backend provides ----------------------------------------------------------------

    @abstractmethod
    def _new_id(self) -> int:
        """An id no URL of the crawl has had."""

    @abstractmethod
    def _read_stored(self, ids: list[int]) -> list[UrlRow]:
        """The rows with these ids as last written (missing ids left out)."""

    @abstractmethod
    def _write(self, batch: Batch) -> None:
        """Apply a batch, all of it or (raising) none of it."""

    @abstractmethod
    def _stored_path(self, sha256: str) -> str | None:
        """Where content with this hash was stored, as last written."""

    @abstractmethod
    def _all_stored_hashes(self) -> Iterable[str]:
        """The sha256 of all stored content, as last written."""

    # -- shared -------------------------------------------------------------------------------------

    def _flush(self) -> None:
        """Hand what is buffered to the backend; the buffers empty only once it is written."""
        batch = self._pending
        batch.rows = list(self._new_rows.values())
        if not batch:
            return
        self._write(batch)
        self._new_rows.clear()
        self._pending = Batch()

    def add_url(self, canonical: str, url: str, kind: Kind, depth: int, page_url: str | None, hops: int,
                found_as: str | None = None, words: str | None = None) -> int:
        url_id = self._new_id()
        self._new_rows[url_id] = UrlRow(url_id, canonical, url, str(kind), depth, page_url, hops,
                                        str(UrlStatus.PENDING), 0, found_as, words)
        return url_id

    def get_url(self, url_id: int, upcoming: Iterable[int] = ()) -> UrlRow | None:
        row = self._new_rows.get(url_id) or self._read_ahead.pop(url_id, None)
        if row is None:
            row = self._read_rows(url_id, upcoming)
            if row is None:
                return None
        change = self._pending.statuses.get(url_id)
        return row if change is None else row._replace(status=change[0], attempts=change[2])

    def _read_rows(self, url_id: int, upcoming: Iterable[int]) -> UrlRow | None:
        if len(self._read_ahead) > _READ_AHEAD_LIMIT:
            self._read_ahead.clear()
        ids = [url_id]
        for other in upcoming:
            if len(ids) >= _READ_AHEAD_ROWS:
                break
            if other != url_id and other not in self._new_rows and other not in self._read_ahead:
                ids.append(other)
        found = None
        for row in self._read_stored(ids):
            change = self._pending.statuses.get(row.id)  # a flush empties the buffer: keep the change in the row
            if change is not None:
                row = row._replace(status=change[0], attempts=change[2])
            if row.id == url_id:
                found = row
            else:
                self._read_ahead[row.id] = row
        return found

    def _set_status(self, url_id: int, status: UrlStatus, reason: str | None, attempts: int) -> None:
        self._pending.statuses[url_id] = (str(status), reason, attempts)
        self._read_ahead.pop(url_id, None)

    def lease(self, row: UrlRow) -> UrlRow:  # once per task: the interface's version, one call fewer
        leased = row._replace(status=LEASED_TEXT, attempts=row.attempts + 1)
        self._pending.statuses[row.id] = (LEASED_TEXT, None, leased.attempts)
        self._read_ahead.pop(row.id, None)
        return leased

    def note_references(self, canonicals: list[str]) -> None:
        self._pending.references.update(canonicals)

    def note_fetch(self, url_id: int, fetch: str | None, at: float) -> None:
        self._pending.fetches[url_id] = (fetch, at)

    def image_path_for(self, sha256: str) -> str | None:
        if hash(sha256) not in self._stored_hashes_loaded():  # most images are new: answer without a read
            return None
        return self._pending.images.get(sha256) or self._stored_path(sha256)

    def record_image(self, sha256: str, path: str, record: str) -> None:
        if self.image_path_for(sha256) is not None:
            return  # stored before: the first path stays
        self._pending.images[sha256] = path
        self._stored_hashes_loaded().add(hash(sha256))
        self._pending.records.append(("manifest", record))

    def record_failure(self, record: str) -> None:
        self._pending.records.append(("failures", record))

    def _pending_again(self, unfinished: Iterable[UrlRow]) -> Iterator[UrlRow]:
        """restore()'s common part: the unfinished rows, those leased by a run that is over made pending."""
        for row in unfinished:
            if row.status == UrlStatus.LEASED:
                self.requeue(row.id, None, row.attempts)
                row = row._replace(status=str(UrlStatus.PENDING))
            yield row

    def _stored_hashes_loaded(self) -> set[int]:
        if self._stored_hashes is None:  # first call: learn what earlier runs stored
            self._flush()
            self._stored_hashes = {hash(sha256) for sha256 in self._all_stored_hashes()}
        return self._stored_hashes

    def _forget_hashes(self, sha256s: set[str]) -> None:
        if self._stored_hashes is not None:
            self._stored_hashes.difference_update(hash(sha256) for sha256 in sha256s)

"""The embedded crawl store: SQLite under OUTPUT/.crawler/, so a killed scheduler can resume.

Only the scheduler opens it (a lock file keeps a second one out). New URLs and status changes are
buffered in memory and written with `executemany` at each `commit()` (the scheduler commits every
50 ms): one transaction per batch, so `kill -9` loses at most the results of the last moment, and
the hot path makes few SQLite calls.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from crawler.errors import StateError, StorageError
from crawler.messages import Kind
from crawler.scheduler.store import LEASED_TEXT, UNFINISHED, CrawlStore, UrlRow, UrlStatus, check_table
from crawler.storage import STATE_DIR
from crawler.urls import origin_of

SCHEMA_VERSION = 1
_READ_AHEAD_ROWS = 64  # rows one dispatch query reads: the one asked for and the next in its host's queue
_READ_AHEAD_LIMIT = 8192  # rows held read ahead at most (with many hosts, the cache starts over)
_ROW_COLUMNS = "id, canonical, url, kind, depth, page_url, hops, status, attempts, found_as, words, fetch"  # UrlRow's
_SCHEMA = """
CREATE TABLE IF NOT EXISTS urls (
    id INTEGER PRIMARY KEY,
    canonical TEXT NOT NULL UNIQUE,
    url TEXT NOT NULL,
    kind TEXT NOT NULL,           -- page, image, stylesheet or robots
    depth INTEGER NOT NULL,
    page_url TEXT,
    hops INTEGER NOT NULL,
    status TEXT NOT NULL,         -- pending, leased, done, failed, skipped
    attempts INTEGER NOT NULL DEFAULT 0,
    reason TEXT,
    found_as TEXT,                -- how the first reference showed an image (img, css-linked, …)
    words TEXT,                   -- an image's alt, title and caption (JSON) from its first reference
    pages INTEGER NOT NULL DEFAULT 0,  -- pages that referred to it as an image
    fetch TEXT,                   -- validators and bytes of the last successful fetch (JSON), for a re-crawl
    fetched_at REAL               -- when that was (POSIX time)
);
CREATE TABLE IF NOT EXISTS images (sha256 TEXT PRIMARY KEY, path TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS manifest (id INTEGER PRIMARY KEY, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS failures (id INTEGER PRIMARY KEY, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS robots (origin TEXT PRIMARY KEY, text TEXT);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


# Columns later versions added to urls, for a crawl an earlier version saved (ALTER TABLE adds them)
_ADDED_COLUMNS = (("found_as", "TEXT"), ("words", "TEXT"), ("pages", "INTEGER NOT NULL DEFAULT 0"),
                  ("fetch", "TEXT"), ("fetched_at", "REAL"))


def state_path(output_dir: Path) -> Path:
    return output_dir / STATE_DIR / "state.sqlite"


class SqliteStore(CrawlStore):
    """The crawl store in one SQLite file, written behind in batches (see the module's docstring)."""

    def __init__(self, output_dir: Path, *, resume: bool, fresh: bool) -> None:
        path = state_path(output_dir)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock_file = open(path.parent / "lock", "w")
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            self._lock_file.close()
            raise StateError(f"another scheduler is using {output_dir}; stop it first") from exc
        exists = path.exists()
        if resume and not exists:
            self._lock_file.close()
            raise StateError(f"{output_dir} holds no saved crawl to resume or crawl again; leave out --resume "
                             "(or --recrawl) to start one")
        if exists and fresh:
            remove_state(output_dir)
            exists = False
        elif exists and not resume:
            self._lock_file.close()
            raise StateError(f"{output_dir} holds an earlier crawl; add --resume to carry on "
                             "or --fresh to start over")
        self.resumed = exists
        self._path = path
        self._new_rows: dict[int, UrlRow] = {}  # added since the last flush
        self._updates: dict[int, tuple[str, str | None, int]] = {}  # id → (status, reason, attempts)
        self._new_images: dict[str, str] = {}  # sha256 → path, saved since the last flush
        self._new_references: Counter[str] = Counter()  # canonical → references since the last flush
        self._new_fetches: dict[int, tuple[str | None, float]] = {}  # id → (fetch, at) since the last flush
        self._new_records: list[tuple[str, str]] = []  # (table, JSON record) in order
        self._stored_hashes: set[int] | None = None  # hash() of every stored sha256, loaded on first use
        # Rows read ahead for dispatch, one SELECT for many (each query is a GIL hand-off with the
        # manager's threads); a row leaves when its status changes, so what is here is never stale.
        self._read_ahead: dict[int, UrlRow] = {}
        try:
            self._open(path)
        except BaseException:  # the lock goes with the failed attempt, or a retry in this process is refused
            if getattr(self, "_db", None) is not None:
                self._db.close()
            self._lock_file.close()
            raise

    def _open(self, path: Path) -> None:
        try:
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable across a process kill
            self._db.executescript(_SCHEMA)
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(urls)")}
            for column, declaration in _ADDED_COLUMNS:  # a crawl saved by an earlier version
                if column not in columns:
                    self._db.execute(f"ALTER TABLE urls ADD COLUMN {column} {declaration}")
            version = self.get_meta("schema")
            if version is not None and int(version) != SCHEMA_VERSION:
                raise StateError(f"{path} is schema {version}, this crawler reads {SCHEMA_VERSION}; "
                                 "use --fresh or another output directory")
            self.set_meta("schema", str(SCHEMA_VERSION))
            self._next_id = (self._db.execute("SELECT MAX(id) FROM urls").fetchone()[0] or 0) + 1
            self._db.execute("BEGIN")
        except sqlite3.DatabaseError as exc:
            raise StateError(f"cannot use crawl state {path}: {exc}") from exc

    def _flush(self) -> None:
        """Write the buffered new URLs and status changes (inside the open transaction)."""
        if self._new_rows:
            self._db.executemany(
                "INSERT OR IGNORE INTO urls(id, canonical, url, kind, depth, page_url, hops, status, attempts, "
                "found_as, words, fetch) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", self._new_rows.values())
            self._new_rows.clear()
        if self._updates:
            self._db.executemany("UPDATE urls SET status=?, reason=?, attempts=? WHERE id=?",
                                 [(*change, url_id) for url_id, change in self._updates.items()])
            self._updates.clear()
        if self._new_fetches:
            self._db.executemany("UPDATE urls SET fetch=?, fetched_at=? WHERE id=?",
                                 [(fetch, at, url_id) for url_id, (fetch, at) in self._new_fetches.items()])
            self._new_fetches.clear()
        if self._new_references:
            self._db.executemany("UPDATE urls SET pages = pages + ? WHERE canonical = ?",
                                 [(count, key) for key, count in self._new_references.items()])
            self._new_references.clear()
        if self._new_images:
            self._db.executemany("INSERT OR IGNORE INTO images(sha256, path) VALUES (?, ?)", self._new_images.items())
            self._new_images.clear()
        for table in ("manifest", "failures"):
            records = [(record,) for name, record in self._new_records if name == table]
            if records:
                self._db.executemany(f"INSERT INTO {table}(record) VALUES (?)", records)
        self._new_records.clear()

    def commit(self) -> None:
        """Make everything recorded so far durable, or raise StorageError (what was committed before stays)."""
        try:
            self._flush()
            self._db.execute("COMMIT")
        except sqlite3.OperationalError as exc:  # "database or disk is full", a read-only file system…
            full = "full" in str(exc)
            raise StorageError(f"cannot write the crawl state {self._path}: {exc}; free some space and run "
                               "the same command with --resume", "disk-full" if full else "storage-error") from exc
        self._db.execute("BEGIN")

    def close(self) -> None:
        try:
            self._flush()
            self._db.execute("COMMIT")
        except sqlite3.Error:
            pass
        self._db.close()
        self._lock_file.close()

    def get_meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    def add_url(self, canonical: str, url: str, kind: Kind, depth: int, page_url: str | None, hops: int,
                found_as: str | None = None, words: str | None = None) -> int:
        url_id = self._next_id
        self._next_id += 1
        self._new_rows[url_id] = UrlRow(url_id, canonical, url, str(kind), depth, page_url, hops,
                                        str(UrlStatus.PENDING), 0, found_as, words)
        return url_id

    def note_references(self, canonicals: list[str]) -> None:
        self._new_references.update(canonicals)

    def note_fetch(self, url_id: int, fetch: str | None, at: float) -> None:
        self._new_fetches[url_id] = (fetch, at)

    def fetched_hashes(self) -> set[str]:
        self._flush()
        return {json.loads(fetch).get("sha256", "") for (fetch,) in self._db.execute(
            "SELECT fetch FROM urls WHERE status=? AND fetch IS NOT NULL", (str(UrlStatus.DONE),))}

    def start_recrawl(self, fetched_before: float | None) -> int:
        self._flush()
        self._read_ahead.clear()
        finished = (str(UrlStatus.DONE), str(UrlStatus.FAILED))
        again = self._db.execute(
            "UPDATE urls SET status=?, attempts=0, reason=NULL WHERE kind!=? AND status IN (?, ?) "
            "AND (? IS NULL OR fetched_at IS NULL OR fetched_at < ?)",
            (str(UrlStatus.PENDING), str(Kind.ROBOTS), *finished, fetched_before, fetched_before)).rowcount
        self._db.execute("UPDATE urls SET status=?, attempts=0, reason=NULL WHERE kind=?",
                         (str(UrlStatus.PENDING), str(Kind.ROBOTS)))
        self._db.execute("DELETE FROM robots")
        return again

    def references_to(self, canonical: str) -> int:
        row = self._db.execute("SELECT pages FROM urls WHERE canonical=?", (canonical,)).fetchone()
        return (row[0] if row else 0) + self._new_references[canonical]

    def reference_counts(self) -> dict[str, int]:
        self._flush()
        return dict(self._db.execute("SELECT canonical, pages FROM urls WHERE pages > 0"))

    def get_url(self, url_id: int, upcoming: Iterable[int] = ()) -> UrlRow | None:
        row = self._new_rows.get(url_id) or self._read_ahead.pop(url_id, None)
        if row is None:
            row = self._read_rows(url_id, upcoming)
            if row is None:
                return None
        change = self._updates.get(url_id)
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
        placeholders = ",".join("?" * len(ids))
        for values in self._db.execute(f"SELECT {_ROW_COLUMNS} FROM urls WHERE id IN ({placeholders})", ids):
            row = UrlRow(*values)
            change = self._updates.get(row.id)  # a flush empties _updates: keep the change in the row
            if change is not None:
                row = row._replace(status=change[0], attempts=change[2])
            if row.id == url_id:
                found = row
            else:
                self._read_ahead[row.id] = row
        return found

    def _set_status(self, url_id: int, status: UrlStatus, reason: str | None, attempts: int) -> None:
        self._updates[url_id] = (str(status), reason, attempts)
        self._read_ahead.pop(url_id, None)

    def lease(self, row: UrlRow) -> UrlRow:  # once per task: the interface's version, one call fewer
        leased = row._replace(status=LEASED_TEXT, attempts=row.attempts + 1)
        self._updates[row.id] = (LEASED_TEXT, None, leased.attempts)
        self._read_ahead.pop(row.id, None)
        return leased

    def restore(self) -> Iterator[UrlRow]:
        self._flush()
        rows = [UrlRow(*row) for row in self._db.execute(
            f"SELECT {_ROW_COLUMNS} FROM urls WHERE status IN (?, ?) ORDER BY id", UNFINISHED)]
        for row in rows:
            if row.status == UrlStatus.LEASED:
                self.requeue(row.id, None, row.attempts)
                row = row._replace(status=str(UrlStatus.PENDING))
            yield row

    def find_url(self, canonical: str) -> UrlRow | None:
        self._flush()
        values = self._db.execute(f"SELECT {_ROW_COLUMNS} FROM urls WHERE canonical=?", (canonical,)).fetchone()
        return None if values is None else UrlRow(*values)

    def canonicals(self) -> Iterator[str]:
        self._flush()
        yield from (row[0] for row in self._db.execute("SELECT canonical FROM urls"))

    def finished_robots(self) -> Iterator[str]:
        self._flush()
        for (url,) in self._db.execute(
                "SELECT url FROM urls WHERE kind=? AND status NOT IN (?, ?) ORDER BY id", (Kind.ROBOTS, *UNFINISHED)):
            if not self.robots_text(origin_of(url))[0]:
                yield origin_of(url)

    def counts(self) -> dict[tuple[str, str], int]:
        self._flush()
        return {(kind, status): count for kind, status, count in self._db.execute(
            "SELECT kind, status, COUNT(*) FROM urls GROUP BY kind, status")}

    def image_path_for(self, sha256: str) -> str | None:
        if hash(sha256) not in self._stored_hashes_loaded():  # most images are new: answer without SQL
            return None
        path = self._new_images.get(sha256)
        if path is None:
            row = self._db.execute("SELECT path FROM images WHERE sha256=?", (sha256,)).fetchone()
            path = row[0] if row else None
        return path

    def record_image(self, sha256: str, path: str, record: str) -> None:
        if self.image_path_for(sha256) is not None:
            return  # stored before: the first path stays
        self._new_images[sha256] = path
        self._stored_hashes_loaded().add(hash(sha256))
        self._new_records.append(("manifest", record))

    def forget_images(self, sha256s: set[str]) -> None:
        self._flush()
        self._db.executemany("DELETE FROM images WHERE sha256=?", [(sha256,) for sha256 in sha256s])
        gone = [(row_id,) for row_id, record in self._db.execute("SELECT id, record FROM manifest")
                if json.loads(record).get("sha256") in sha256s]
        self._db.executemany("DELETE FROM manifest WHERE id=?", gone)
        if self._stored_hashes is not None:
            self._stored_hashes.difference_update(hash(sha256) for sha256 in sha256s)

    def record_failure(self, record: str) -> None:
        self._new_records.append(("failures", record))

    def records(self, table: str) -> Iterator[dict[str, Any]]:
        check_table(table)
        self._flush()
        yield from (json.loads(row[0]) for row in self._db.execute(f"SELECT record FROM {table} ORDER BY id"))

    def robots_text(self, origin: str) -> tuple[bool, str | None]:
        row = self._db.execute("SELECT text FROM robots WHERE origin=?", (origin,)).fetchone()
        return (row is not None, row[0] if row else None)

    def _stored_hashes_loaded(self) -> set[int]:
        if self._stored_hashes is None:  # first call: learn what earlier runs stored
            self._flush()
            self._stored_hashes = {hash(row[0]) for row in self._db.execute("SELECT sha256 FROM images")}
        return self._stored_hashes

    def set_robots(self, origin: str, text: str | None) -> None:
        self._db.execute("INSERT OR REPLACE INTO robots(origin, text) VALUES (?, ?)", (origin, text))


def remove_state(output_dir: Path) -> None:
    """Delete the crawl state (for --fresh), leaving images in place."""
    path = state_path(output_dir)
    for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if stale.exists():
            os.unlink(stale)

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
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from crawler.errors import StateError, StorageError
from crawler.messages import Kind
from crawler.scheduler.buffered import Batch, BufferedStore
from crawler.scheduler.store import EARLIER_CRAWL_CHOICES, RECORD_TABLES, UNFINISHED, UrlRow, UrlStatus, check_table
from crawler.storage import LOCK_NAME, STATE_DIR
from crawler.urls import origin_of

SCHEMA_VERSION = 1
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
    words TEXT,                   -- an image's words and Referrer Policy (JSON, image_words) from its first reference
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


class SqliteStore(BufferedStore):
    """The crawl store in one SQLite file, written behind in batches (see the module's docstring)."""

    def __init__(self, output_dir: Path, *, resume: bool, fresh: bool) -> None:
        super().__init__()
        path = state_path(output_dir)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock_file = open(path.parent / LOCK_NAME, "w")
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
            raise StateError(f"{output_dir} {EARLIER_CRAWL_CHOICES}")
        self.resumed = exists
        self._path = path
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

    # -- the backend's part of BufferedStore ------------------------------------------------------

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id - 1

    def _write(self, batch: Batch) -> None:
        """Write a batch inside the open transaction (commit() makes it durable)."""
        if batch.rows:
            self._db.executemany(
                "INSERT OR IGNORE INTO urls(id, canonical, url, kind, depth, page_url, hops, status, attempts, "
                "found_as, words, fetch) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", batch.rows)
        if batch.statuses:
            self._db.executemany("UPDATE urls SET status=?, reason=?, attempts=? WHERE id=?",
                                 [(*change, url_id) for url_id, change in batch.statuses.items()])
        if batch.fetches:
            self._db.executemany("UPDATE urls SET fetch=?, fetched_at=? WHERE id=?",
                                 [(fetch, at, url_id) for url_id, (fetch, at) in batch.fetches.items()])
        if batch.references:
            self._db.executemany("UPDATE urls SET pages = pages + ? WHERE canonical = ?",
                                 [(count, key) for key, count in batch.references.items()])
        if batch.images:
            self._db.executemany("INSERT OR IGNORE INTO images(sha256, path) VALUES (?, ?)", batch.images.items())
        for table in RECORD_TABLES:
            records = [(record,) for name, record in batch.records if name == table]
            if records:
                self._db.executemany(f"INSERT INTO {table}(record) VALUES (?)", records)

    def _read_stored(self, ids: list[int]) -> list[UrlRow]:
        placeholders = ",".join("?" * len(ids))
        return [UrlRow(*values) for values in self._db.execute(
            f"SELECT {_ROW_COLUMNS} FROM urls WHERE id IN ({placeholders})", ids)]

    def _stored_path(self, sha256: str) -> str | None:
        row = self._db.execute("SELECT path FROM images WHERE sha256=?", (sha256,)).fetchone()
        return row[0] if row else None

    def _all_stored_hashes(self) -> Iterable[str]:
        return (row[0] for row in self._db.execute("SELECT sha256 FROM images"))

    # -- durability -----------------------------------------------------------------------------

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

    # -- reads and changes that go to the database ----------------------------------------------

    def fetched_hashes(self) -> set[str]:
        self._flush()
        return {json.loads(fetch).get("sha256", "") for (fetch,) in self._db.execute(
            "SELECT fetch FROM urls WHERE status=? AND fetch IS NOT NULL", (str(UrlStatus.DONE),))}

    def start_recrawl(self, fetched_before: float | None, fresh_at: float | None) -> tuple[int, int]:
        self._flush()
        self._read_ahead.clear()
        finished = (str(UrlStatus.DONE), str(UrlStatus.FAILED))
        # finished, or skipped_unasked (robots.txt, read again, decides again)
        due = ("kind!=? AND (status IN (?, ?) OR (status=? AND attempts=0)) "
               "AND (? IS NULL OR fetched_at IS NULL OR fetched_at < ?)",
               (str(Kind.ROBOTS), *finished, str(UrlStatus.SKIPPED), fetched_before, fetched_before))
        # still_fresh, in SQL: no fetch or no max_age make the sum NULL, and NULL is not fresh
        fresh_sql = "IFNULL(json_extract(fetch, '$.at') + json_extract(fetch, '$.max_age') > ?, 0)"
        fresh = 0 if fresh_at is None else self._db.execute(
            f"SELECT COUNT(*) FROM urls WHERE {due[0]} AND {fresh_sql}", (*due[1], fresh_at)).fetchone()[0]
        again = self._db.execute(
            f"UPDATE urls SET status=?, attempts=0, reason=NULL WHERE {due[0]} AND NOT {fresh_sql}",
            (str(UrlStatus.PENDING), *due[1], fresh_at)).rowcount
        self._db.execute("UPDATE urls SET status=?, attempts=0, reason=NULL WHERE kind=?",
                         (str(UrlStatus.PENDING), str(Kind.ROBOTS)))
        self._db.execute("DELETE FROM robots")
        return again, fresh

    def reference_counts(self) -> dict[str, int]:
        self._flush()
        return dict(self._db.execute("SELECT url, pages FROM urls WHERE pages > 0"))

    def restore(self) -> Iterator[UrlRow]:
        self._flush()
        yield from self._pending_again([UrlRow(*row) for row in self._db.execute(
            f"SELECT {_ROW_COLUMNS} FROM urls WHERE status IN (?, ?) ORDER BY id", UNFINISHED)])

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

    def forget_images(self, sha256s: set[str]) -> None:
        self._flush()
        self._db.executemany("DELETE FROM images WHERE sha256=?", [(sha256,) for sha256 in sha256s])
        gone = [(row_id,) for row_id, record in self._db.execute("SELECT id, record FROM manifest")
                if json.loads(record).get("sha256") in sha256s]
        self._db.executemany("DELETE FROM manifest WHERE id=?", gone)
        self._forget_hashes(sha256s)

    def records(self, table: str) -> Iterator[dict[str, Any]]:
        check_table(table)
        self._flush()
        yield from (json.loads(row[0]) for row in self._db.execute(f"SELECT record FROM {table} ORDER BY id"))

    def robots_text(self, origin: str) -> tuple[bool, str | None]:
        row = self._db.execute("SELECT text FROM robots WHERE origin=?", (origin,)).fetchone()
        return (row is not None, row[0] if row else None)

    def set_robots(self, origin: str, text: str | None) -> None:
        self._db.execute("INSERT OR REPLACE INTO robots(origin, text) VALUES (?, ?)", (origin, text))


def remove_state(output_dir: Path) -> None:
    """Delete the crawl state (for --fresh), leaving images in place."""
    path = state_path(output_dir)
    for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if stale.exists():
            os.unlink(stale)

"""SQLite persistence of a crawl under OUTPUT/.crawler/, so a killed scheduler can resume.

Only the scheduler opens it. Writes are batched by the caller and committed in small
transactions (`commit()`), so `kill -9` loses at most the results of the last moment.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

from crawler.errors import StateError
from crawler.storage import STATE_DIR

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS urls (
    id INTEGER PRIMARY KEY,
    canonical TEXT NOT NULL UNIQUE,
    url TEXT NOT NULL,
    kind TEXT NOT NULL,           -- page, image or robots
    depth INTEGER NOT NULL,
    page_url TEXT,
    hops INTEGER NOT NULL,
    status TEXT NOT NULL,         -- pending, leased, done, failed, skipped
    attempts INTEGER NOT NULL DEFAULT 0,
    reason TEXT
);
CREATE TABLE IF NOT EXISTS images (sha256 TEXT PRIMARY KEY, path TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS manifest (id INTEGER PRIMARY KEY, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS failures (id INTEGER PRIMARY KEY, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS robots (origin TEXT PRIMARY KEY, text TEXT);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class UrlRow(NamedTuple):
    id: int
    canonical: str
    url: str
    kind: str
    depth: int
    page_url: str | None
    hops: int
    status: str
    attempts: int


def state_path(output_dir: Path) -> Path:
    return output_dir / STATE_DIR / "state.sqlite"


class CrawlState:
    """The crawl's durable record: URLs and their status, stored images, manifest and failure records."""

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
        if exists and fresh:
            remove_state(output_dir)
            exists = False
        elif exists and not resume:
            self._lock_file.close()
            raise StateError(f"{output_dir} holds an earlier crawl; add --resume to carry on "
                             "or --fresh to start over")
        self.resumed = exists
        try:
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable across a process kill
            self._db.executescript(_SCHEMA)
            version = self.get_meta("schema")
            if version is not None and int(version) != SCHEMA_VERSION:
                raise StateError(f"{path} is schema {version}, this crawler reads {SCHEMA_VERSION}; "
                                 "use --fresh or another output directory")
            self.set_meta("schema", str(SCHEMA_VERSION))
            self._db.execute("BEGIN")
        except sqlite3.DatabaseError as exc:
            raise StateError(f"cannot use crawl state {path}: {exc}") from exc

    def commit(self) -> None:
        self._db.execute("COMMIT")
        self._db.execute("BEGIN")

    def close(self) -> None:
        try:
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

    def add_url(self, canonical: str, url: str, kind: str, depth: int, page_url: str | None,
                hops: int) -> int | None:
        """Record a newly discovered URL as pending; return its id, or None if it was known already."""
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO urls(canonical, url, kind, depth, page_url, hops, status) "
            "VALUES (?, ?, ?, ?, ?, ?, 'pending')", (canonical, url, kind, depth, page_url, hops))
        return cursor.lastrowid if cursor.rowcount == 1 else None

    def get_url(self, url_id: int) -> UrlRow:
        row = self._db.execute("SELECT id, canonical, url, kind, depth, page_url, hops, status, attempts "
                               "FROM urls WHERE id=?", (url_id,)).fetchone()
        return UrlRow(*row)

    def status_of(self, canonical: str) -> str | None:
        row = self._db.execute("SELECT status FROM urls WHERE canonical=?", (canonical,)).fetchone()
        return row[0] if row else None

    def set_status(self, url_id: int, status: str, reason: str | None = None,
                   attempts: int | None = None) -> None:
        if attempts is None:
            self._db.execute("UPDATE urls SET status=?, reason=? WHERE id=?", (status, reason, url_id))
        else:
            self._db.execute("UPDATE urls SET status=?, reason=?, attempts=? WHERE id=?",
                             (status, reason, attempts, url_id))

    def unfinished(self) -> Iterator[UrlRow]:
        """Yield every URL that is not finished (pending or leased when the last run stopped), oldest first."""
        yield from (UrlRow(*row) for row in self._db.execute(
            "SELECT id, canonical, url, kind, depth, page_url, hops, status, attempts FROM urls "
            "WHERE status IN ('pending', 'leased') ORDER BY id"))

    def canonicals(self) -> Iterator[str]:
        yield from (row[0] for row in self._db.execute("SELECT canonical FROM urls"))

    def count_by(self) -> dict[tuple[str, str], int]:
        """Return {(kind, status): count} over all URLs."""
        return {(kind, status): count for kind, status, count in self._db.execute(
            "SELECT kind, status, COUNT(*) FROM urls GROUP BY kind, status")}

    def image_path_for(self, sha256: str) -> str | None:
        row = self._db.execute("SELECT path FROM images WHERE sha256=?", (sha256,)).fetchone()
        return row[0] if row else None

    def add_image(self, sha256: str, path: str, record: dict[str, Any]) -> None:
        self._db.execute("INSERT INTO images(sha256, path) VALUES (?, ?)", (sha256, path))
        self._db.execute("INSERT INTO manifest(record) VALUES (?)", (json.dumps(record, sort_keys=True),))

    def add_failure(self, record: dict[str, Any]) -> None:
        self._db.execute("INSERT INTO failures(record) VALUES (?)", (json.dumps(record, sort_keys=True),))

    def records(self, table: str) -> Iterable[dict[str, Any]]:
        """Yield the manifest or failure records in the order they were written."""
        if table not in ("manifest", "failures"):
            raise ValueError(table)
        yield from (json.loads(row[0]) for row in self._db.execute(f"SELECT record FROM {table} ORDER BY id"))

    def saved_bytes(self) -> int:
        total = 0
        for record in self.records("manifest"):
            total += int(record.get("bytes", 0))
        return total

    def robots_text(self, origin: str) -> tuple[bool, str | None]:
        """Return (known, text) for an origin's robots.txt; text None means allow everything."""
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

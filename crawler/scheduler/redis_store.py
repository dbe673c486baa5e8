"""The crawl store in Redis (or Valkey): `--state redis://HOST:PORT/DB --crawl NAME`.

The state of crawl NAME lives under the keys `qc:NAME:*`, so one server holds many crawls.
Like the SQLite store, changes are buffered (buffered.py) and written at each commit; here the
write is one Lua script, which Redis runs as a unit: a batch is applied whole or not at all. A
commit that loses its connection is tried again for `OUTAGE_SECONDS` (Redis restarting); every
batch carries a token, so one that was applied before the reply was lost is not applied twice.

Several schedulers may share a crawl (hosts.py says who dispatches to which origin). So the
write script also keeps, per origin, the list of its unfinished URLs, the crawl's count of them,
and each owner's inbox of URLs other schedulers found on its origins. A scheduler registers
itself with a heartbeat; one that finds others alive joins their crawl.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import inspect
import json
import logging
import os
import re
import secrets
import socket
import time
from collections.abc import Iterable, Iterator
from email.utils import formatdate, parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import redis

from crawler.errors import ConfigError, StateError, StorageError
from crawler.messages import Kind
from crawler.scheduler.buffered import Batch, BufferedStore
from crawler.scheduler.hosts import SharedHosts, gone
from crawler.scheduler.store import (
    EARLIER_CRAWL_CHOICES,
    LEASED_TEXT,
    RECORD_TABLES,
    UNFINISHED,
    UrlRow,
    UrlStatus,
    check_table,
    dispatch_origin,
    recrawl_rows,
)
from crawler.units import ascii_digits
from crawler.urls import origin_of

log = logging.getLogger(__name__)

SCHEMA_VERSION = "6"
# 1: one hash for the seen-set, one for statuses, one for origins (before 2026-12-05)
# 2: each origin's unfinished URLs in a set (2026-12-05)
# 3: every row ends with its origin (2026-12-05); its rows read as they are
# 4: statuses as JSON, ["pending",0,null] (2026-12-05); they read as they are
# 5: rows and fetch records each in one big hash, and when each URL was fetched in a third (2026-12-05)
MIN_VERSION = (6, 2)  # what the scripts and commands below were tested against is 7.0; 6.2 has them all
ALIVE_SECONDS = 30.0  # a scheduler silent this long is gone: its origins may be claimed by others
OUTAGE_SECONDS = 60.0  # a commit waits this long for Redis to come back before the scheduler stops
_AGAIN = "run the same command again"  # what to do once a server that refused a new crawl is mended
_ID_BLOCK = 1000  # URL ids taken from the server at a time
_SCAN_COUNT = 2000
_CRAWL_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")
_KEYS = ("meta", "ids", "images", "manifest", "failures", "robots", "commit", "owner", "owner_until",
         "unfinished", "active", "schedulers", "open_count")
# The seen-set and the statuses are spread over many small hashes, which Redis keeps as listpacks
# (a few bytes an entry, where one big hash costs some 60 bytes of pointers and headers per entry):
# the seen-set maps a 64-bit digest of each canonical URL to its id, in one of SEEN_BUCKETS hashes
# chosen by the digest (listpacks until some 6 million URLs, then a bucket at a time grows into a
# plain hash); a URL's row, status, fetch record and count of the pages that showed it as an image
# are each in the hash of its id's block of ID_BUCKET ids (`rows:B`, `state:B`, `fetch:B`,
# `refs:B`). A listpack holds values of up to
# `hash-max-listpack-value` bytes, 64 by default: statuses always fit, rows and fetch records of
# most real URLs only where the server allows more (the README's server command says 256); a
# bucket with a longer value is a plain hash, which costs what one big hash would.
SEEN_BUCKETS = 1 << 16
ID_BUCKET = 64
COMPACT_VALUE_BYTES = 256  # the hash-max-listpack-value that keeps the rows and fetch records of real URLs compact
# An origin's unfinished URLs ("open") are the text `open:ORIGIN` of ids, each followed by a comma,
# appended as they arrive, and their count in the hash `open_count`; the text goes when the count
# reaches 0. An id is not taken out when its URL finishes (a set of integers past 512 members
# costs some 50 bytes a member, this 8 at a million URLs), so whoever claims the origin reads the
# statuses of the ids listed and keeps the unfinished ones.

# KEYS: images manifest failures commit owner unfinished active open_count
# ARGV: batch token, this scheduler's token, the crawl's key prefix, the batch as JSON
# A row is [id, seen bucket, digest, row, state, id bucket, origin] (see _seen_place, _id_bucket)
_WRITE = """
local ID_BUCKET = $ID_BUCKET
if redis.call('GET', KEYS[4]) == ARGV[1] then return 0 end
local b = cjson.decode(ARGV[4])
local prefix = ARGV[3]
local unfinished_delta = 0
local owners = {}  -- origin -> owner token (false: none), read once a batch
-- What a batch changes per origin is written once at its end: the ids that arrived (appended as
-- one text) and the change in its count of unfinished URLs.
local arrived, counted, origins = {}, {}, {}
local function touch(origin)
  if counted[origin] == nil then
    counted[origin] = 0
    origins[#origins + 1] = origin
  end
end
local function row_origin(text)  -- a row's 9th item, or where it ends before, its URL's scheme://host[:port]
  local r = cjson.decode(text)
  if r[9] ~= nil and r[9] ~= cjson.null then return r[9] end
  return string.match(r[1], '^[^:/?#]+://[^/?#]*')
end
local function unfinished(state)  -- pending or leased: "p0", "l1" (or, written before, ["pending",0,null])
  return string.find(state, '^[pl]%d') or string.find(state, '^%["pending"') or string.find(state, '^%["leased"')
end
local function arrive(id, origin)  -- to be fetched: listed with its origin, counted, in its owner's inbox
  touch(origin)
  local ids = arrived[origin]
  if ids == nil then
    ids = {}
    arrived[origin] = ids
  end
  ids[#ids + 1] = id
  counted[origin] = counted[origin] + 1
  unfinished_delta = unfinished_delta + 1
  local owner = owners[origin]
  if owner == nil then
    redis.call('SADD', KEYS[7], origin)
    owner = redis.call('HGET', KEYS[5], origin)
    owners[origin] = owner
  end
  if owner and owner ~= ARGV[2] then redis.call('RPUSH', prefix .. 'inbox:' .. owner, id) end
end
for _, r in ipairs(b.rows) do
  if redis.call('HSETNX', prefix .. 'seen:' .. r[2], r[3], r[1]) == 1 then
    redis.call('HSET', prefix .. 'rows:' .. r[6], r[1], r[4])
    redis.call('HSET', prefix .. 'state:' .. r[6], r[1], r[5])
    arrive(r[1], r[7])
  end
end
for _, s in ipairs(b.states) do  -- [id, state, id bucket, origin where the scheduler knows it, or null]
  local bucket = prefix .. 'state:' .. s[3]
  local old = redis.call('HGET', bucket, s[1])
  if old then
    redis.call('HSET', bucket, s[1], s[2])
    local was, now = unfinished(old), unfinished(s[2])
    if (not was) ~= (not now) then
      local origin = s[4]
      if origin == nil or origin == cjson.null then
        origin = row_origin(redis.call('HGET', prefix .. 'rows:' .. s[3], s[1]))
      end
      if now then
        arrive(s[1], origin)
      else
        touch(origin)
        counted[origin] = counted[origin] - 1
        unfinished_delta = unfinished_delta - 1
      end
    end
  end
end
for _, origin in ipairs(origins) do  -- an origin left with nothing unfinished loses its list and count
  local ids = arrived[origin]
  if ids then redis.call('APPEND', prefix .. 'open:' .. origin, table.concat(ids, ',') .. ',') end
  if redis.call('HINCRBY', KEYS[8], origin, counted[origin]) <= 0 then
    redis.call('HDEL', KEYS[8], origin)
    redis.call('DEL', prefix .. 'open:' .. origin)
  end
end
if unfinished_delta ~= 0 then redis.call('INCRBY', KEYS[6], unfinished_delta) end
for _, f in ipairs(b.fetches) do  -- [id, fetch record or null, id bucket]
  if f[2] == cjson.null then
    redis.call('HDEL', prefix .. 'fetch:' .. f[3], f[1])
  else
    redis.call('HSET', prefix .. 'fetch:' .. f[3], f[1], f[2])
  end
end
for _, p in ipairs(b.references) do  -- [count, seen bucket, digest]
  local id = redis.call('HGET', prefix .. 'seen:' .. p[2], p[3])
  if id then redis.call('HINCRBY', prefix .. 'refs:' .. math.floor(tonumber(id) / ID_BUCKET), id, p[1]) end
end
for _, i in ipairs(b.images) do redis.call('HSETNX', KEYS[1], i[1], i[2]) end
for _, m in ipairs(b.manifest) do redis.call('RPUSH', KEYS[2], m) end
for _, m in ipairs(b.failures) do redis.call('RPUSH', KEYS[3], m) end
redis.call('SET', KEYS[4], ARGV[1])
return 1
""".replace("$ID_BUCKET", str(ID_BUCKET))

# ARGV: the crawl's key prefix, the ids of the rows wanted as a JSON array. Returns row, state,
# fetch for each (false where missing) as one JSON array. One command, where a pipeline would need
# three reads an id (a host's queued ids are far apart: many buckets); one argument and one reply,
# where redis-py spent some 5 us packing each of the 129 arguments and parsing each of the 192
# replies of a read of 64 rows.
_READ = """
local prefix, found = ARGV[1], {}
for _, id in ipairs(cjson.decode(ARGV[2])) do
  local bucket = string.format('%d', math.floor(id / $ID_BUCKET))
  id = string.format('%d', id)
  found[#found + 1] = redis.call('HGET', prefix .. 'rows:' .. bucket, id)
  found[#found + 1] = redis.call('HGET', prefix .. 'state:' .. bucket, id)
  found[#found + 1] = redis.call('HGET', prefix .. 'fetch:' .. bucket, id)
end
return cjson.encode(found)
""".replace("$ID_BUCKET", str(ID_BUCKET))

def check_crawl_name(name: str) -> str:
    if not _CRAWL_NAME.fullmatch(name):
        raise ConfigError(f"--crawl {name!r}: use 1 to 64 letters, digits, dots, dashes or underscores")
    return name


class RedisStore(BufferedStore):
    """The crawl store under `qc:NAME:` in one Redis database (see the module's docstring)."""

    def __init__(self, url: str, crawl: str, *, resume: bool, fresh: bool) -> None:
        super().__init__()
        self._crawl = check_crawl_name(crawl)
        self._where = f"crawl {crawl!r} in {_shown_url(url)}"
        try:
            _check_database(url)
            self._redis = redis.Redis.from_url(url, decode_responses=True, socket_timeout=10,
                                               socket_connect_timeout=5, health_check_interval=30)
            _check_options(self._redis)
            _check_server(self._redis, url)
        except ValueError as exc:
            raise StateError(f"cannot use Redis at {_shown_url(url)}: {exc}") from exc
        except redis.RedisError as exc:
            raise StateError(f"cannot use Redis at {_shown_url(url)}: {_refusal(exc, _AGAIN)}") from exc
        self._prefix = f"qc:{crawl}:"
        self._key = {name: self._prefix + name for name in _KEYS}
        # host:pid:random — a scheduler of the same machine can tell that one is gone (its pid is)
        self.token = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(8)}"
        try:
            self._open(resume, fresh)
        except redis.RedisError as exc:
            raise StateError(f"cannot use Redis at {_shown_url(url)}: {_refusal(exc, _AGAIN)}") from exc
        self._write_script = self._redis.register_script(_WRITE)
        self._read_script = self._redis.register_script(_READ)
        self._ids_left = 0
        self._next = 0
        # The origin of each URL out on lease, for the write script: a URL's work ending changes its
        # origin's count, which it would otherwise read off the URL's row in Redis.
        self._leased_origins: dict[int, str] = {}

    def _open(self, resume: bool, fresh: bool) -> None:
        exists = bool(self._redis.exists(self._key["meta"]))
        others = len(self.live_schedulers())
        if others and fresh:
            raise StateError(f"{self._where} is being crawled by {others} other scheduler(s); --fresh would wipe "
                             "their work (stop them first)")
        if others:  # joining a running crawl: the same command on another machine
            log.info("scheduler: joining %s, with %d other scheduler(s)", self._where, others)
            resume = True
        if resume and not exists:
            raise StateError(f"{self._where} holds no saved crawl to resume or crawl again; leave out --resume "
                             "(or --recrawl) to start one")
        if exists and fresh:
            for key in list(self._redis.scan_iter(match=self._prefix + "*", count=_SCAN_COUNT)):
                self._redis.unlink(key)
            exists = False
        elif exists and not resume:
            raise StateError(f"{self._where} {EARLIER_CRAWL_CHOICES}")
        schema = str(self._redis.hget(self._key["meta"], "schema") or "") or None  # decode_responses: a str
        if schema in ("1", "2", "3", "4", "5") and others:
            raise StateError(f"{self._where} was written by an earlier version, which {others} other scheduler(s) "
                             "still run; stop them, then resume it with this one")
        if schema == "1":
            self._migrate_from_schema_1()
        if schema in ("1", "2"):
            self._migrate_from_schema_2()
        elif schema not in (None, "3", "4", "5", SCHEMA_VERSION):  # their rows and statuses read as they are
            raise StateError(f"{self._where} is schema {schema}, this crawler reads {SCHEMA_VERSION}; use --fresh "
                             "or another --crawl")
        if schema in ("1", "2", "3", "4", "5"):
            self._migrate_from_schema_5(announce=schema != "1")  # schema 1's move has said so
        self._redis.hset(self._key["meta"], mapping={"schema": SCHEMA_VERSION, "crawl": self._crawl})
        self.resumed = exists
        self.joined = bool(others)
        self.heartbeat()

    def heartbeat(self) -> None:
        """Say this scheduler is alive (hosts.py calls it on every sync)."""
        now = time.time()
        self._call(lambda: self._redis.zadd(self._key["schedulers"], {self.token: now}))

    def live_schedulers(self) -> list[str]:
        """The tokens of the other schedulers of this crawl that are alive."""
        now = time.time()
        tokens = [str(token) for token in self._call(
            lambda: self._redis.zrangebyscore(self._key["schedulers"], now - ALIVE_SECONDS, "+inf"))]
        return [token for token in tokens if token != getattr(self, "token", None) and not gone(token)]

    # -- the backend's part of BufferedStore ------------------------------------------------------

    def _new_id(self) -> int:
        if not self._ids_left:  # a block at a time: one round trip per thousand new URLs
            self._next = self._call(lambda: int(self._redis.incrby(self._key["ids"], _ID_BLOCK))) - _ID_BLOCK + 1
            self._ids_left = _ID_BLOCK
        self._ids_left -= 1
        self._next += 1
        return self._next - 1

    def _write(self, batch: Batch) -> None:
        payload = json.dumps({
            "rows": [[row.id, *_seen_place(row.canonical), _row_text(row, origin),
                      _state_text(row.status, row.attempts, None), _id_bucket(row.id), origin]
                     for row, origin in ((row, dispatch_origin(row)) for row in batch.rows)],
            "states": [[url_id, _state_text(status, attempts, reason), _id_bucket(url_id),
                        None if status == LEASED_TEXT else self._leased_origins.pop(url_id, None)]
                       for url_id, (status, reason, attempts) in batch.statuses.items()],
            "fetches": [[url_id, None if fetch is None else _fetch_text(fetch), _id_bucket(url_id)]
                        for url_id, (fetch, _at) in batch.fetches.items()],
            "references": [[count, *_seen_place(canonical)] for canonical, count in batch.references.items()],
            "images": list(batch.images.items()),
            "manifest": [record for table, record in batch.records if table == "manifest"],
            "failures": [record for table, record in batch.records if table == "failures"],
        }, ensure_ascii=False)
        keys = [self._key[name] for name in ("images", "manifest", "failures", "commit", "owner",
                                             "unfinished", "active", "open_count")]
        batch_token = secrets.token_hex(8)
        self._call(lambda: self._write_script(keys=keys, args=[batch_token, self.token, self._prefix, payload]))

    def lease(self, row: UrlRow) -> UrlRow:
        self._leased_origins[row.id] = dispatch_origin(row)
        return super().lease(row)

    def _read_stored(self, ids: list[int]) -> list[UrlRow]:
        if not ids:
            return []  # (the script's cjson writes an empty array as {})
        args = [self._prefix, _compact(ids)]
        found = json.loads(self._call(lambda: self._read_script(keys=[], args=args)))
        return [_row(url_id, row, state, fetch or None)
                for url_id, row, state, fetch in zip(ids, found[0::3], found[1::3], found[2::3])
                if row and state]

    def _bucket_key(self, kind: str, bucket: int) -> str:
        """The hash of rows, statuses ("state"), fetch records or reference counts ("refs") of one
        block of ids."""
        return f"{self._prefix}{kind}:{bucket}"

    def _seen_key(self, bucket: str) -> str:
        return f"{self._prefix}seen:{bucket}"

    def _stored_path(self, sha256: str) -> str | None:
        return self._call(lambda: self._redis.hget(self._key["images"], sha256))

    def _all_stored_hashes(self) -> Iterable[str]:
        return list(self._call(lambda: self._redis.hkeys(self._key["images"])))

    # -- durability -----------------------------------------------------------------------------

    def _call(self, operation: Any) -> Any:
        """Run a Redis operation; through an outage (a restart, a failover) try again for OUTAGE_SECONDS."""
        deadline = time.monotonic() + OUTAGE_SECONDS
        wait = 0.1
        while True:
            try:
                return operation()
            except (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError) as exc:
                if time.monotonic() >= deadline:
                    raise StorageError(f"Redis for {self._where} has not answered for {OUTAGE_SECONDS:.0f} s "
                                       f"({exc}); when it is back, run the same command with --resume") from exc
                log.warning("scheduler: Redis for %s is unreachable (%s); trying again in %.1f s", self._where,
                            exc, wait)
                time.sleep(wait)
                wait = min(wait * 2, 5.0)
            except redis.ResponseError as exc:
                raise StorageError(f"Redis refused a write for {self._where}: "
                                   f"{_refusal(exc, 'run the same command with --resume')}") from exc

    def commit(self) -> None:
        self._flush()

    def close(self) -> None:
        try:
            self._flush()
            self._redis.zrem(self._key["schedulers"], self.token)  # gone: the others need not wait for it
        except (StorageError, redis.RedisError) as exc:
            log.warning("scheduler: %s", exc)
        self._redis.close()

    def shared_hosts(self) -> SharedHosts:
        """Who dispatches to which origin, for the schedulers sharing this crawl."""
        return SharedHosts(self._redis, self._prefix, self.token, self._call)

    # -- reads and changes outside the hot path -------------------------------------------------

    def _scan(self, name: str) -> Iterator[tuple[str, str]]:
        for chunk in self._chunks(self._key[name]):
            yield from chunk

    def _chunks(self, key: str) -> Iterator[list[tuple[str, str]]]:
        """A hash's entries, a scan step at a time (through an outage, the scan goes on where it was)."""
        cursor = None
        while cursor != 0:
            cursor, found = self._call(lambda cursor=cursor: self._redis.hscan(key, cursor or 0, count=_SCAN_COUNT))
            if found:
                yield list(found.items())

    def _migrate_from_schema_1(self) -> None:
        """Rewrite a crawl begun before 2026-12-05 (schema 1) in today's layout, once, before anything
        else runs it: the seen-set and statuses into their buckets, each row's origin into the row.
        It goes a chunk at a time (a crawl of millions of URLs need not fit in this process), and the
        old keys go only in the last step, so a migration cut short is simply done again."""
        log.warning("scheduler: %s was written by an earlier version; moving it to the compact layout (once)",
                    self._where)
        canon, state, origin, rows_hash = (self._prefix + name for name in ("canon", "state", "origin", "rows"))
        for chunk in self._chunks(canon):
            places = [(_seen_place(canonical), url_id) for canonical, url_id in chunk]
            self._hset_all([(self._seen_key(bucket), digest, url_id) for (bucket, digest), url_id in places])
        for chunk in self._chunks(state):
            self._hset_all([(self._bucket_key("state", _id_bucket(int(url_id))), url_id, text)
                            for url_id, text in chunk])
        for chunk in self._chunks(origin):
            ids = [url_id for url_id, _origin in chunk]
            texts = self._call(lambda ids=ids: self._redis.hmget(rows_hash, ids))
            rows = [(url_id, json.loads(text), url_origin) for (url_id, url_origin), text in zip(chunk, texts) if text]
            self._hset_all([(rows_hash, url_id, _compact([*row, url_origin]))
                            for url_id, row, url_origin in rows if len(row) == 8])  # before rows held it
        pipe = self._redis.pipeline(transaction=True)
        pipe.hset(self._key["meta"], "schema", "2")
        pipe.delete(canon, state, origin)
        self._call(pipe.execute)

    def _migrate_from_schema_2(self) -> None:
        """Rewrite each origin's set of unfinished URLs as today's text and count, one origin at a
        time, each in one transaction (a migration cut short goes on with the sets left)."""
        sets = [str(key) for key in self._call(lambda: list(self._redis.scan_iter(match=self._prefix + "todo:*",
                                                                                  count=_SCAN_COUNT)))]
        for key in sets:
            origin = key[len(self._prefix) + len("todo:"):]
            ids = sorted(int(member) for member in self._call(lambda key=key: self._redis.smembers(key)))
            pipe = self._redis.pipeline(transaction=True)
            if ids:
                pipe.set(self._prefix + "open:" + origin, "".join(f"{url_id}," for url_id in ids))
                pipe.hset(self._key["open_count"], origin, len(ids))
            pipe.delete(key)
            self._call(pipe.execute)
        self._call(lambda: self._redis.hset(self._key["meta"], "schema", "5"))

    def _migrate_from_schema_5(self, announce: bool) -> None:
        """Move the rows, fetch records and reference counts out of their one big hash each into the
        hashes of their ids' blocks (a count was kept by URL, now by id), the fetch records in
        today's compact form, and drop the hash of fetch times (a record holds its own). A chunk at a
        time; the old keys go only in the last step, so a move cut short is simply done again."""
        if announce:
            log.warning("scheduler: %s keeps its rows in the layout of an earlier version; moving them to the "
                        "compact one (once)", self._where)
        rows, fetches, fetched_at, pages = (self._prefix + name for name in ("rows", "fetch", "fetched_at", "pages"))
        for chunk in self._chunks(rows):
            self._hset_all([(self._bucket_key("rows", _id_bucket(int(url_id))), url_id, text)
                            for url_id, text in chunk])
        for chunk in self._chunks(fetches):
            self._hset_all([(self._bucket_key("fetch", _id_bucket(int(url_id))), url_id, _fetch_text(text))
                            for url_id, text in chunk])
        for chunk in self._chunks(pages):
            ids = self._ids_of([canonical for canonical, _count in chunk])
            self._hset_all([(self._bucket_key("refs", _id_bucket(int(url_id))), url_id, count)
                            for (_canonical, count), url_id in zip(chunk, ids) if url_id is not None])
        pipe = self._redis.pipeline(transaction=True)
        pipe.hset(self._key["meta"], "schema", SCHEMA_VERSION)
        pipe.delete(rows, fetches, fetched_at, pages)
        self._call(pipe.execute)

    def _hset_all(self, entries: list[tuple[str, str, str]]) -> None:
        def write() -> None:
            pipe = self._redis.pipeline(transaction=False)
            for key, field_name, value in entries:
                pipe.hset(key, field_name, value)
            pipe.execute()
        self._call(write)

    def _blocks(self, *kinds: str) -> Iterator[list[dict[str, str]]]:
        """For each block of ids, its hashes of these kinds ("rows", "state", "fetch", "refs"), a
        pipeline of reads for many blocks at a time (the ids counter says where the blocks end)."""
        self._flush()
        last = _id_bucket(int(self._call(lambda: self._redis.get(self._key["ids"])) or 0))
        step = _SCAN_COUNT // ID_BUCKET
        for first in range(0, last + 1, step):
            def read(first: int = first) -> list[dict[str, str]]:
                pipe = self._redis.pipeline(transaction=False)
                for bucket in range(first, min(first + step, last + 1)):
                    for kind in kinds:
                        pipe.hgetall(self._bucket_key(kind, bucket))
                return pipe.execute()
            found = self._call(read)
            for start in range(0, len(found), len(kinds)):
                yield found[start:start + len(kinds)]

    def _all_rows(self) -> Iterator[UrlRow]:
        for rows, states, fetches in self._blocks("rows", "state", "fetch"):
            for url_id, text in rows.items():
                if url_id in states:
                    yield _row(int(url_id), text, states[url_id], fetches.get(url_id))

    def restore(self) -> Iterator[UrlRow]:
        yield from self._pending_again(sorted((row for row in self._all_rows() if row.status in UNFINISHED),
                                              key=lambda row: row.id))

    def find_url(self, canonical: str) -> UrlRow | None:
        return self.find_urls([canonical])[0]

    def find_urls(self, canonicals: list[str]) -> list[UrlRow | None]:
        self._flush()
        found: list[UrlRow | None] = []
        for start in range(0, len(canonicals), _SCAN_COUNT):  # two round trips a chunk
            chunk = canonicals[start:start + _SCAN_COUNT]
            ids = self._ids_of(chunk)
            rows = {row.id: row for row in self._read_stored(sorted({int(url_id) for url_id in ids if url_id}))}
            for canonical, url_id in zip(chunk, ids):
                row = rows.get(int(url_id)) if url_id else None
                # another URL of the same digest (see _seen_place) is not this one
                found.append(row if row is not None and row.canonical == canonical else None)
        return found

    def _ids_of(self, canonicals: list[str]) -> list[str | None]:
        """The seen-set's id for each of these URLs (None where it has none), in one round trip."""
        def read() -> list[str | None]:
            pipe = self._redis.pipeline(transaction=False)
            for canonical in canonicals:
                bucket, digest = _seen_place(canonical)
                pipe.hget(self._seen_key(bucket), digest)
            return pipe.execute()
        return self._call(read)

    def canonicals(self) -> Iterator[str]:
        for (rows,) in self._blocks("rows"):
            yield from (json.loads(text)[0] for text in rows.values())

    def finished_robots(self) -> Iterator[str]:
        for row in self._all_rows():
            if row.kind == Kind.ROBOTS and row.status not in UNFINISHED and not self.robots_text(origin_of(row.url))[0]:
                yield origin_of(row.url)

    def counts(self) -> dict[tuple[str, str], int]:
        counts: dict[tuple[str, str], int] = {}
        for row in self._all_rows():
            counts[(row.kind, row.status)] = counts.get((row.kind, row.status), 0) + 1
        return counts

    def reference_counts(self) -> dict[str, int]:
        self._flush()
        counts: dict[str, int] = {}
        for rows, references in self._blocks("rows", "refs"):
            counts.update((_url_of(rows[url_id]), int(count)) for url_id, count in references.items()
                          if int(count) > 0 and url_id in rows)
        return counts

    def fetched_hashes(self) -> set[str]:
        return {json.loads(row.fetch).get("sha256", "") for row in self._all_rows()
                if row.status == UrlStatus.DONE and row.fetch}

    def start_recrawl(self, fetched_before: float | None, fresh_at: float | None) -> tuple[int, int]:
        self._flush()
        self._read_ahead.clear()
        counted = recrawl_rows(self, self._all_rows(), fetched_before, fresh_at)
        self._flush()
        self._call(lambda: self._redis.delete(self._key["robots"]))
        return counted

    def forget_images(self, sha256s: set[str]) -> None:
        self._flush()
        kept = [record for record in self._call(lambda: self._redis.lrange(self._key["manifest"], 0, -1))
                if json.loads(record).get("sha256") not in sha256s]

        def rewrite() -> None:
            pipe = self._redis.pipeline(transaction=True)
            if sha256s:
                pipe.hdel(self._key["images"], *sha256s)
            pipe.delete(self._key["manifest"])
            if kept:
                pipe.rpush(self._key["manifest"], *kept)
            pipe.execute()
        self._call(rewrite)
        self._forget_hashes(sha256s)

    def records(self, table: str) -> Iterator[dict[str, Any]]:
        check_table(table)
        self._flush()
        key = self._key[table]
        length = self._call(lambda: self._redis.llen(key))
        for start in range(0, length, _SCAN_COUNT):
            chunk = self._call(lambda start=start: self._redis.lrange(key, start, start + _SCAN_COUNT - 1))
            yield from (json.loads(record) for record in chunk)

    def robots_text(self, origin: str) -> tuple[bool, str | None]:
        value = self._call(lambda: self._redis.hget(self._key["robots"], origin))
        if value is None:
            return (False, None)
        return (True, value[1:] if value.startswith("T") else None)

    def set_robots(self, origin: str, text: str | None) -> None:
        self._call(lambda: self._redis.hset(self._key["robots"], origin, "N" if text is None else "T" + text))


assert set(RECORD_TABLES) <= set(_KEYS)


# Rows and states are most of a crawl's Redis memory, one of each per URL: compact JSON, and a URL
# that is its own canonical form (most are) is written once, its second place left null. A row's
# last item is its origin, which the write script needs when the URL's work ends (a hash of its own
# per URL cost 70 bytes more), and which it reads off the canonical URL where the row ends before
# (most rows: the origin is what the URL starts with). Trailing nulls are left out.
_LEADING_ORIGIN = re.compile(r"[^:/?#]+://[^/?#]*")  # as the write script's row_origin reads it
_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))  # made once: json.dumps makes one a call


def _compact(value: list[Any] | dict[str, Any]) -> str:
    return _COMPACT.encode(value)


def _row_text(row: UrlRow, origin: str) -> str:
    url = None if row.url == row.canonical else row.url
    leading = _LEADING_ORIGIN.match(row.canonical)
    page_url = row.page_url
    if page_url is not None and leading is not None and page_url.startswith(leading.group() + "/"):
        page_url = page_url[leading.end():]  # a page of the URL's own origin (most are): its path
    fields = [row.canonical, url, row.kind, row.depth, page_url, row.hops, row.found_as, row.words,
              None if leading is not None and leading.group() == origin else origin]
    while fields[-1] is None:
        fields.pop()
    return _compact(fields)


def _seen_place(canonical: str) -> tuple[str, str]:
    """Where the seen-set keeps a canonical URL: its bucket, and its 64-bit digest as the field (an
    integer, which a listpack stores in 9 bytes). Two URLs of one digest would count as one, and the
    second would never be fetched: at a million URLs that happens with odds of 1 in 37 million."""
    digest = int.from_bytes(hashlib.blake2b(canonical.encode(), digest_size=8).digest(), "big", signed=True)
    return str(digest % SEEN_BUCKETS), str(digest)


def _id_bucket(url_id: int) -> int:
    """The block of ids whose rows, statuses, fetch records and reference counts share a hash of
    each kind with this one's."""
    return url_id // ID_BUCKET


# A status is one letter, the attempts, and the reason after a colon where there is one: "p0",
# "l1", "f3:http-404" (2 bytes for most URLs, where JSON took 18).
_STATUS_CODES = {str(status): str(status)[0] for status in UrlStatus}
_STATUS_OF_CODE = {code: status for status, code in _STATUS_CODES.items()}
assert len(_STATUS_OF_CODE) == len(_STATUS_CODES)  # the initials tell the statuses apart


@functools.lru_cache(maxsize=1024)  # few statuses, attempts and reasons: most states are written before
def _state_text(status: str, attempts: int, reason: str | None) -> str:
    return f"{_STATUS_CODES[status]}{attempts}" + (f":{reason}" if reason else "")


@functools.lru_cache(maxsize=1024)  # the few texts _state_text writes
def _state_of(state_text: str) -> tuple[str, int, str | None]:
    if state_text.startswith("["):  # written before schema 5
        status, attempts, reason = json.loads(state_text)
        return status, attempts, reason
    attempts_text, _, reason = state_text[1:].partition(":")
    return _STATUS_OF_CODE[state_text[0]], int(attempts_text), reason or None


def _url_of(row_text: str) -> str:
    """The URL of a row, as _row reads it."""
    fields = json.loads(row_text)
    return fields[1] if len(fields) > 1 and fields[1] is not None else fields[0]


def _row(url_id: int, row_text: str, state_text: str, fetch: str | None) -> UrlRow:
    fields = json.loads(row_text)
    canonical, url, kind, depth, page_url, hops, found_as, words = fields[:8] + [None] * (8 - len(fields))
    url = canonical if url is None else url  # rows written before 2026-12-05 hold it twice, and no origin
    if page_url is not None and page_url.startswith("/"):  # a path on the URL's own origin (see _row_text)
        page_url = _LEADING_ORIGIN.match(canonical).group() + page_url  # type: ignore[union-attr]
    status, attempts, _reason = _state_of(state_text)
    return UrlRow(url_id, canonical, url, kind, depth, page_url, hops, status, attempts, found_as, words,
                  None if fetch is None else _fetch_of(fetch))


# A fetch record (what a URL's last fetch gave, for the next re-crawl to ask with) is a list, not
# an object: [etag, last_modified, sha256, bytes, at, max_age], trailing nulls left out, the date
# as POSIX seconds where that reads back to the same text, the sha256 in base64 and `at` to the
# millisecond: about 100 bytes where the object took 190. A record a list cannot hold exactly (another
# key, a sha256 that is not 64 hex digits) stays an object, and so do those written before schema 6.
_FETCH_FIELDS = ("etag", "last_modified", "sha256", "bytes", "at", "max_age")
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


def _fetch_text(fetch: str) -> str:
    noted = json.loads(fetch)
    sha256 = noted.get("sha256")
    if not noted.keys() <= set(_FETCH_FIELDS) or not (sha256 is None or (
            isinstance(sha256, str) and _SHA256_HEX.fullmatch(sha256))):
        return _compact(noted)
    fields = [noted.get(name) for name in _FETCH_FIELDS]
    modified, at = fields[1], fields[4]
    if isinstance(modified, str):
        fields[1] = _seconds_of_http_date(modified) or modified
    if sha256 is not None:
        fields[2] = base64.urlsafe_b64encode(bytes.fromhex(sha256)).decode().rstrip("=")
    if isinstance(at, float):
        fields[4] = round(at, 3)
    while fields and fields[-1] is None:
        fields.pop()
    return _compact(fields)


def _fetch_of(text: str) -> str:
    """The fetch record as the scheduler reads it, a JSON object (see _fetch_text)."""
    if text.startswith("{"):
        return text
    noted = {}
    for name, value in zip(_FETCH_FIELDS, json.loads(text)):
        if value is None:
            continue
        if name == "last_modified" and isinstance(value, int):
            value = formatdate(value, usegmt=True)
        elif name == "sha256":
            value = base64.urlsafe_b64decode(value + "=").hex()
        noted[name] = value
    return _compact(noted)


def _seconds_of_http_date(date: str) -> int | None:
    """An HTTP date as POSIX seconds, where formatting them gives the very same text back (an
    If-Modified-Since is sent as the server wrote it); else None."""
    try:
        seconds = int(parsedate_to_datetime(date).timestamp())
        return seconds if formatdate(seconds, usegmt=True) == date else None
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _refusal(exc: redis.RedisError, then: str) -> str:
    """Redis's words (not a script's hash and line) and, for a refusal, what to do about it and
    `then`. A crawl stopped by one loses nothing: what its nodes finished and Redis did not record
    is fetched again with --resume."""
    said = str(exc).split(". script: ")[0].rstrip(".")
    if isinstance(exc, redis.exceptions.OutOfMemoryError):
        mend = "it is full (maxmemory): give it more (redis-cli CONFIG SET maxmemory 0 lifts the cap)"
    elif isinstance(exc, redis.exceptions.ReadOnlyError):
        mend = "it is a read-only replica: point --state at its primary"
    elif said.startswith("MISCONF"):
        mend = "it cannot save to its own disk (its log says why): mend that"
    elif isinstance(exc, redis.ResponseError):
        mend = "mend that"
    else:
        return said
    return f"{said}; {mend}, then {then}"


def _shown_url(url: str) -> str:
    """A Redis URL as an error may show it: without its password."""
    return re.sub(r"//[^@/]*@", "//", url)


def _check_database(url: str) -> None:
    """redis-py drops a database that is no number (`redis://HOST:PORT/abc`) and uses database 0."""
    parts = urlsplit(url)
    database = parts.path.strip("/")
    if parts.scheme in ("redis", "rediss") and database and not ascii_digits(database):
        raise ValueError(f"the database of a Redis URL is a number from 0 (redis://HOST:PORT/0), not {database!r}")


def _check_options(client: redis.Redis) -> None:
    """redis-py hands a URL's options (`?socket_timeout=5`) to its connection class, and one that
    class does not take fails the first command with a TypeError: refuse it here, by name."""
    pool = client.connection_pool
    taken: set[str] = set()
    for klass in pool.connection_class.__mro__:  # each __init__ passes what it does not name up
        init = vars(klass).get("__init__")
        if init is None:
            continue
        parameters = inspect.signature(init).parameters.values()
        taken |= {parameter.name for parameter in parameters if parameter.kind is parameter.KEYWORD_ONLY
                  or parameter.kind is parameter.POSITIONAL_OR_KEYWORD}
        if not any(parameter.kind is parameter.VAR_KEYWORD for parameter in parameters):
            break
    unknown = sorted(set(pool.connection_kwargs) - taken)
    if unknown:
        tls = "SSL" in pool.connection_class.__name__
        ssl_ones = any(name.startswith("ssl_") for name in unknown)
        hint = "; ssl_ options go with rediss://" if ssl_ones and not tls else ""
        raise ValueError(f"Redis URLs take no option {', '.join(unknown)} (redis-py's options are the keyword "
                         f"arguments of its {pool.connection_class.__name__}, like socket_timeout"
                         f"{' or ssl_cert_reqs' if tls else ''}){hint}")


def _check_server(client: redis.Redis, url: str) -> None:
    """Refuse, in one line, a server that lacks what the store needs or would lose the crawl's keys."""
    info = client.info("server")
    version = tuple(int(part) for part in str(info.get("redis_version", "0")).split(".")[:2])
    if version < MIN_VERSION:
        raise StateError(f"Redis at {_shown_url(url)} is version {info.get('redis_version')}; the crawl state "
                         f"needs {'.'.join(map(str, MIN_VERSION))} or later")
    try:
        client.eval("return 1", 0)
    except redis.ResponseError as exc:
        raise StateError(f"Redis at {_shown_url(url)} does not run Lua scripts ({exc}); the crawl state needs "
                         "them for its atomic writes") from exc
    try:
        policy = client.config_get("maxmemory-policy").get("maxmemory-policy", "noeviction")
    except redis.ResponseError:  # CONFIG may be disabled (managed services): nothing to learn there
        policy = "noeviction"
    if policy != "noeviction":
        raise StateError(f"Redis at {_shown_url(url)} evicts keys under memory pressure (maxmemory-policy "
                         f"{policy}): the crawl's state would be lost; set maxmemory-policy noeviction")
    allowed = _listpack_value_bytes(client)
    if allowed is not None and allowed < COMPACT_VALUE_BYTES:
        log.info("scheduler: Redis at %s keeps a hash compact only while its values are at most %d bytes; with "
                 "hash-max-listpack-value %d a finished crawl takes about 30 %% less memory (README: \"Memory\")",
                 _shown_url(url), allowed, COMPACT_VALUE_BYTES)


def _listpack_value_bytes(client: redis.Redis) -> int | None:
    """The server's hash-max-listpack-value (hash-max-ziplist-value before Redis 7), None where
    CONFIG is disabled."""
    try:
        found = client.config_get("hash-max-*-value")
    except redis.ResponseError:
        return None
    value = found.get("hash-max-listpack-value", found.get("hash-max-ziplist-value"))
    return int(value) if value is not None and str(value).isdigit() else None

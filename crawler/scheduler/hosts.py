"""Several schedulers, one crawl: each origin is dispatched by one scheduler at a time.

Politeness is per origin (`--per-host` requests in flight, `--delay` between them). Rather than
take a Redis round trip for every dispatch, the schedulers of a crawl share out the origins: the
owner of an origin keeps its queue, its politeness and its leases in memory, exactly as a lone
scheduler does, so every per-host limit holds whichever scheduler's nodes fetch it. Ownership is
a claim with an expiry in Redis, renewed on every sync; a scheduler that dies loses its origins
when the claim lapses (at once, if it ran on the same machine as the one that notices: its pid
is gone), and another claims them with their unfinished URLs, the leased ones included.

Everything here is one Lua script or one command: a claim and the unfinished URLs it takes over
are read together, so no URL found meanwhile falls between two owners. URLs other schedulers find
on an origin reach its owner through the owner's inbox (the write script in redis_store.py).
"""

from __future__ import annotations

import json
import logging
import math
import os
import socket
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from crawler.scheduler.store import UNFINISHED

if TYPE_CHECKING:  # a crawl on SQLite never loads the Redis client
    import redis

log = logging.getLogger("crawler")

CLAIM_SECONDS = 30.0  # an owner silent this long loses its origins
_INBOX_BATCH = 10_000  # URL ids taken from the inbox at a time

# KEYS: owner owner_until active open_count
# ARGV: this scheduler's token, now (ms), claim until (ms), how many origins at most, key prefix, dead owners (JSON)
# Returns origin, then the ids listed as its unfinished URLs ("12,40,"; see redis_store.py), for each claimed.
_CLAIM = """
local dead = {}
for _, token in ipairs(cjson.decode(ARGV[6])) do dead[token] = true end
local claimed = {}
local count = 0
for _, origin in ipairs(redis.call('SMEMBERS', KEYS[3])) do
  if count >= tonumber(ARGV[4]) then break end
  local owner = redis.call('HGET', KEYS[1], origin)
  if tonumber(redis.call('HGET', KEYS[4], origin) or '0') <= 0 then
    redis.call('SREM', KEYS[3], origin)
  elseif owner ~= ARGV[1] then
    local until_ms = tonumber(redis.call('HGET', KEYS[2], origin) or '0')
    if (not owner) or until_ms < tonumber(ARGV[2]) or dead[owner] then
      redis.call('HSET', KEYS[1], origin, ARGV[1])
      redis.call('HSET', KEYS[2], origin, ARGV[3])
      if owner then redis.call('DEL', ARGV[5] .. 'inbox:' .. owner) end
      table.insert(claimed, origin)
      table.insert(claimed, redis.call('GET', ARGV[5] .. 'open:' .. origin) or '')
      count = count + 1
    end
  end
end
return claimed
"""

# KEYS: owner owner_until; ARGV: token, until (ms), origins (JSON). Returns the origins no longer ours.
_RENEW = """
local lost = {}
for _, origin in ipairs(cjson.decode(ARGV[3])) do
  if redis.call('HGET', KEYS[1], origin) == ARGV[1] then
    redis.call('HSET', KEYS[2], origin, ARGV[2])
  else
    table.insert(lost, origin)
  end
end
return lost
"""

# KEYS: owner owner_until; ARGV: token, origins (JSON)
_RELEASE = """
for _, origin in ipairs(cjson.decode(ARGV[2])) do
  if redis.call('HGET', KEYS[1], origin) == ARGV[1] then
    redis.call('HDEL', KEYS[1], origin)
    redis.call('HDEL', KEYS[2], origin)
  end
end
return 1
"""


def gone(token: str) -> bool:
    """True if a scheduler's token names a process of this machine that no longer exists."""
    host, _, rest = token.partition(":")
    pid = rest.partition(":")[0]
    return host == socket.gethostname() and pid.isdigit() and not _alive(int(pid))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


class SharedHosts:
    """One scheduler's side of the origins' ownership (see the module's docstring)."""

    def __init__(self, client: redis.Redis, prefix: str, token: str, call: Callable[[Any], Any]) -> None:
        self._redis, self._prefix, self.token, self._call = client, prefix, token, call
        self._owner, self._until = prefix + "owner", prefix + "owner_until"
        self._claim = client.register_script(_CLAIM)
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)

    def fair_share(self, owned: int, live_others: int) -> int:
        """How many more origins this scheduler should take: an even share of those with work."""
        active = int(self._call(lambda: self._redis.scard(self._prefix + "active")))
        return max(0, math.ceil(active / (live_others + 1)) - owned)

    def claim(self, limit: int, dead: list[str]) -> dict[str, list[int]]:
        """Claim up to `limit` origins that have unfinished URLs and no live owner; return each with
        the ids listed as its unfinished URLs: those leased by a dead owner included, and some that
        have finished since (the caller keeps the rows still unfinished)."""
        if limit <= 0:
            return {}
        now = time.time() * 1000
        reply = self._call(lambda: self._claim(
            keys=[self._owner, self._until, self._prefix + "active", self._prefix + "open_count"],
            args=[self.token, int(now), int(now + CLAIM_SECONDS * 1000), limit, self._prefix, json.dumps(dead)]))
        return {reply[n]: sorted({int(url_id) for url_id in reply[n + 1].split(",") if url_id})
                for n in range(0, len(reply), 2)}

    def renew(self, origins: list[str]) -> list[str]:
        """Extend the claims on these origins; return those another scheduler holds now."""
        if not origins:
            return []
        until = int((time.time() + CLAIM_SECONDS) * 1000)
        return list(self._call(lambda: self._renew(keys=[self._owner, self._until],
                                                   args=[self.token, until, json.dumps(origins)])))

    def release(self, origins: list[str]) -> None:
        """Give these origins up, so another scheduler may claim them at once."""
        if origins:
            self._call(lambda: self._release(keys=[self._owner, self._until], args=[self.token, json.dumps(origins)]))

    def inbox(self) -> list[int]:
        """Ids of URLs other schedulers found on this scheduler's origins since the last call."""
        ids = self._call(lambda: self._redis.lpop(self._prefix + "inbox:" + self.token, _INBOX_BATCH))
        return [int(url_id) for url_id in ids or []]

    def owners(self) -> set[str]:
        """The tokens that own some origin now (to tell the dead among them)."""
        return set(self._call(lambda: self._redis.hvals(self._owner)))

    def unfinished(self) -> int:
        """URLs of the whole crawl still pending or leased, whichever scheduler holds them."""
        return int(self._call(lambda: self._redis.get(self._prefix + "unfinished")) or 0)


class HostSync:
    """What the scheduler loop does every SYNC_SECONDS on a shared crawl: say it is alive, keep its
    origins, take an even share of those with work, and queue what other schedulers found on them."""

    SYNC_SECONDS = 0.25
    # A scheduler whose frontier ran dry syncs this often instead: the origins it may claim and
    # what the others found on its own are then all the work it can get. At SYNC_SECONDS alone,
    # two schedulers starting a crawl took an origin or two each a quarter of a second, and one
    # left with nothing to do took over the other's origins as slowly: in all, idle a quarter of the time.
    DRY_SYNC_SECONDS = 0.02
    # A scheduler with no origin this long while the crawl has work says why its nodes wait.
    WAITING_NOTICE_SECONDS = 3.0

    def __init__(self, shared: SharedHosts, store: Any, frontier: Any) -> None:
        self._shared, self._store, self._frontier = shared, store, frontier
        self._next = self._next_if_dry = 0.0
        self.saw_others = False  # another scheduler of the crawl was alive at some sync
        self._without_origin_since: float | None = None
        self._said_waiting = False

    def step(self, now: float, ran_dry: bool) -> None:
        """Sync when it is due, or sooner if the frontier `ran_dry` (had nothing pending while the
        nodes wanted more)."""
        if now >= self._next or (ran_dry and now >= self._next_if_dry):
            self.run(now)

    def run(self, now: float) -> None:
        self._next, self._next_if_dry = now + self.SYNC_SECONDS, now + self.DRY_SYNC_SECONDS
        # URLs this scheduler found on origins it did not own are written before it claims any: a
        # claim reads the origin's unfinished URLs, and the write script sends an owner no inbox
        # entry for what it wrote itself.
        self._store.commit()
        self._store.heartbeat()
        owned: set[str] = self._frontier.owned
        for origin in self._shared.renew(sorted(owned)):
            self._frontier.disown(origin)
        others = self._store.live_schedulers()
        wanted = self._shared.fair_share(len(owned), len(others))
        if not wanted and self._frontier.pending_count == 0:
            wanted = 1  # idle: take an origin nobody dispatches to (the share counts origins whose work is done)
        if wanted:
            dead = [token for token in self._shared.owners() if token != self._shared.token and gone(token)]
            for origin, ids in self._shared.claim(wanted, dead).items():
                self._frontier.adopt(origin, [row for row in self._rows(ids) if row.status in UNFINISHED])
        elif others:
            self._hand_over_excess(len(others))
        inbox = self._shared.inbox()
        if inbox:
            self._frontier.accept(self._rows(inbox))
        self.saw_others = self.saw_others or bool(others)
        self._note_waiting(now, bool(others))

    def _note_waiting(self, now: float, others: bool) -> None:
        """Say once why this scheduler's nodes fetch nothing: every origin with work is another's.
        With one site, the second scheduler of its crawl had nothing to do and said only "0 pages"."""
        if self._frontier.owned or not others:
            self._without_origin_since = None
            return
        if self._without_origin_since is None:
            self._without_origin_since = now
        if (not self._said_waiting and now - self._without_origin_since >= self.WAITING_NOTICE_SECONDS
                and self.crawl_unfinished()):
            self._said_waiting = True
            log.info("scheduler: every site of this crawl with work left is another scheduler's, so this one's "
                     "nodes wait: each site goes through one scheduler, which keeps its --per-host and --delay "
                     "(schedulers share a crawl of many sites); this one takes a site over once one is free or "
                     "its scheduler stops")

    def _hand_over_excess(self, others: int) -> None:
        """Give up idle origins beyond an even share, so schedulers that joined later get work."""
        share = self._shared.fair_share(0, others)
        excess = len(self._frontier.owned) - share - 1
        if excess > 0:
            released = self._frontier.idle_origins()[:excess]
            for origin in released:
                self._frontier.disown(origin)
            self._shared.release(released)

    def _rows(self, ids: list[int]) -> list[Any]:
        self._store.commit()  # what this scheduler changed is in Redis before it reads rows back
        rows = []
        for start in range(0, len(ids), 1000):
            chunk = ids[start:start + 1000]
            rows += [row for row in (self._store.get_url(url_id, chunk) for url_id in chunk) if row is not None]
        return rows

    def crawl_unfinished(self) -> int:
        return self._shared.unfinished()

    def release_all(self) -> None:
        self._shared.release(sorted(self._frontier.owned))

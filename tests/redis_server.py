"""A real redis-server for the tests (benchmarks.servers.RedisServer), or a skip that says why.

Tests that claim to test Redis use this, never a mock. Where no server binary exists they skip,
saying so (`.ci/run` installs Debian's redis-server).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.servers import RedisServer, redis_binary

__all__ = ["RedisServer", "started_redis"]


def started_redis(folder: Path, bind: str = "127.0.0.1") -> RedisServer:
    if redis_binary() is None:
        pytest.skip("no redis-server binary (apt-get install redis-server; .ci/run does)")
    return RedisServer(folder, bind)

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.redis_server import RedisServer, started_redis


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One real redis-server for the session (each test uses crawls of its own names)."""
    server = started_redis(Path(tmp_path_factory.mktemp("redis")))
    yield server
    server.stop()

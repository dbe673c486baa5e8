from __future__ import annotations

import compileall
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.redis_server import RedisServer, started_redis

REPO = Path(__file__).resolve().parents[1]


def pytest_sessionstart(session: pytest.Session) -> None:
    """Compile the package's bytecode once, as an install has it, before the tests start crawlers.

    The suite starts `python3 -m crawler` hundreds of times. Where PYTHONDONTWRITEBYTECODE is set
    (this machine sets it) nothing writes the bytecode, and each of those processes would compile
    the package's sources again: 0.1–0.2 s of CPU each here. Python still reads bytecode that is
    there and checks it against its source, so a changed module is compiled afresh as usual.
    """
    compileall.compile_dir(REPO / "crawler", quiet=1)
    # Every server the suite crawls is on this machine (or in its network namespaces): a proxy the
    # environment names (an office's, a CI runner's) cannot reach them. The tests of proxies set
    # their own environment.
    os.environ["no_proxy"] = os.environ["NO_PROXY"] = "*"


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One real redis-server for the session (each test uses crawls of its own names)."""
    server = started_redis(Path(tmp_path_factory.mktemp("redis")))
    yield server
    server.stop()

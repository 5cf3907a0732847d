"""Redis fixtures: a URL on a test database number and a unique key prefix per test.

Teardown deletes only the keys under that prefix (never FLUSHDB: others share the server).
`own_redis` is a server of the test's own (`tests.processes.RedisServer`), for outages: only it
is ever killed.
"""

from __future__ import annotations

import os
import random
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import redis.asyncio as aioredis

from tests.processes import RedisServer

_HOST = os.environ.get("BRX_TEST_REDIS_HOST", "127.0.0.1")
_PORT = int(os.environ.get("BRX_TEST_REDIS_PORT", "6379"))


@pytest.fixture(scope="session")
def redis_url() -> str:
    """redis://127.0.0.1:6379/<db>, a db number picked per session to keep runs apart."""
    db = int(os.environ.get("BRX_TEST_REDIS_DB", random.randint(1, 15)))
    url = f"redis://{_HOST}:{_PORT}/{db}"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis is not reachable at {_HOST}:{_PORT}: {exc}")
    return url


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A key prefix no other test uses; its keys are deleted afterwards."""
    prefix = f"brxtest:{uuid.uuid4().hex[:12]}:"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=prefix + "*", count=500))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[aioredis.Redis[Any]]:
    """An asyncio client bound to this test's event loop."""
    client: aioredis.Redis[Any] = aioredis.Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of the test's own that keeps nothing: `kill()` is an outage that loses
    every key, `start()` brings it back empty on the same port."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    server = RedisServer(tmp_path, persist=False)
    server.start()
    yield server
    server.kill()

"""Postgres fixtures: one database with a random name per test session, migrated with the
real migrations (`brx_adapters.postgres.upgrade`), dropped at the end. Only that database is
ever created or dropped; other sessions and engineers share the server.

The session fixture is synchronous (its own short event loops) so that `engine` and
`uow_factory`, which are per test, live on the test's own event loop.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from brx_adapters.postgres import PostgresUnitOfWorkFactory, create_engine, upgrade

_HOST = os.environ.get("BRX_TEST_PG_HOST", "127.0.0.1")
_PORT = int(os.environ.get("BRX_TEST_PG_PORT", "5432"))
_USER = os.environ.get("BRX_TEST_PG_USER", "postgres")


def server_url(database: str) -> str:
    return f"postgresql://{_USER}@{_HOST}:{_PORT}/{database}"


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(server_url("postgres"), timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def create_database_async(prefix: str = "brx_test") -> str:
    """A new empty database with a random name; returns its name."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    await _admin(f'CREATE DATABASE "{name}"')
    return name


async def drop_database_async(name: str) -> None:
    await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def create_database(prefix: str = "brx_test") -> str:
    return asyncio.run(create_database_async(prefix))


def drop_database(name: str) -> None:
    asyncio.run(drop_database_async(name))


_SERVICE_BACKENDS = (
    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database()"
    " AND application_name = 'brx-sync' AND pid <> pg_backend_pid()"
)


async def terminate_service_backends(url: str) -> int:
    """Terminate the service's connections (application_name `brx-sync`) to the database of
    `url` only, as a Postgres restart would; how many were signalled. Other databases, and
    other sessions' services, are never touched."""
    admin = await asyncpg.connect(url, timeout=10)
    try:
        return sum(1 for row in await admin.fetch(_SERVICE_BACKENDS) if row[0])
    finally:
        await admin.close()


async def keep_terminating(url: str, every: float, killed: list[int]) -> None:
    """`terminate_service_backends` every `every` seconds until cancelled; each count kept."""
    while True:
        killed.append(await terminate_service_backends(url))
        await asyncio.sleep(every)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """postgresql://postgres@127.0.0.1:5432/brx_test_<random>, migrated to head."""
    try:
        name = create_database()
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.skip(f"Postgres is not reachable at {_HOST}:{_PORT}: {exc}")
    url = server_url(name)
    try:
        upgrade(url)
        yield url
    finally:
        drop_database(name)


@pytest.fixture
async def engine(postgres_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on this test's event loop (pool sized like a small deployment)."""
    engine = create_engine(postgres_url, pool_size=5, max_overflow=20)
    yield engine
    await engine.dispose()


@pytest.fixture
def uow_factory(engine: AsyncEngine) -> PostgresUnitOfWorkFactory:
    return PostgresUnitOfWorkFactory(engine)


@pytest.fixture
async def scratch_database(postgres_url: str) -> AsyncIterator[str]:
    """Another random database, empty (not migrated), for tests of the migrations themselves."""
    name = await create_database_async("brx_scratch")
    yield server_url(name)
    await drop_database_async(name)

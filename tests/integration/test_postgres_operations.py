"""The operational helpers the application wires in: readiness ping, pool figures, the
operator's composite-index endpoint, and URL handling."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from brx_adapters.postgres import (
    COMPOSITE_INDEX,
    create_engine,
    ensure_composite_index,
    ping,
    pool_status,
)

pytestmark = pytest.mark.integration


async def test_ping_answers_on_a_live_database(engine: AsyncEngine) -> None:
    await ping(engine)


async def test_ping_raises_when_the_database_is_unreachable() -> None:
    dead = create_engine("postgresql://postgres@127.0.0.1:1/none", pool_size=1, max_overflow=0)
    try:
        with pytest.raises(OSError):
            await ping(dead)
    finally:
        await dead.dispose()


async def test_pool_status_reports_numbers_and_no_connection_string(engine: AsyncEngine) -> None:
    await ping(engine)

    status = pool_status(engine)

    assert status["size"] == 5
    assert status["checked_out"] == 0
    assert "postgres" not in repr(status)


async def test_ensure_composite_index_is_idempotent_and_rebuilds_a_dropped_index(
    engine: AsyncEngine, postgres_url: str
) -> None:
    assert await ensure_composite_index(engine) is True
    conn = await asyncpg.connect(postgres_url)
    try:
        await conn.execute(f"DROP INDEX {COMPOSITE_INDEX}")
        assert await ensure_composite_index(engine) is True
        assert await ensure_composite_index(engine) is True
        definition = await conn.fetchval(
            "SELECT indexdef FROM pg_indexes WHERE indexname = $1", COMPOSITE_INDEX
        )
    finally:
        await conn.close()
    assert definition.endswith("(user_id, blueprint_id, external_stock_id)")


async def test_plain_postgresql_urls_are_served_by_asyncpg(postgres_url: str) -> None:
    assert postgres_url.startswith("postgresql://")

    engine = create_engine(postgres_url, pool_size=1, max_overflow=0)
    try:
        await ping(engine)
        assert engine.dialect.driver == "asyncpg"
    finally:
        await engine.dispose()

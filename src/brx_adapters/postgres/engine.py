"""The process's one async engine, plus the small operational helpers the app needs
(readiness ping, pool figures for /health, the operator's composite-index endpoint)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import QueuePool

COMPOSITE_INDEX = "idx_inventory_user_blueprint_external"
COMPOSITE_COLUMNS = ("user_id", "blueprint_id", "external_stock_id")


def async_url(url: str) -> str:
    """`postgresql://` (libpq style, what operators write) means asyncpg here."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres", "postgresql+asyncpg"):
        return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    raise ValueError(f"DATABASE_URL: unsupported driver {parsed.drivername!r}; use postgresql://")


def create_engine(url: str, *, pool_size: int, max_overflow: int) -> AsyncEngine:
    """Create the engine once per process; pool sizes come from configuration."""
    return create_async_engine(
        async_url(url),
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=True,
        pool_recycle=1800,
        json_serializer=_dumps,
        connect_args={"server_settings": {"application_name": "brx-sync"}},
    )


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


async def ping(engine: AsyncEngine) -> None:
    """Raise when the database does not answer a trivial query (readiness)."""
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


def pool_status(engine: AsyncEngine) -> dict[str, Any]:
    """Pool usage for /health; numbers only, never the URL (it may hold a password)."""
    pool = engine.pool
    if not isinstance(pool, QueuePool):
        return {"pool": type(pool).__name__}
    return {
        "size": pool.size(),
        "checked_in": pool.checkedin(),
        "checked_out": pool.checkedout(),
        "overflow": pool.overflow(),
    }


async def ensure_composite_index(engine: AsyncEngine) -> bool:
    """Create the bulk-sync index if missing (idempotent); True when it exists afterwards.

    CONCURRENTLY so a large table stays writable; it cannot run inside a transaction, hence
    AUTOCOMMIT. A half-built (invalid) index from an interrupted run is dropped and rebuilt.
    """
    async with engine.connect() as conn:
        auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
        if await _index_valid(auto) is False:
            await auto.execute(text(f"DROP INDEX CONCURRENTLY IF EXISTS {COMPOSITE_INDEX}"))
        await auto.execute(
            text(
                f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {COMPOSITE_INDEX} "
                f"ON user_inventory_items ({', '.join(COMPOSITE_COLUMNS)})"
            )
        )
        return bool(await _index_valid(auto))


async def _index_valid(conn: Any) -> bool | None:
    """None when the index is absent, else whether Postgres considers it usable."""
    result = await conn.execute(
        text(
            "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE c.relname = :name AND pg_table_is_visible(c.oid)"
        ),
        {"name": COMPOSITE_INDEX},
    )
    row = result.first()
    return None if row is None else bool(row[0])

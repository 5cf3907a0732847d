"""The process's one async engine, plus the small operational helpers the app needs
(readiness ping, pool figures for /health, the operator's composite-index endpoint)."""

from __future__ import annotations

import json
import time
from typing import Any

import orjson
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import QueuePool

from brx_adapters.postgres.errors import connection_lost

COMPOSITE_INDEX = "idx_inventory_user_blueprint_external"
COMPOSITE_COLUMNS = ("user_id", "blueprint_id", "external_stock_id")
IDLE_PING_SECONDS = 10.0
# Every statement here is a short one, planned per call: a sync chunk's probe or write over
# 5,000 staged rows, a page of a large inventory. Postgres JIT-compiles any statement costed
# over `jit_above_cost`, which costs ~100 ms each time (one chunk's holds statement spent 101 of
# its 204 ms compiling); the work it speeds up is never that long here.
SERVER_SETTINGS = {"application_name": "brx-sync", "jit": "off"}


def async_url(url: str) -> str:
    """`postgresql://` (libpq style, what operators write) means asyncpg here."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres", "postgresql+asyncpg"):
        return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    raise ValueError(f"DATABASE_URL: unsupported driver {parsed.drivername!r}; use postgresql://")


def create_engine(url: str, *, pool_size: int, max_overflow: int) -> AsyncEngine:
    """Create the engine once per process; pool sizes come from configuration."""
    engine = create_async_engine(
        async_url(url),
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_recycle=1800,
        json_serializer=json_text,
        json_deserializer=_loads,
        connect_args={"server_settings": SERVER_SETTINGS},
    )
    _guard_checkouts(engine)
    return engine


# The jsonb text of every write (the engine's serializer, and statements sent on the driver).
# Built once: `json.dumps` with options builds a new encoder per call.
json_text = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


_EXACT = (str, bool, int, type(None))


def _loads(text: str) -> Any:
    """jsonb to Python exactly as `json.loads` would, faster for the common flat object (an
    inventory page decodes 100 `properties`): orjson first, kept only when every value is of a
    type it reads exactly. A float may be an integer beyond 64 bits that orjson rounded, a nested
    value is not checked, and orjson refuses a few things json accepts: all go to json."""
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)
    if type(value) is not dict:
        return json.loads(text)
    for item in value.values():
        if type(item) not in _EXACT:
            return json.loads(text)
    return value


def _guard_checkouts(engine: AsyncEngine) -> None:
    """A cheaper `pool_pre_ping`: that one costs three round trips (BEGIN, `;`, ROLLBACK) on
    every checkout. Here a connection whose socket is closed is replaced for free, and only one
    idle for longer than IDLE_PING_SECONDS (a half-open network path) is pinged first.

    Once a connection is found lost (a restart, `pg_terminate_backend`: the others opened
    before it most likely went with it, though the client has not read their sockets yet),
    every connection opened before that moment is replaced at its next checkout, as
    SQLAlchemy does for the disconnects it detects itself; the repository call that found the
    loss runs again on a new connection (`errors.reconnecting`)."""
    lost_at = [float("-inf")]  # monotonic time a connection was last found lost

    @event.listens_for(engine.sync_engine, "connect")
    def _connected(dbapi_connection: Any, record: Any) -> None:
        record.info["connected_at"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "invalidate")
    def _invalidated(dbapi_connection: Any, record: Any, exception: Any) -> None:
        # not the replacements made below (they would make each other's successors stale)
        if not isinstance(exception, DisconnectionError | None) and connection_lost(exception):
            lost_at[0] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkin")
    def _checked_in(dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        driver = record.driver_connection
        if driver is None or driver.is_closed():
            raise DisconnectionError("the connection was closed while idle")
        now = time.monotonic()
        if record.info.get("connected_at", now) < lost_at[0]:
            raise DisconnectionError("opened before a connection was found lost")
        if now - record.info.get("idle_since", now) > IDLE_PING_SECONDS:
            try:
                dbapi_connection.ping()
            except Exception as exc:
                raise DisconnectionError("the idle connection did not answer") from exc


async def ping(engine: AsyncEngine) -> None:
    """Raise when the database does not answer a trivial query (readiness)."""
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


def pool_status(engine: AsyncEngine) -> dict[str, Any]:
    """Pool usage for /health and /metrics; numbers only, never the URL (it may hold a password)."""
    pool = engine.pool
    if not isinstance(pool, QueuePool):
        return {"pool": type(pool).__name__}
    return {
        "size": pool.size(),
        "max_overflow": pool._max_overflow,  # SQLAlchemy has no public getter for it
        "checked_in": pool.checkedin(),
        "checked_out": pool.checkedout(),
        # SQLAlchemy counts overflow from -size up (negative: fewer connections than the size
        # are open); what an operator means is "connections beyond the size", so never < 0.
        "overflow": max(0, pool.overflow()),
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

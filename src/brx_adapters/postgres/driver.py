"""The asyncpg connection under a unit of work's SQLAlchemy connection, for the few hot
statements where SQLAlchemy's per-statement work costs more than the round trip itself."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection


async def driver_connection(conn: AsyncConnection) -> Any:
    """The same physical connection (and so the same transaction, when one was begun): a read
    made here sees the unit of work's own uncommitted writes. A live connection is a plain
    attribute read; only one that needs revalidating takes SQLAlchemy's async path."""
    sync = conn.sync_connection
    if sync is not None and not sync.closed and not sync.invalidated:
        return sync.connection.driver_connection
    raw = await conn.get_raw_connection()
    return raw.driver_connection

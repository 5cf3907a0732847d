"""`ProductLocks` on Postgres: a session advisory lock, on a pooled connection of its own, held
while one CardTrader write and its settling run. No table and no expiry to tune: if the holder
dies, its connection closes and Postgres releases the lock (a crashed writer never leaves a
product locked). Waiting is Postgres' own queue, bounded by `lock_timeout`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from brx_adapters.postgres.errors import sqlstate, translate
from brx_domain.errors import ProductBusy

LOCK_NOT_AVAILABLE = "55P03"
_KEY = "hashtextextended(:key, 0)"  # 64-bit; a collision only serialises two products
_TRY = text(f"SELECT pg_try_advisory_lock({_KEY})")
_WAIT_FOR = text("SELECT set_config('lock_timeout', :limit, true)")
_LOCK = text(f"SELECT pg_advisory_lock({_KEY})")
_UNLOCK = text(f"SELECT pg_advisory_unlock({_KEY})")


class PostgresProductLocks:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @asynccontextmanager
    async def hold(self, key: str, wait_seconds: float) -> AsyncIterator[None]:
        async with self._engine.connect() as conn:
            await self._acquire(conn, key, wait_seconds)
            try:
                yield
            finally:
                await asyncio.shield(self._release(conn, key))

    async def _acquire(self, conn: AsyncConnection, key: str, wait_seconds: float) -> None:
        try:
            if wait_seconds <= 0:
                got = (await conn.execute(_TRY, {"key": key})).scalar_one()
            else:
                limit = f"{max(1, int(wait_seconds * 1000))}ms"
                await conn.execute(_WAIT_FOR, {"limit": limit})
                await conn.execute(_LOCK, {"key": key})
                got = True
            await conn.commit()  # the lock is the session's: no transaction stays open
        except Exception as exc:
            await conn.rollback()
            if sqlstate(exc) == LOCK_NOT_AVAILABLE:
                raise ProductBusy(f"another write to CardTrader product {key} is running") from None
            domain = translate(exc)
            if domain is None:
                raise
            raise domain from exc
        if not got:
            raise ProductBusy(f"another write to CardTrader product {key} is running")

    async def _release(self, conn: AsyncConnection, key: str) -> None:
        """Unlock; a connection that cannot is thrown away (closing it releases the lock)."""
        try:
            await conn.execute(_UNLOCK, {"key": key})
            await conn.commit()
        except Exception:
            await conn.invalidate()

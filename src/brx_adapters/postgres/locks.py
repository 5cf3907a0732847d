"""`ProductLocks` on Postgres: a session advisory lock, on a pooled connection of its own, held
while one CardTrader write and its settling run. No table and no expiry to tune: if the holder
dies, its connection closes and Postgres releases the lock (a crashed writer never leaves a
product locked). Waiting is Postgres' own queue, bounded by `lock_timeout`.

A holder keeps that connection while it records its write on others from the same pool, so at
most one connection fewer than the pool holds are lock connections at a time in this process:
a burst of writes to many products can then never take every connection and wait for one
another until the pool times out (a pool of 2 and two purchases at once did, for 30 s)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from brx_adapters.postgres.engine import pool_status
from brx_adapters.postgres.errors import sqlstate, translate, translated
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
        pool = pool_status(engine)
        capacity = pool.get("size", 0) + pool.get("max_overflow", 0)
        # No QueuePool (no figures): nothing to exhaust, so no bound that could ever be reached.
        self._holders = asyncio.Semaphore(max(1, capacity - 1) if capacity else 1 << 30)

    @asynccontextmanager
    async def hold(self, key: str, wait_seconds: float) -> AsyncIterator[None]:
        until = time.monotonic() + wait_seconds
        await self._take_slot(key, wait_seconds)
        try:
            conn = await self._connect()
            try:
                await self._acquire(conn, key, until - time.monotonic())
                try:
                    yield
                finally:
                    await asyncio.shield(self._release(conn, key))
            finally:
                await conn.close()
        finally:
            self._holders.release()

    @translated
    async def _connect(self) -> AsyncConnection:
        """A connection of the pool: a checkout that times out (other work holds every
        connection) is DependencyUnavailable, retried, never a bug that ends the job."""
        return await self._engine.connect()

    async def _take_slot(self, key: str, wait_seconds: float) -> None:
        busy = ProductBusy(
            f"CardTrader product {key}: every lock this process may hold is taken by other writes"
        )
        if wait_seconds <= 0 and self._holders.locked():
            raise busy
        try:
            async with asyncio.timeout(max(wait_seconds, 0.0)):
                await self._holders.acquire()
        except TimeoutError:
            raise busy from None

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

"""The unit of work: one pooled connection, one transaction, every repository on it.

It rolls back unless `commit()` was called, so a use case that raises (or simply forgets to
commit) leaves the database as it found it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from brx_adapters.postgres import bulk
from brx_adapters.postgres.accounts import (
    PostgresErasureRepository,
    PostgresIdempotencyRepository,
)
from brx_adapters.postgres.errors import translate, translated
from brx_adapters.postgres.inventory import PostgresInventoryRepository
from brx_adapters.postgres.orders import PostgresOrderStockRepository, PostgresWebhookRepository
from brx_adapters.postgres.repositories import (
    PostgresLedgerRepository,
    PostgresOperationRepository,
    PostgresSettingsRepository,
)
from brx_domain.errors import DependencyUnavailable
from brx_domain.ports import UnitOfWork
from brx_domain.sync import RemoteProduct


class PostgresUnitOfWork:
    """Implements `brx_domain.ports.UnitOfWork`; repositories exist only inside `async with`."""

    items: PostgresInventoryRepository
    ledger: PostgresLedgerRepository
    settings: PostgresSettingsRepository
    operations: PostgresOperationRepository
    webhooks: PostgresWebhookRepository
    orders: PostgresOrderStockRepository
    idempotency: PostgresIdempotencyRepository
    erasure: PostgresErasureRepository

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._conn: AsyncConnection | None = None

    @translated
    async def __aenter__(self) -> Self:
        conn = await self._engine.connect()
        self._conn = conn
        self.items = PostgresInventoryRepository(conn)
        self.ledger = PostgresLedgerRepository(conn)
        self.settings = PostgresSettingsRepository(conn)
        self.operations = PostgresOperationRepository(conn)
        self.webhooks = PostgresWebhookRepository(conn)
        self.orders = PostgresOrderStockRepository(conn)
        self.idempotency = PostgresIdempotencyRepository(conn)
        self.erasure = PostgresErasureRepository(conn)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Closing rolls back whatever was not committed. The transaction begins with the first
        statement (SQLAlchemy's autobegin), so a unit of work that only ran a driver-level read
        never sends BEGIN or ROLLBACK at all. A connection that failed as unavailable (killed,
        or left broken by asyncpg) is invalidated, not returned to the pool."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            if isinstance(exc, DependencyUnavailable):
                await conn.invalidate()  # broken or lost: never handed out by the pool again
            await conn.close()
        except Exception as closing:
            with contextlib.suppress(Exception):
                await conn.invalidate()
            if exc is None:  # else the body's own error is the one to report
                raise (translate(closing) or closing) from closing

    @translated
    async def commit(self) -> None:
        """Commit; the next statement begins a fresh transaction, so the unit of work stays
        usable."""
        conn = self._require()
        if conn.in_transaction():
            await conn.commit()

    async def rollback(self) -> None:
        """Undo everything since the last commit; the unit of work stays usable."""
        conn = self._require()
        if conn.in_transaction():
            await conn.rollback()

    def _require(self) -> AsyncConnection:
        if self._conn is None:
            raise RuntimeError("use the unit of work inside `async with`")
        return self._conn


class PostgresUnitOfWorkFactory:
    """`UnitOfWorkFactory` over the process's one engine: each call is a new unit of work."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    def __call__(self) -> UnitOfWork:
        return PostgresUnitOfWork(self._engine)

    def prepare_import(self, products: Sequence[RemoteProduct]) -> Sequence[RemoteProduct]:
        """The chunk with its COPY records built (bulk.StagedProducts)."""
        return bulk.StagedProducts(products)

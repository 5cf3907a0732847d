"""The Postgres adapter: repositories and unit of work (SQLAlchemy 2 async + asyncpg),
versioned migrations (alembic), and the operational helpers the application wires in."""

from __future__ import annotations

from brx_adapters.postgres.engine import (
    COMPOSITE_COLUMNS,
    COMPOSITE_INDEX,
    create_engine,
    ensure_composite_index,
    ping,
    pool_status,
)
from brx_adapters.postgres.locks import PostgresProductLocks
from brx_adapters.postgres.migrate import head_revision, upgrade, upgrade_async
from brx_adapters.postgres.uow import PostgresUnitOfWork, PostgresUnitOfWorkFactory

__all__ = [
    "COMPOSITE_COLUMNS",
    "COMPOSITE_INDEX",
    "PostgresProductLocks",
    "PostgresUnitOfWork",
    "PostgresUnitOfWorkFactory",
    "create_engine",
    "ensure_composite_index",
    "head_revision",
    "ping",
    "pool_status",
    "upgrade",
    "upgrade_async",
]

"""Postgres repositories for settings, operations and the stock ledger. Like every repository
here they share the unit of work's connection and never commit."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import bindparam, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from brx_adapters.postgres import mapping
from brx_adapters.postgres.driver import driver_connection
from brx_adapters.postgres.errors import translating
from brx_adapters.postgres.tables import ledger, operations, settings
from brx_domain.inventory import LedgerEntry
from brx_domain.ports import Secrets
from brx_domain.sync import (
    OperationStatus,
    OperationType,
    SyncOperation,
    SyncStatus,
    UserSyncSettings,
)

_SETTINGS = (
    "SELECT user_id, cardtrader_token_encrypted, webhook_secret, sync_status, last_sync_at,"
    " last_error, created_at, updated_at, disconnected_at FROM user_sync_settings"
    " WHERE user_id = $1"
)

# Built once (the webhook receiver adds one per delivery): a missing created_at is the
# transaction's time, as `_or_now` does for the other writes.
_ADD_OPERATION = insert(operations).values(
    {
        **{
            name: bindparam(name)
            for name in ("operation_id", "user_id", "operation_type", "status", "completed_at")
        },
        "operation_metadata": bindparam(
            "operation_metadata", type_=operations.c.operation_metadata.type
        ),
        "created_at": func.coalesce(
            bindparam("created_at", type_=operations.c.created_at.type), func.now()
        ),
    }
)


def _or_now(values: dict[str, Any], *names: str) -> dict[str, Any]:
    """A timestamp the caller left out takes the transaction's time instead of NULL."""
    return {k: (func.now() if k in names and v is None else v) for k, v in values.items()}


@translating
class PostgresLedgerRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, entries: Sequence[LedgerEntry]) -> None:
        if entries:
            await self._conn.execute(insert(ledger), [mapping.ledger_values(e) for e in entries])

    async def history(
        self, user_id: UUID, item_id: int, limit: int, offset: int
    ) -> list[LedgerEntry]:
        result = await self._conn.execute(
            select(ledger)
            .where(ledger.c.user_id == user_id, ledger.c.item_id == item_id)
            .order_by(ledger.c.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return [mapping.ledger_from_row(row) for row in result.mappings()]


@translating
class PostgresSettingsRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get(self, user_id: UUID) -> UserSyncSettings | None:
        """On the driver directly: every webhook delivery starts with this read."""
        driver = await driver_connection(self._conn)
        row = await driver.fetchrow(_SETTINGS, user_id)
        return None if row is None else mapping.settings_from_row(row)

    async def put(self, value: UserSyncSettings) -> None:
        values = _or_now(mapping.settings_values(value), "created_at", "updated_at")
        statement = pg_insert(settings).values(values)
        replaced = {k: statement.excluded[k] for k in values if k != "user_id"}
        await self._conn.execute(
            statement.on_conflict_do_update(index_elements=["user_id"], set_=replaced)
        )

    async def compare_and_set_status(
        self,
        user_id: UUID,
        allowed_from: Collection[SyncStatus],
        to: SyncStatus,
        *,
        now: datetime,
        last_error: str | None = None,
        last_sync_at: datetime | None = None,
    ) -> bool:
        """One conditional UPDATE: two concurrent callers can never both win."""
        if not allowed_from:
            return False
        values: dict[str, Any] = {"sync_status": to.value, "updated_at": now}
        values["last_error"] = last_error
        if last_sync_at is not None:
            values["last_sync_at"] = last_sync_at
        result = await self._conn.execute(
            update(settings)
            .where(
                settings.c.user_id == user_id,
                settings.c.sync_status.in_([s.value for s in allowed_from]),
            )
            .values(values)
            .returning(settings.c.user_id)
        )
        return result.first() is not None

    async def user_ids_with_status(self, status: SyncStatus) -> list[UUID]:
        result = await self._conn.execute(
            select(settings.c.user_id)
            .where(settings.c.sync_status == status.value)
            .order_by(settings.c.user_id)
        )
        return [UUID(str(row[0])) for row in result]

    async def replace_secrets(
        self, user_id: UUID, expected: Secrets, replacement: Secrets, *, now: datetime
    ) -> bool:
        """One conditional UPDATE of the two secret columns only."""
        (old_token, old_secret), (token, secret) = expected, replacement
        result = await self._conn.execute(
            update(settings)
            .where(
                settings.c.user_id == user_id,
                settings.c.cardtrader_token_encrypted == old_token,
                settings.c.webhook_secret.is_not_distinct_from(old_secret),
            )
            .values(cardtrader_token_encrypted=token, webhook_secret=secret, updated_at=now)
            .returning(settings.c.user_id)
        )
        return result.first() is not None


@translating
class PostgresOperationRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, operation: SyncOperation) -> None:
        await self._conn.execute(_ADD_OPERATION, mapping.operation_values(operation))

    async def get(self, operation_id: str) -> SyncOperation | None:
        return await self._one(select(operations).where(operations.c.operation_id == operation_id))

    async def save(self, operation: SyncOperation) -> None:
        """Merge with the stored progress under a row lock, so counters never go backwards
        even when an older write of the same operation arrives late."""
        stored = await self._one(
            select(operations)
            .where(operations.c.operation_id == operation.operation_id)
            .with_for_update()
        )
        if stored is not None:
            operation = replace(operation, metadata=_merged_metadata(stored, operation))
        await self._conn.execute(
            update(operations)
            .where(operations.c.operation_id == operation.operation_id)
            .values(
                status=operation.status.value,
                operation_metadata=dict(operation.metadata),
                completed_at=operation.completed_at,
            )
        )

    async def latest(self, user_id: UUID, operation_type: OperationType) -> SyncOperation | None:
        return await self._one(
            select(operations)
            .where(
                operations.c.user_id == user_id,
                operations.c.operation_type == operation_type.value,
            )
            .order_by(operations.c.created_at.desc(), operations.c.id.desc())
            .limit(1)
        )

    async def pending(self, older_than: datetime, limit: int) -> list[SyncOperation]:
        result = await self._conn.execute(
            select(operations)
            .where(
                operations.c.status == OperationStatus.PENDING.value,
                operations.c.created_at < older_than,
            )
            .order_by(operations.c.created_at, operations.c.id)
            .limit(limit)
        )
        return [mapping.operation_from_row(row) for row in result.mappings()]

    async def on_product(
        self, user_id: UUID, external_stock_id: str, since: datetime
    ) -> list[SyncOperation]:
        """By user (indexed), then the job argument; only recent or pending rows qualify."""
        product = operations.c.operation_metadata["job"]["args"]["external_stock_id"].astext
        result = await self._conn.execute(
            select(operations)
            .where(
                operations.c.user_id == user_id,
                product == external_stock_id,
                or_(
                    operations.c.status == OperationStatus.PENDING.value,
                    operations.c.completed_at >= since,
                ),
            )
            .order_by(operations.c.id)
        )
        return [mapping.operation_from_row(row) for row in result.mappings()]

    async def list(
        self,
        user_id: UUID,
        *,
        status: OperationStatus | None = None,
        operation_type: OperationType | None = None,
        limit: int,
        offset: int,
    ) -> tuple[list[SyncOperation], int]:
        """One page and the total in one statement (a window count over the filtered rows)."""
        where = [operations.c.user_id == user_id]
        if status is not None:
            where.append(operations.c.status == status.value)
        if operation_type is not None:
            where.append(operations.c.operation_type == operation_type.value)
        page = (
            select(operations, func.count().over().label("total"))
            .where(*where)
            .order_by(operations.c.created_at.desc(), operations.c.id.desc())
            .limit(limit)
            .offset(offset)
        )
        rows = (await self._conn.execute(page)).mappings().all()
        if rows:
            return [mapping.operation_from_row(row) for row in rows], int(rows[0]["total"])
        total = await self._conn.scalar(select(func.count()).select_from(operations).where(*where))
        return [], int(total or 0)

    async def _one(self, query: Any) -> SyncOperation | None:
        row = (await self._conn.execute(query)).mappings().first()
        return None if row is None else mapping.operation_from_row(row)


def _merged_metadata(stored: SyncOperation, newer: SyncOperation) -> dict[str, Any]:
    """The newer metadata, with progress merged counter by counter (or kept if it lacks one)."""
    metadata = dict(newer.metadata)
    if "progress" in newer.metadata:
        metadata["progress"] = stored.progress.merged(newer.progress).to_dict()
    elif "progress" in stored.metadata:
        metadata["progress"] = stored.metadata["progress"]
    return metadata

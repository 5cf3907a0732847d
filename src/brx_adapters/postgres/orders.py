"""Webhook delivery dedup and per-order stock records: the two tables that make CardTrader's
at-least-once webhooks change stock exactly once."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from brx_adapters.postgres import mapping
from brx_adapters.postgres.driver import driver_connection
from brx_adapters.postgres.engine import json_text
from brx_adapters.postgres.errors import translating
from brx_adapters.postgres.tables import orders, webhooks
from brx_domain.orders import OrderStockRecord, OrderStockState
from brx_domain.ports import WebhookDelivery
from brx_domain.sync import SyncOperation

# The receiver's whole write as one statement: the delivery, and its operation only when the
# delivery is new (nothing at all for a duplicate). Alone in its unit of work it is its own
# transaction, committed when it returns: one round trip for what was BEGIN, two INSERTs and
# COMMIT (a third of the receiver's throughput). A missing created_at is the statement's time.
# With a guard ($12, the encrypted secret the receiver checked the signature with) nothing is
# stored unless that is still the user's stored secret and the user is connected: a receiver
# that remembers secrets needs no read of the settings before it (docs/benchmarks.md).
_COMMIT_IF_NEW = """
    WITH allowed AS (
        SELECT $1::uuid AS user_id
        WHERE $12::text IS NULL OR EXISTS (
            SELECT 1 FROM user_sync_settings
            WHERE user_id = $1 AND webhook_secret = $12 AND disconnected_at IS NULL
        )
    ), delivery AS (
        INSERT INTO webhook_deliveries (user_id, delivery_id, received_at, mode, body)
        SELECT user_id, $2, $3, $4, $5::jsonb FROM allowed
        ON CONFLICT (user_id, delivery_id) DO NOTHING
        RETURNING user_id
    ), operation AS (
        INSERT INTO sync_operations (operation_id, user_id, operation_type, status,
                                     operation_metadata, created_at, completed_at)
        SELECT $6, user_id, $7, $8, $9::jsonb, coalesce($10::timestamptz, now()), $11
        FROM delivery
        RETURNING id
    )
    SELECT EXISTS (SELECT 1 FROM allowed) AS allowed, EXISTS (SELECT 1 FROM operation) AS stored
"""


@translating
class PostgresWebhookRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def commit_if_new(
        self,
        delivery: WebhookDelivery,
        operation: SyncOperation,
        *,
        while_secret: str | None = None,
    ) -> bool | None:
        """On the driver directly. The receiver's settings read, when it makes one, runs there
        too, outside any transaction, so this statement commits on its own; after writes of
        this unit of work it joins their transaction, which is then committed with it."""
        driver = await driver_connection(self._conn)
        row = await driver.fetchrow(
            _COMMIT_IF_NEW,
            delivery.user_id,
            delivery.id,
            delivery.received_at,
            delivery.mode,
            json_text(dict(delivery.body)),
            operation.operation_id,
            operation.operation_type.value,
            operation.status.value,
            json_text(dict(operation.metadata)),
            operation.created_at,
            operation.completed_at,
            while_secret,
        )
        if self._conn.in_transaction():
            await self._conn.commit()
        if not row["allowed"]:
            return None
        return bool(row["stored"])

    async def get(self, user_id: UUID, delivery_id: str) -> WebhookDelivery | None:
        result = await self._conn.execute(
            select(webhooks).where(
                webhooks.c.user_id == user_id, webhooks.c.delivery_id == delivery_id
            )
        )
        row = result.mappings().first()
        return None if row is None else mapping.delivery_from_row(row)

    async def purge_older_than(self, cutoff: datetime) -> int:
        result = await self._conn.execute(delete(webhooks).where(webhooks.c.received_at < cutoff))
        return int(getattr(result, "rowcount", 0) or 0)


@translating
class PostgresOrderStockRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def lock(self, user_id: UUID, order_id: int) -> OrderStockRecord:
        """Insert-if-absent, then SELECT ... FOR UPDATE: two deliveries of the same order are
        applied one after the other, the second seeing what the first did."""
        await self._conn.execute(
            pg_insert(orders)
            .values(
                user_id=user_id,
                order_id=order_id,
                state=OrderStockState.NONE.value,
                taken={},
                updated_at=func.now(),
            )
            .on_conflict_do_nothing(index_elements=["user_id", "order_id"])
        )
        result = await self._conn.execute(
            select(orders)
            .where(orders.c.user_id == user_id, orders.c.order_id == order_id)
            .with_for_update()
        )
        return mapping.order_from_row(result.mappings().one())

    async def save(self, user_id: UUID, record: OrderStockRecord) -> None:
        values = {"user_id": user_id, **mapping.order_values(record), "updated_at": func.now()}
        statement = pg_insert(orders).values(values)
        await self._conn.execute(
            statement.on_conflict_do_update(
                index_elements=["user_id", "order_id"],
                set_={
                    "state": statement.excluded.state,
                    "taken": statement.excluded.taken,
                    "updated_at": statement.excluded.updated_at,
                },
            )
        )

"""Webhook delivery dedup and per-order stock records: the two tables that make CardTrader's
at-least-once webhooks change stock exactly once."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from brx_adapters.postgres import mapping
from brx_adapters.postgres.errors import translating
from brx_adapters.postgres.tables import orders, webhooks
from brx_domain.orders import OrderStockRecord, OrderStockState
from brx_domain.ports import WebhookDelivery

# Built once: per delivery only the parameters change, so SQLAlchemy neither rebuilds the
# statement nor its cache key (that was a third of the receiver's database CPU).
_ADD_DELIVERY = (
    pg_insert(webhooks)
    .values({name: bindparam(name) for name in ("user_id", "delivery_id", "received_at", "mode")})
    .values(body=bindparam("body", type_=webhooks.c.body.type))
    .on_conflict_do_nothing(index_elements=["user_id", "delivery_id"])
    .returning(webhooks.c.delivery_id)
)


@translating
class PostgresWebhookRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add_if_new(self, delivery: WebhookDelivery) -> bool:
        """INSERT ... ON CONFLICT DO NOTHING: concurrent duplicates resolve in the index."""
        result = await self._conn.execute(
            _ADD_DELIVERY,
            {
                "user_id": delivery.user_id,
                "delivery_id": delivery.id,
                "received_at": delivery.received_at,
                "mode": delivery.mode,
                "body": dict(delivery.body),
            },
        )
        return result.first() is not None

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

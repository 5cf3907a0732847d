"""Inventory items on Postgres: single-row reads and writes, atomic stock changes, paging.

Stock changes are single conditional statements, so concurrent purchases and webhooks can
never take a quantity below zero (the CHECK constraint is only the last line of defence).
"""

from __future__ import annotations

import builtins
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from brx_adapters.postgres import bulk, listing
from brx_adapters.postgres.driver import driver_connection
from brx_adapters.postgres.errors import translating
from brx_adapters.postgres.mapping import item_from_row, item_values
from brx_adapters.postgres.tables import items
from brx_domain.inventory import InventoryItem
from brx_domain.listing import InventoryQuery
from brx_domain.sync import RemoteProduct, UpsertCounts

_ADJUST = text(
    """
    WITH old AS (
        SELECT id, quantity FROM user_inventory_items
        WHERE user_id = :user_id AND external_stock_id = :external_stock_id
        ORDER BY id LIMIT 1
        FOR UPDATE
    )
    UPDATE user_inventory_items AS t
    SET quantity = GREATEST(old.quantity + :delta, 0), updated_at = now()
    FROM old WHERE t.id = old.id
    RETURNING t.*, t.quantity - old.quantity AS applied
    """
)

# The page and the total in one round trip and one snapshot. The total is the user's row of
# `user_inventory_counts`, which the database keeps exact in every transaction that adds or
# removes items (migration 0005): counting a million rows took seconds while they were being
# loaded. The page is a range of (user_id, id) (migration 0006), whatever the statistics say.
# An empty page still brings the total (one row whose item columns are NULL): no second query.
_PAGE = f"""
    SELECT p.id, p.user_id, p.blueprint_id, p.quantity, p.price_cents, p.properties,
           p.external_stock_id, p.description, p.user_data_field, p.graded, p.updated_at,
           p.created_at, p.card_name, p.expansion_name, c.total
    FROM (SELECT {listing.USER_TOTAL} AS total) AS c
    LEFT JOIN LATERAL (
        SELECT * FROM user_inventory_items WHERE user_id = $1 ORDER BY id LIMIT $2 OFFSET $3
    ) AS p ON true
    ORDER BY p.id
"""  # noqa: S608 (a module constant; every value is a bound parameter)


@translating
class PostgresInventoryRepository:
    """Implements `InventoryRepository` on one connection of the unit of work."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get(self, user_id: UUID, item_id: int) -> InventoryItem | None:
        return await self._one(
            select(items).where(items.c.user_id == user_id, items.c.id == item_id)
        )

    async def get_by_external_id(
        self, user_id: UUID, external_stock_id: str
    ) -> InventoryItem | None:
        return await self._one(
            select(items)
            .where(items.c.user_id == user_id, items.c.external_stock_id == external_stock_id)
            .order_by(items.c.id)
            .limit(1)
        )

    async def list(
        self, user_id: UUID, limit: int, offset: int, where: InventoryQuery | None = None
    ) -> tuple[list[InventoryItem], int]:
        """One page (by id unless sorted otherwise) and the total, in one statement on the
        driver directly: the API's hot read skips SQLAlchemy's statement and result machinery
        (and, alone in its unit of work, the BEGIN/ROLLBACK pair a single statement does not
        need). A filtered or sorted page is built by `listing.page_statement`."""
        driver = await driver_connection(self._conn)
        if where is None or where.is_plain:
            rows = await driver.fetch(_PAGE, user_id, limit, offset)
        else:  # a statement of its own (not the driver's cache): see `listing.page_statement`
            sql, args = listing.page_statement(user_id, limit, offset, where)
            rows = await (await driver.prepare(sql)).fetch(*args)
        total = int(rows[0]["total"]) if rows else 0
        return [item_from_row(row) for row in rows if row["id"] is not None], total

    async def count(self, user_id: UUID) -> int:
        result = await self._conn.execute(
            select(func.count()).select_from(items).where(items.c.user_id == user_id)
        )
        return int(result.scalar_one())

    async def add(self, item: InventoryItem) -> InventoryItem:
        values: dict[str, Any] = {"user_id": item.user_id, **item_values(item)}
        values.update(card_name=item.card_name, expansion_name=item.expansion_name)
        values.update(_timestamps(item.created_at, item.updated_at))
        result = await self._conn.execute(insert(items).values(values).returning(items))
        return item_from_row(result.mappings().one())

    async def save(self, item: InventoryItem) -> None:
        await self._conn.execute(
            update(items)
            .where(items.c.user_id == item.user_id, items.c.id == item.id)
            .values(**item_values(item), updated_at=func.now())
        )

    async def remove(self, user_id: UUID, item_id: int) -> InventoryItem | None:
        result = await self._conn.execute(
            delete(items).where(items.c.user_id == user_id, items.c.id == item_id).returning(items)
        )
        row = result.mappings().first()
        return None if row is None else item_from_row(row)

    async def take(self, user_id: UUID, item_id: int, quantity: int) -> int | None:
        """UPDATE ... WHERE quantity >= n RETURNING: a short stock changes nothing."""
        result = await self._conn.execute(
            update(items)
            .where(
                items.c.user_id == user_id,
                items.c.id == item_id,
                items.c.quantity >= quantity,
            )
            .values(quantity=items.c.quantity - quantity, updated_at=func.now())
            .returning(items.c.quantity)
        )
        remaining = result.scalar_one_or_none()
        return None if remaining is None else int(remaining)

    async def adjust_by_external_id(
        self, user_id: UUID, external_stock_id: str, delta: int
    ) -> tuple[InventoryItem, int] | None:
        """One statement: lock the row, clamp at zero, report the delta really applied."""
        result = await self._conn.execute(
            _ADJUST,
            {"user_id": user_id, "external_stock_id": external_stock_id, "delta": delta},
        )
        row = result.mappings().first()
        return None if row is None else (item_from_row(row), int(row["applied"]))

    async def upsert_products(
        self,
        user_id: UUID,
        products: Sequence[RemoteProduct],
        *,
        operation_id: str,
        now: datetime,
        dry_run: bool = False,
        hold_since: datetime | None = None,
        all_new: bool = False,
    ) -> UpsertCounts:
        return await bulk.upsert_products(
            self._conn, user_id, products, operation_id=operation_id, now=now, dry_run=dry_run,
            hold_since=hold_since, all_new=all_new,
        )  # fmt: skip

    async def listed_page(
        self,
        user_id: UUID,
        *,
        after: tuple[int, str] | None,
        limit: int,
        blueprint_id: int | None = None,
    ) -> builtins.list[tuple[int, str, int]]:
        return await bulk.listed_page(
            self._conn, user_id, after=after, limit=limit, blueprint_id=blueprint_id
        )

    async def remove_many(self, user_id: UUID, item_ids: Collection[int]) -> int:
        """One set-based DELETE for the ids (bound as an array, not one parameter each)."""
        if not item_ids:
            return 0
        result = await self._conn.execute(
            text("DELETE FROM user_inventory_items WHERE user_id = :user_id AND id = ANY(:ids)"),
            {"user_id": user_id, "ids": [int(i) for i in item_ids]},
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def refresh_statistics(self) -> None:
        """ANALYZE: autovacuum gets to a freshly loaded table only later, and until then the
        planner sees no rows (a filtered page of a 250k-item user took 0.6 s)."""
        await self._conn.execute(text("ANALYZE user_inventory_items"))

    async def _one(self, query: Any) -> InventoryItem | None:
        row = (await self._conn.execute(query)).mappings().first()
        return None if row is None else item_from_row(row)


def _timestamps(created_at: datetime | None, updated_at: datetime | None) -> dict[str, Any]:
    """Given times win; missing ones fall back to the transaction's clock."""
    return {
        "created_at": created_at if created_at is not None else func.now(),
        "updated_at": updated_at if updated_at is not None else func.now(),
    }

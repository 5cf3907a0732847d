"""In-memory `InventoryRepository` and `LedgerRepository`, over a unit of work's journal.

PUBLIC API (through `MemoryUnitOfWork`): behaves like the Postgres adapter, including the
unique key (user, blueprint, CardTrader id), `CHECK (quantity >= 0)` and the upsert's rule that
unchanged rows are not rewritten.
"""

from __future__ import annotations

import builtins
from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import datetime
from uuid import UUID

from brx_adapters.memory.store import ItemKey, Journal
from brx_domain import holds
from brx_domain.errors import Conflict, InvalidInput
from brx_domain.inventory import InventoryItem, LedgerEntry, StockReason
from brx_domain.listing import InventoryQuery
from brx_domain.sync import (
    OperationStatus,
    OperationType,
    RemoteProduct,
    UpsertCounts,
    differs,
    names_after,
)


def _key(item: InventoryItem) -> ItemKey | None:
    if item.external_stock_id is None:
        return None  # NULLs never collide in a UNIQUE constraint
    return (item.user_id, item.blueprint_id, item.external_stock_id)


class MemoryInventoryRepository:
    def __init__(self, journal: Journal) -> None:
        self._j = journal

    def _items(self) -> dict[int, InventoryItem]:
        items: dict[int, InventoryItem] = self._j.read("items")
        return items

    def _now(self) -> datetime | None:
        clock = self._j.store.clock
        return clock.now() if clock else None

    async def get(self, user_id: UUID, item_id: int) -> InventoryItem | None:
        item = self._items().get(item_id)
        return item if item is not None and item.user_id == user_id else None

    async def get_by_external_id(
        self, user_id: UUID, external_stock_id: str
    ) -> InventoryItem | None:
        for item in self._items().values():
            if item.user_id == user_id and item.external_stock_id == external_stock_id:
                return item
        return None

    async def list(
        self, user_id: UUID, limit: int, offset: int, where: InventoryQuery | None = None
    ) -> tuple[list[InventoryItem], int]:
        query = where or InventoryQuery()
        mine = [i for i in self._items().values() if i.user_id == user_id and query.matches(i)]
        mine.sort(key=query.sort_key, reverse=query.sort.descending)
        return mine[offset : offset + limit], len(mine)

    async def count(self, user_id: UUID) -> int:
        return sum(1 for item in self._items().values() if item.user_id == user_id)

    async def add(self, item: InventoryItem) -> InventoryItem:
        _check_non_negative(item)
        key = _key(item)
        keys: dict[ItemKey, int] = self._j.read("item_keys")
        if key is not None and key in keys:
            raise Conflict(f"item {key[1]}/{key[2]} already exists for this user")
        now = self._now()
        stored = replace(
            item,
            id=self._j.store.next_item_id(),
            created_at=item.created_at or now,
            updated_at=item.updated_at or now,
        )
        self._j.write("items")[stored.id] = stored
        if key is not None:
            self._j.write("item_keys")[key] = stored.id
        return stored

    async def save(self, item: InventoryItem) -> None:
        _check_non_negative(item)
        current = await self.get(item.user_id, item.id)
        if current is None:
            return  # like an UPDATE that matches no row
        self._put(
            replace(
                current,
                quantity=item.quantity,
                price_cents=item.price_cents,
                properties=item.properties,
                description=item.description,
                user_data_field=item.user_data_field,
                graded=item.graded,
                updated_at=self._now() or item.updated_at,
            )
        )

    def _put(self, item: InventoryItem) -> None:
        self._j.write("items")[item.id] = item

    async def remove(self, user_id: UUID, item_id: int) -> InventoryItem | None:
        item = await self.get(user_id, item_id)
        if item is None:
            return None
        del self._j.write("items")[item_id]
        key = _key(item)
        if key is not None:
            self._j.write("item_keys").pop(key, None)
        return item

    async def take(self, user_id: UUID, item_id: int, quantity: int) -> int | None:
        item = await self.get(user_id, item_id)
        if item is None or quantity < 0 or item.quantity < quantity:
            return None
        self._put(replace(item, quantity=item.quantity - quantity, updated_at=self._now()))
        return item.quantity - quantity

    async def adjust_by_external_id(
        self, user_id: UUID, external_stock_id: str, delta: int
    ) -> tuple[InventoryItem, int] | None:
        item = await self.get_by_external_id(user_id, external_stock_id)
        if item is None:
            return None
        after = replace(item, quantity=max(0, item.quantity + delta), updated_at=self._now())
        self._put(after)
        return after, after.quantity - item.quantity

    async def upsert_products(
        self,
        user_id: UUID,
        products: Sequence[RemoteProduct],
        *,
        operation_id: str,
        now: datetime,
        dry_run: bool = False,
        hold_since: datetime | None = None,
        all_new: bool = False,  # a speed hint: memory has one way to write, the results agree
    ) -> UpsertCounts:
        latest = {(p.blueprint_id, p.external_stock_id): p for p in products}  # last copy wins
        keys: dict[ItemKey, int] = self._j.read("item_keys")
        existing = [
            self._items()[keys[(user_id, *key)]] for key in latest if (user_id, *key) in keys
        ]
        held = self._held(user_id, existing, hold_since)
        created = updated = unchanged = held_count = 0
        entries: builtins.list[LedgerEntry] = []
        for (blueprint_id, external_id), product in latest.items():
            item_id = keys.get((user_id, blueprint_id, external_id))
            current = self._items().get(item_id) if item_id is not None else None
            if current is not None and current.id in held and current.quantity != product.quantity:
                held_count += 1
                product = replace(product, quantity=current.quantity)
            if current is not None and not differs(current, product):
                unchanged += 1
                continue
            if current is None:
                created += 1
            else:
                updated += 1
            if not dry_run:
                entry = await self._import(user_id, current, product, operation_id, now)
                entries += [entry] if entry else []
        if entries:
            self._j.write("ledger").extend(entries)
        return UpsertCounts(created, updated, unchanged, held_count)

    def _held(
        self, user_id: UUID, existing: builtins.list[InventoryItem], since: datetime | None
    ) -> set[int]:
        if since is None or not existing:
            return set()
        mine = [op for op in self._j.read("operations").values() if op.user_id == user_id]
        deliveries = self._j.read("webhooks")
        orders = self._j.read("orders")
        order_products: set[str] = set()
        for op in mine:
            if op.status is OperationStatus.PENDING and op.operation_type is OperationType.WEBHOOK:
                delivery = deliveries.get((user_id, op.metadata["job"]["args"]["delivery_id"]))
                if delivery is not None:
                    record = orders.get((user_id, int(delivery.body["object_id"])))
                    order_products |= holds.order_products(delivery.body, record)
        return holds.held_items(
            existing,
            since=since,
            ledger=[e for e in self._j.read("ledger") if e.user_id == user_id],
            operations=mine,
            pending_order_products=order_products,
        )

    async def _import(
        self,
        user_id: UUID,
        current: InventoryItem | None,
        product: RemoteProduct,
        operation_id: str,
        now: datetime,
    ) -> LedgerEntry | None:
        if current is None:
            item = await self.add(
                InventoryItem(
                    0,
                    user_id,
                    product.blueprint_id,
                    product.quantity,
                    product.price_cents,
                    product.properties,
                    product.external_stock_id,
                    product.description,
                    product.user_data_field,
                    product.graded,
                    updated_at=now,
                    created_at=now,
                    card_name=product.card_name,
                    expansion_name=product.expansion_name,
                )
            )
            delta = item.quantity
        else:
            card_name, expansion_name = names_after(current, product)
            item = replace(
                current,
                quantity=product.quantity,
                price_cents=product.price_cents,
                properties=product.properties,
                description=product.description,
                user_data_field=product.user_data_field,
                graded=product.graded,
                updated_at=now,
                card_name=card_name,
                expansion_name=expansion_name,
            )
            _check_non_negative(item)
            self._put(item)
            delta = item.quantity - current.quantity
        if delta == 0:
            return None
        return LedgerEntry(
            user_id, item.id, delta, StockReason.SYNC, operation_id, now, item.quantity
        )

    async def listed_page(
        self,
        user_id: UUID,
        *,
        after: tuple[int, str] | None,
        limit: int,
        blueprint_id: int | None = None,
    ) -> builtins.list[tuple[int, str, int]]:
        keys = sorted(
            (item.blueprint_id, item.external_stock_id, item.id)
            for item in self._items().values()
            if item.user_id == user_id
            and item.external_stock_id is not None
            and (blueprint_id is None or item.blueprint_id == blueprint_id)
        )
        return [key for key in keys if after is None or key[:2] > after][:limit]

    async def remove_many(self, user_id: UUID, item_ids: Collection[int]) -> int:
        removed = 0
        for item_id in set(item_ids):
            if await self.remove(user_id, item_id) is not None:
                removed += 1
        return removed

    async def refresh_statistics(self) -> None:
        """No query planner here."""


def _check_non_negative(item: InventoryItem) -> None:
    """The table's CHECK constraints, so a fake never accepts what Postgres would refuse."""
    if item.quantity < 0:
        raise InvalidInput("quantity", "must not be negative")
    if item.price_cents < 0:
        raise InvalidInput("price_cents", "must not be negative")


class MemoryLedgerRepository:
    def __init__(self, journal: Journal) -> None:
        self._j = journal

    async def add(self, entries: Sequence[LedgerEntry]) -> None:
        if entries:
            self._j.write("ledger").extend(entries)

    async def history(
        self, user_id: UUID, item_id: int, limit: int, offset: int
    ) -> list[LedgerEntry]:
        ledger: list[LedgerEntry] = self._j.read("ledger")
        mine = [e for e in reversed(ledger) if e.user_id == user_id and e.item_id == item_id]
        mine.sort(key=lambda e: e.at, reverse=True)  # stable: ties stay newest-inserted first
        return mine[offset : offset + limit]


__all__ = ["MemoryInventoryRepository", "MemoryLedgerRepository"]

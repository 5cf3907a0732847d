"""`MemoryStore`: every table of the service as plain dicts and lists. PUBLIC API for tests.

Tests inspect the committed state through the attributes (`store.items`, `store.ledger` ...);
read them through the store each time, because a commit replaces a table rather than mutating it
(that is how an uncommitted unit of work stays invisible).
"""

from __future__ import annotations

import asyncio
import copy
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from brx_domain.idempotency import IdempotencyRecord
from brx_domain.inventory import InventoryItem, LedgerEntry
from brx_domain.orders import OrderStockRecord
from brx_domain.ports import Clock, WebhookDelivery
from brx_domain.sync import SyncOperation, UserSyncSettings

ItemKey = tuple[UUID, int, str]  # (user_id, blueprint_id, external_stock_id): the unique key

TABLES = (
    "settings",
    "items",
    "item_keys",
    "ledger",
    "operations",
    "webhooks",
    "orders",
    "idempotency",
)


@dataclass
class MemoryStore:
    """The committed state. `items` iterates in id order (ids only grow, and inserts append)."""

    clock: Clock | None = None
    settings: dict[UUID, UserSyncSettings] = field(default_factory=dict)
    items: dict[int, InventoryItem] = field(default_factory=dict)
    item_keys: dict[ItemKey, int] = field(default_factory=dict)
    ledger: list[LedgerEntry] = field(default_factory=list)
    operations: dict[str, SyncOperation] = field(default_factory=dict)
    webhooks: dict[tuple[UUID, str], WebhookDelivery] = field(default_factory=dict)
    orders: dict[tuple[UUID, int], OrderStockRecord] = field(default_factory=dict)
    idempotency: dict[tuple[UUID, str], IdempotencyRecord] = field(default_factory=dict)
    commits: int = 0
    rollbacks: int = 0
    _last_item_id: int = 0
    _lock: asyncio.Lock | None = field(default=None, repr=False)

    @property
    def lock(self) -> asyncio.Lock:
        """One unit of work at a time: what makes `take` atomic and `lock` meaningful."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        return self._lock

    def next_item_id(self) -> int:
        """Like a BIGSERIAL: never reused, not rolled back."""
        self._last_item_id += 1
        return self._last_item_id

    def items_of(self, user_id: UUID) -> list[InventoryItem]:
        """Convenience for tests: the user's committed items in id order."""
        return [item for item in self.items.values() if item.user_id == user_id]

    def ledger_of(self, user_id: UUID, item_id: int) -> list[LedgerEntry]:
        """Convenience for tests: the item's committed ledger, oldest first."""
        return [e for e in self.ledger if e.user_id == user_id and e.item_id == item_id]


class Journal:
    """A unit of work's view of the store: reads see the committed tables until the first
    write to a table copies it; `publish` swaps the copies in, `discard` forgets them."""

    def __init__(self, store: MemoryStore) -> None:
        self.store = store
        self._copies: dict[str, Any] = {}

    def read(self, table: str) -> Any:
        return self._copies[table] if table in self._copies else getattr(self.store, table)

    def write(self, table: str) -> Any:
        if table not in self._copies:
            self._copies[table] = copy.copy(getattr(self.store, table))
        return self._copies[table]

    @property
    def dirty(self) -> bool:
        return bool(self._copies)

    def publish(self) -> None:
        for table, value in self._copies.items():
            setattr(self.store, table, value)
        self._copies.clear()

    def discard(self) -> None:
        self._copies.clear()


__all__ = ["TABLES", "ItemKey", "Journal", "MemoryStore"]

"""Sync status, sync operations with their progress, and the reconciliation plan."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from uuid import UUID

from brx_domain.errors import DeletionGuardTripped
from brx_domain.inventory import InventoryItem, Properties


class SyncStatus(enum.StrEnum):
    IDLE = "idle"
    INITIAL_SYNC = "initial_sync"
    ACTIVE = "active"
    ERROR = "error"


_TRANSITIONS: dict[SyncStatus, frozenset[SyncStatus]] = {
    SyncStatus.IDLE: frozenset({SyncStatus.INITIAL_SYNC}),
    SyncStatus.INITIAL_SYNC: frozenset({SyncStatus.ACTIVE, SyncStatus.ERROR}),
    SyncStatus.ACTIVE: frozenset({SyncStatus.INITIAL_SYNC}),
    SyncStatus.ERROR: frozenset({SyncStatus.INITIAL_SYNC}),
}


def can_transition(current: SyncStatus, target: SyncStatus, *, force: bool = False) -> bool:
    """Legal moves only; `force` lets a stuck `initial_sync` start again."""
    if force and current is SyncStatus.INITIAL_SYNC and target is SyncStatus.INITIAL_SYNC:
        return True
    return target in _TRANSITIONS[current]


def sources_for(target: SyncStatus, *, force: bool = False) -> frozenset[SyncStatus]:
    """Every status from which `target` may be reached (for compare-and-set updates)."""
    return frozenset(s for s in SyncStatus if can_transition(s, target, force=force))


@dataclass(frozen=True)
class UserSyncSettings:
    user_id: UUID
    cardtrader_token_encrypted: str
    webhook_secret_encrypted: str | None = None
    sync_status: SyncStatus = SyncStatus.IDLE
    last_sync_at: datetime | None = None
    last_error: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    disconnected_at: datetime | None = None  # set by a disconnect; None while connected

    @property
    def connected(self) -> bool:
        """A disconnected user's webhooks are refused and nothing is sent to CardTrader."""
        return self.disconnected_at is None


class OperationType(enum.StrEnum):
    BULK_SYNC = "bulk_sync"
    UPDATE = "update"
    DELETE = "delete"
    PURCHASE = "purchase"
    WEBHOOK = "webhook"
    PERIODIC_SYNC = "periodic_sync"


class OperationStatus(enum.StrEnum):
    PENDING = "pending"
    COMPLETED = "completed"
    FAILED = "failed"


@dataclass(frozen=True)
class SyncProgress:
    """Counters of a sync. Merging never moves a counter or the percentage backwards; the
    totals are the newest estimate (exact once the export has been read to its end)."""

    total_chunks: int = 0
    processed_chunks: int = 0
    total_products: int = 0
    processed: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    deleted: int = 0
    failed: int = 0
    progress_percent: int = 0
    checked: int = 0  # local items compared with the whole export for removal (the last phase)
    downloaded_bytes: int = 0  # of the export, while it downloads (the first phase)

    def merged(self, newer: SyncProgress) -> SyncProgress:
        values = {
            name: max(getattr(self, name), getattr(newer, name))
            for name in self.__dataclass_fields__
        }
        values["total_products"] = max(newer.total_products, values["processed"])
        values["total_chunks"] = max(newer.total_chunks, values["processed_chunks"])
        return SyncProgress(**values)

    def plus(
        self, counts: UpsertCounts, *, skipped: int, expected_total: int | None, chunk_size: int
    ) -> SyncProgress:
        """The progress after one more chunk of `counts.total + skipped` products."""
        processed = self.processed + counts.total + skipped
        total = max(expected_total or 0, processed)
        return replace(
            self,
            processed_chunks=self.processed_chunks + 1,
            processed=processed,
            created=self.created + counts.created,
            updated=self.updated + counts.updated,
            unchanged=self.unchanged + counts.unchanged,
            skipped=self.skipped + skipped,
            total_products=total,
            total_chunks=max(-(-total // chunk_size), self.processed_chunks + 1),
            progress_percent=max(self.progress_percent, min(99, _percent(processed, total))),
        )

    def finished(self, *, deleted: int, chunk_size: int) -> SyncProgress:
        return replace(
            self,
            deleted=deleted,
            total_products=self.processed,
            total_chunks=self.processed_chunks,
            progress_percent=100,
        )

    def to_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any] | None) -> SyncProgress:
        raw = raw or {}
        return cls(**{name: int(raw.get(name) or 0) for name in cls.__dataclass_fields__})


def _percent(done: int, total: int) -> int:
    """An empty export (total 0) is 0% until finished, not a division by zero."""
    return (100 * done) // total if total else 0


@dataclass(frozen=True)
class SyncOperation:
    """A row of `sync_operations`: every queued job has one; its id is the task id."""

    operation_id: str
    user_id: UUID
    operation_type: OperationType
    status: OperationStatus = OperationStatus.PENDING
    metadata: Mapping[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None
    completed_at: datetime | None = None

    @property
    def progress(self) -> SyncProgress:
        return SyncProgress.from_dict(self.metadata.get("progress"))

    def with_progress(self, progress: SyncProgress) -> SyncOperation:
        merged = self.progress.merged(progress)
        return replace(self, metadata={**self.metadata, "progress": merged.to_dict()})

    def finished(self, status: OperationStatus, at: datetime, **extra: Any) -> SyncOperation:
        return replace(self, status=status, completed_at=at, metadata={**self.metadata, **extra})


@dataclass(frozen=True, slots=True)
class RemoteProduct:
    """A CardTrader product as the inventory needs it (from the export or a write's answer)."""

    id: int
    blueprint_id: int
    quantity: int
    price_cents: int
    properties: Properties = field(default_factory=Properties)
    description: str | None = None
    user_data_field: str | None = None
    graded: bool | None = None
    card_name: str | None = None  # None: the answer did not say (a write's `resource`)
    expansion_name: str | None = None

    @property
    def external_stock_id(self) -> str:
        return str(self.id)


@dataclass(frozen=True)
class UpsertCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    held: int = 0  # existing items whose local quantity was kept (`brx_domain.holds`)

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged

    def __add__(self, other: UpsertCounts) -> UpsertCounts:
        return UpsertCounts(
            self.created + other.created,
            self.updated + other.updated,
            self.unchanged + other.unchanged,
            self.held + other.held,
        )


SYNCED_FIELDS = (
    "quantity",
    "price_cents",
    "properties",
    "description",
    "user_data_field",
    "graded",
)


# Names are kept when an answer does not carry them: only a name CardTrader sends replaces one.
NAME_FIELDS = ("card_name", "expansion_name")


def differs(item: InventoryItem, product: RemoteProduct) -> bool:
    """True when importing `product` would change `item` (the IS DISTINCT FROM rule)."""
    return any(getattr(item, name) != getattr(product, name) for name in SYNCED_FIELDS) or any(
        getattr(product, name) is not None and getattr(item, name) != getattr(product, name)
        for name in NAME_FIELDS
    )


def names_after(item: InventoryItem | None, product: RemoteProduct) -> tuple[str | None, ...]:
    """(card_name, expansion_name) after an import: the product's, or the item's where the
    product sent none."""
    return tuple(
        getattr(item, name) if getattr(product, name) is None and item else getattr(product, name)
        for name in NAME_FIELDS
    )


Key = tuple[int, str]  # (blueprint_id, external_stock_id): the table's natural key per user


@dataclass(frozen=True)
class ReconciliationPlan:
    creates: tuple[RemoteProduct, ...] = ()
    updates: tuple[tuple[InventoryItem, RemoteProduct], ...] = ()
    deletes: tuple[InventoryItem, ...] = ()
    unchanged: int = 0

    @property
    def is_empty(self) -> bool:
        return not (self.creates or self.updates or self.deletes)

    def counts(self) -> dict[str, int]:
        return {
            "created": len(self.creates),
            "updated": len(self.updates),
            "deleted": len(self.deletes),
            "unchanged": self.unchanged,
        }


def plan_reconciliation(
    remote: Iterable[RemoteProduct], local: Iterable[InventoryItem]
) -> ReconciliationPlan:
    """CardTrader is the truth: create what is new, update what differs, delete what vanished.

    Local items without a CardTrader id are the shop's own and never deleted by a sync.
    A product listed twice in `remote` counts once (the last copy wins).
    """
    by_key: dict[Key, RemoteProduct] = {(p.blueprint_id, p.external_stock_id): p for p in remote}
    creates, updates, deletes, unchanged = [], [], [], 0
    seen: set[Key] = set()
    for item in local:
        if item.external_stock_id is None:
            continue
        key = (item.blueprint_id, item.external_stock_id)
        product = by_key.get(key)
        if product is None:
            deletes.append(item)
            continue
        seen.add(key)
        if differs(item, product):
            updates.append((item, product))
        else:
            unchanged += 1
    creates = [p for key, p in by_key.items() if key not in seen]
    return ReconciliationPlan(tuple(creates), tuple(updates), tuple(deletes), unchanged)


def check_deletion_guard(to_delete: int, total: int, max_share: float, *, force: bool) -> None:
    """Refuse to delete more than `max_share` of a non-trivial inventory unless forced.

    An empty export for a full inventory is far more often CardTrader having a bad day than the
    shop selling everything at once.
    """
    if force or to_delete == 0 or total < 10:
        return
    if to_delete / total > max_share:
        raise DeletionGuardTripped(to_delete, total, max_share)

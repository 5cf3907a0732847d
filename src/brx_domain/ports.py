"""Every outside thing the domain needs, as small Protocols. Adapters implement them.

The ports the composition root checks its adapters against are `runtime_checkable`.

Conventions: repositories never commit (the unit of work does; the one exception is
`WebhookRepository.commit_if_new`); all ids and times come in as arguments; adapters raise the
port-level errors of `brx_domain.errors`, never their driver's.
"""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol, Self, runtime_checkable
from uuid import UUID

from brx_domain.idempotency import IdempotencyRecord, StoredAnswer
from brx_domain.inventory import InventoryItem, LedgerEntry, Properties
from brx_domain.jobs import JobName, Priority
from brx_domain.listing import InventoryQuery
from brx_domain.orders import OrderStockRecord
from brx_domain.sync import (
    OperationStatus,
    OperationType,
    RemoteProduct,
    SyncOperation,
    SyncStatus,
    UpsertCounts,
    UserSyncSettings,
)

# --- persistence ------------------------------------------------------------------------------


class InventoryRepository(Protocol):
    async def get(self, user_id: UUID, item_id: int) -> InventoryItem | None: ...

    async def get_by_external_id(
        self, user_id: UUID, external_stock_id: str
    ) -> InventoryItem | None: ...

    async def list(
        self, user_id: UUID, limit: int, offset: int, where: InventoryQuery | None = None
    ) -> tuple[list[InventoryItem], int]:
        """One page in a stable order (by id, or `where.sort` with ties by id) of the items
        `where` matches (`InventoryQuery.matches`; all of them when None), and their count."""
        ...

    async def count(self, user_id: UUID) -> int: ...

    async def add(self, item: InventoryItem) -> InventoryItem:
        """Insert; the returned item carries its new id (the given id is ignored)."""
        ...

    async def save(self, item: InventoryItem) -> None:
        """Write every editable field of an existing item."""
        ...

    async def remove(self, user_id: UUID, item_id: int) -> InventoryItem | None:
        """Delete and return the item, or None if it was not there."""
        ...

    async def take(self, user_id: UUID, item_id: int, quantity: int) -> int | None:
        """Atomically subtract `quantity` if at least that much is in stock.

        Returns the remaining quantity, or None when the stock was short (nothing changed).
        Concurrent callers can never take the quantity below zero.
        """
        ...

    async def adjust_by_external_id(
        self, user_id: UUID, external_stock_id: str, delta: int
    ) -> tuple[InventoryItem, int] | None:
        """Add `delta`, clamped so the quantity stays >= 0; returns the item after and the
        delta really applied, or None if no item has that CardTrader id."""
        ...

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
        """Set-based import of one chunk keyed by (user, blueprint, external id).

        Rows that would not change are not rewritten and count as `unchanged`; every quantity
        change gets a ledger entry (reason `sync`, this operation). `dry_run` only counts.
        With `hold_since`, existing items `brx_domain.holds` holds since then keep their
        quantity (their other fields are imported), counted in `held`; the rule is evaluated
        after the chunk's existing rows are locked, so no local change slips in between.
        `all_new` is a hint, never a promise: the caller expects none of the keys to be stored
        (a first load), so the store may try a quicker write of new rows first; the result is
        the same as without it, also when a key was stored meanwhile.
        """
        ...

    async def listed_page(
        self,
        user_id: UUID,
        *,
        after: tuple[int, str] | None,
        limit: int,
        blueprint_id: int | None = None,
    ) -> builtins.list[tuple[int, str, int]]:
        """The user's items that have a CardTrader id (optionally of one blueprint), as
        (blueprint_id, external_stock_id, item id), in the order of that key: the first
        `limit` after the key `after` (from the start when None). Paging on until a page is
        short visits every such item once, each page a bounded range of the key's index."""
        ...

    async def remove_many(self, user_id: UUID, item_ids: Collection[int]) -> int: ...

    async def refresh_statistics(self) -> None:
        """After a large import: bring what the store plans its queries with up to date (until
        then a filtered page may be planned for an empty inventory). Nothing to do in memory."""
        ...


class LedgerRepository(Protocol):
    async def add(self, entries: Sequence[LedgerEntry]) -> None: ...

    async def history(
        self, user_id: UUID, item_id: int, limit: int, offset: int
    ) -> list[LedgerEntry]:
        """Newest first."""
        ...


Secrets = tuple[str, str | None]  # (cardtrader_token_encrypted, webhook_secret_encrypted)


class SettingsRepository(Protocol):
    async def get(self, user_id: UUID) -> UserSyncSettings | None: ...

    async def put(self, settings: UserSyncSettings) -> None:
        """Create or replace the user's settings."""
        ...

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
        """Move to `to` only if the current status is in `allowed_from` (atomically).

        `last_error` is written as given (None clears it); `last_sync_at` only when given.
        """
        ...

    async def user_ids_with_status(self, status: SyncStatus) -> builtins.list[UUID]:
        """Every user currently in `status` (for the periodic reconciliation), by user id."""
        ...

    async def replace_secrets(
        self, user_id: UUID, expected: Secrets, replacement: Secrets, *, now: datetime
    ) -> bool:
        """Write `replacement` (token, webhook secret) only if the stored pair is still
        `expected` (atomically), touching no other column: a key-rotation sweep never undoes
        a token replaced or a status moved meanwhile."""
        ...


class OperationRepository(Protocol):
    async def add(self, operation: SyncOperation) -> None: ...

    async def get(self, operation_id: str) -> SyncOperation | None: ...

    async def save(self, operation: SyncOperation) -> None:
        """Write status, metadata and completed_at. Progress counters never go backwards."""
        ...

    async def latest(
        self, user_id: UUID, operation_type: OperationType
    ) -> SyncOperation | None: ...

    async def pending(self, older_than: datetime, limit: int) -> list[SyncOperation]:
        """Pending operations created before `older_than` (for re-enqueueing lost jobs)."""
        ...

    async def on_product(
        self, user_id: UUID, external_stock_id: str, since: datetime
    ) -> list[SyncOperation]:
        """The user's operations on this CardTrader product (job argument
        `external_stock_id`) that are still pending or completed at or after `since`."""
        ...

    async def list(
        self,
        user_id: UUID,
        *,
        status: OperationStatus | None = None,
        operation_type: OperationType | None = None,
        limit: int,
        offset: int,
    ) -> tuple[builtins.list[SyncOperation], int]:
        """One page of the user's operations, newest first (creation time, then insertion
        order), optionally of one status and type, and how many match in all."""
        ...


@dataclass(frozen=True)
class WebhookDelivery:
    id: str
    user_id: UUID
    received_at: datetime
    body: Mapping[str, Any]
    mode: str


class WebhookRepository(Protocol):
    async def commit_if_new(
        self,
        delivery: WebhookDelivery,
        operation: SyncOperation,
        *,
        while_secret: str | None = None,
    ) -> bool | None:
        """Store a delivery once per id together with the operation that will apply it (both
        or neither), then commit the unit of work: the one repository write that commits, so
        the receiver's whole write can be one statement. False, storing neither, when that id
        was already stored. With `while_secret` (an encrypted webhook secret), only while the
        user's stored secret is exactly that ciphertext and the user is connected, checked in
        the same statement: None, storing neither, when not."""
        ...

    async def get(self, user_id: UUID, delivery_id: str) -> WebhookDelivery | None: ...

    async def purge_older_than(self, cutoff: datetime) -> int: ...


class OrderStockRepository(Protocol):
    async def lock(self, user_id: UUID, order_id: int) -> OrderStockRecord:
        """Return the order's record (empty if new), locked until the unit of work ends."""
        ...

    async def save(self, user_id: UUID, record: OrderStockRecord) -> None: ...


class IdempotencyRepository(Protocol):
    """Claimed `Idempotency-Key`s and their first answers, per user."""

    async def claim(self, record: IdempotencyRecord) -> IdempotencyRecord | None:
        """Store `record` (no answer yet) unless a live record (`expires_at` after
        `record.created_at`) holds its key. None when claimed; else the record holding it.
        Two concurrent claims of one key: exactly one gets None."""
        ...

    async def complete(self, user_id: UUID, key: str, answer: StoredAnswer) -> None:
        """Record the first answer of a claimed key."""
        ...

    async def release(self, user_id: UUID, key: str, fingerprint: str) -> None:
        """Drop a claim that has no answer (its request changed nothing), so the key can be
        used again; an answered record, or another request's claim, is left alone."""
        ...

    async def purge_expired(self, now: datetime) -> int:
        """Delete records whose lifetime ended; returns how many."""
        ...


class ErasureRepository(Protocol):
    async def erase_user(self, user_id: UUID) -> dict[str, int]:
        """Delete everything stored for the user (settings with its token and secret, items,
        ledger, operations, webhook deliveries, order stock records, idempotency keys);
        returns the rows removed per kind."""
        ...


class UnitOfWork(Protocol):
    """An async context manager around one transaction; rolls back unless committed."""

    # Read-only members (properties) so adapters may expose their concrete repositories.
    @property
    def items(self) -> InventoryRepository: ...

    @property
    def ledger(self) -> LedgerRepository: ...

    @property
    def settings(self) -> SettingsRepository: ...

    @property
    def operations(self) -> OperationRepository: ...

    @property
    def webhooks(self) -> WebhookRepository: ...

    @property
    def orders(self) -> OrderStockRepository: ...

    @property
    def idempotency(self) -> IdempotencyRepository: ...

    @property
    def erasure(self) -> ErasureRepository: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...


@runtime_checkable
class UnitOfWorkFactory(Protocol):
    def __call__(self) -> UnitOfWork: ...

    def prepare_import(self, products: Sequence[RemoteProduct]) -> Sequence[RemoteProduct]:
        """A chunk encoded for `InventoryRepository.upsert_products` ahead of its unit of work
        (CPU only, no I/O), so an import can encode one chunk while the previous one is being
        written; pass the result, not the input, to `upsert_products`."""
        ...


# --- CardTrader ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class MarketplaceInfo:
    id: int
    name: str
    shared_secret: str
    user_id: int | None = None


@dataclass(frozen=True)
class ProductDraft:
    """What CardTrader needs to create or update a product (price in cents; the client
    converts to CardTrader's decimal and applies its property rules)."""

    blueprint_id: int
    quantity: int
    price_cents: int
    properties: Properties = field(default_factory=Properties)
    description: str | None = None
    user_data_field: str | None = None
    graded: bool | None = None


class ProductExport(Protocol):
    """An export being read. Iterate it once for the products.

    `expected_total` is the number of products when the adapter knows it (exact once iteration
    ends; may be an estimate, or None, before). The use case only uses it for progress.
    """

    expected_total: int | None

    def __aiter__(self) -> AsyncIterator[RemoteProduct]: ...


class Marketplace(Protocol):
    """CardTrader, as seen with one seller's token. Raises the Marketplace* errors."""

    async def info(self) -> MarketplaceInfo: ...

    async def export_products(
        self,
        *,
        blueprint_id: int | None = None,
        on_download: Callable[[int], Awaitable[None]] | None = None,
    ) -> ProductExport:
        """Every product of the seller (or of one blueprint), without two copies in memory.
        While the answer downloads (before the first product), `on_download` is awaited with
        the bytes received so far about once a second, and once with all of them at the end."""
        ...

    async def create_product(self, draft: ProductDraft) -> RemoteProduct: ...

    async def update_product(self, product_id: int, draft: ProductDraft) -> RemoteProduct: ...

    async def delete_product(self, product_id: int) -> bool:
        """True if deleted now, False if CardTrader says it was already gone (404)."""
        ...

    async def find_product(self, product_id: int, *, blueprint_id: int) -> RemoteProduct | None:
        """The product as listed now (export by blueprint), None when CardTrader has none."""
        ...

    async def increment_quantity(self, product_id: int, delta: int) -> RemoteProduct | None:
        """Add `delta` (may be negative), sent once; None when the product is gone afterwards
        (CardTrader deletes a product whose quantity reaches 0). Raises
        MarketplaceOutcomeUnknown when it may or may not have been applied (never re-sent
        here: `brx_domain.writes` decides), MarketplaceNotFound when the product is gone."""
        ...


@runtime_checkable
class MarketplaceGateway(Protocol):
    def for_token(self, token: str) -> Marketplace: ...


@runtime_checkable
class ProductLocks(Protocol):
    """One writer at a time per CardTrader product, across every process (the at-most-once
    rule needs to know who else wrote). Released when the holder ends or dies."""

    def hold(self, key: str, wait_seconds: float) -> AbstractAsyncContextManager[None]:
        """Wait at most `wait_seconds` for the lock, else raise ProductBusy."""
        ...


# --- everything else ----------------------------------------------------------------------------


@runtime_checkable
class BlueprintCatalogue(Protocol):
    async def known(self, blueprint_ids: Collection[int]) -> set[int]:
        """The subset of `blueprint_ids` the shop's catalogue knows (one batched lookup)."""
        ...


@runtime_checkable
class TaskQueue(Protocol):
    async def enqueue(self, job: JobName, *, job_id: str, priority: Priority) -> bool:
        """Queue `job` once per `job_id` (a duplicate id is a no-op returning False). The job
        reads its arguments from its operation row (`brx_domain.jobs`), so none travel here."""
        ...

    async def depth(self) -> dict[str, int]:
        """Jobs waiting per queue, by the queue's name as operators see it (metrics, /health)."""
        ...


@runtime_checkable
class TokenCipher(Protocol):
    def encrypt(self, plain: str) -> str: ...

    def decrypt(self, token: str) -> str: ...

    def rotate(self, token: str) -> str:
        """The same secret encrypted under the newest key (key rotation)."""
        ...


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    limit: int
    remaining: int
    retry_after: float  # seconds until a token is available (0 when allowed)


@runtime_checkable
class RateLimiter(Protocol):
    async def try_acquire(self, key: str, capacity: int, per_seconds: float) -> RateDecision:
        """Token bucket: `capacity` tokens refilled evenly over `per_seconds`, shared by every
        process using the same key."""
        ...


@runtime_checkable
class Clock(Protocol):
    def now(self) -> datetime: ...


@runtime_checkable
class IdSource(Protocol):
    def new_id(self) -> str: ...


__all__ = [
    "BlueprintCatalogue",
    "Clock",
    "ErasureRepository",
    "IdSource",
    "IdempotencyRepository",
    "InventoryRepository",
    "LedgerRepository",
    "Marketplace",
    "MarketplaceGateway",
    "MarketplaceInfo",
    "OperationRepository",
    "OperationStatus",
    "OrderStockRepository",
    "ProductDraft",
    "ProductExport",
    "ProductLocks",
    "RateDecision",
    "RateLimiter",
    "SettingsRepository",
    "TaskQueue",
    "TokenCipher",
    "UnitOfWork",
    "UnitOfWorkFactory",
    "WebhookDelivery",
    "WebhookRepository",
]

"""In-memory settings, operations, webhook deliveries and order stock records.

PUBLIC API (through `MemoryUnitOfWork`); semantics match the Postgres adapter: a settings status
changes only by compare-and-set, operation progress never goes backwards, a webhook delivery is
stored once per (user, id).
"""

from __future__ import annotations

import builtins
from collections.abc import Awaitable, Callable, Collection
from dataclasses import replace
from datetime import datetime
from uuid import UUID

from brx_adapters.memory.store import Journal
from brx_domain.errors import Conflict
from brx_domain.orders import OrderStockRecord
from brx_domain.ports import Secrets, WebhookDelivery
from brx_domain.sync import (
    OperationStatus,
    OperationType,
    SyncOperation,
    SyncStatus,
    UserSyncSettings,
)


class MemorySettingsRepository:
    def __init__(self, journal: Journal) -> None:
        self._j = journal

    async def get(self, user_id: UUID) -> UserSyncSettings | None:
        settings: dict[UUID, UserSyncSettings] = self._j.read("settings")
        return settings.get(user_id)

    async def put(self, settings: UserSyncSettings) -> None:
        self._j.write("settings")[settings.user_id] = settings

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
        current = await self.get(user_id)
        if current is None or current.sync_status not in allowed_from:
            return False
        await self.put(
            replace(
                current,
                sync_status=to,
                updated_at=now,
                last_error=last_error,
                last_sync_at=last_sync_at or current.last_sync_at,
            )
        )
        return True

    async def user_ids_with_status(self, status: SyncStatus) -> list[UUID]:
        settings: dict[UUID, UserSyncSettings] = self._j.read("settings")
        return sorted(u for u, s in settings.items() if s.sync_status is status)

    async def replace_secrets(
        self, user_id: UUID, expected: Secrets, replacement: Secrets, *, now: datetime
    ) -> bool:
        current = await self.get(user_id)
        if current is None or _secrets(current) != expected:
            return False
        token, secret = replacement
        await self.put(
            replace(
                current,
                cardtrader_token_encrypted=token,
                webhook_secret_encrypted=secret,
                updated_at=now,
            )
        )
        return True


def _secrets(settings: UserSyncSettings) -> Secrets:
    return settings.cardtrader_token_encrypted, settings.webhook_secret_encrypted


class MemoryOperationRepository:
    def __init__(self, journal: Journal) -> None:
        self._j = journal

    def _all(self) -> dict[str, SyncOperation]:
        operations: dict[str, SyncOperation] = self._j.read("operations")
        return operations

    async def add(self, operation: SyncOperation) -> None:
        if operation.operation_id in self._all():
            raise Conflict(f"operation {operation.operation_id} already exists")
        self._j.write("operations")[operation.operation_id] = operation

    async def get(self, operation_id: str) -> SyncOperation | None:
        return self._all().get(operation_id)

    async def save(self, operation: SyncOperation) -> None:
        current = await self.get(operation.operation_id)
        if current is None:
            return  # like an UPDATE that matches no row
        saved = replace(
            current,
            status=operation.status,
            metadata=dict(operation.metadata),
            completed_at=operation.completed_at,
        )
        if "progress" in current.metadata:
            saved = replace(
                saved,
                metadata={
                    **saved.metadata,
                    "progress": current.progress.merged(operation.progress).to_dict(),
                },
            )
        self._j.write("operations")[operation.operation_id] = saved

    async def latest(self, user_id: UUID, operation_type: OperationType) -> SyncOperation | None:
        mine = [
            op
            for op in self._all().values()
            if op.user_id == user_id and op.operation_type is operation_type
        ]
        if not mine:
            return None
        order = {id(op): index for index, op in enumerate(mine)}
        return max(mine, key=lambda op: (_sortable(op.created_at), order[id(op)]))

    async def pending(self, older_than: datetime, limit: int) -> list[SyncOperation]:
        found = [
            op
            for op in self._all().values()
            if op.status is OperationStatus.PENDING
            and (op.created_at is None or op.created_at < older_than)
        ]
        found.sort(key=lambda op: _sortable(op.created_at))
        return found[:limit]

    async def on_product(
        self, user_id: UUID, external_stock_id: str, since: datetime
    ) -> list[SyncOperation]:
        return [
            op
            for op in self._all().values()
            if op.user_id == user_id
            and str(op.metadata.get("job", {}).get("args", {}).get("external_stock_id"))
            == external_stock_id
            and (
                op.status is OperationStatus.PENDING
                or (op.completed_at is not None and op.completed_at >= since)
            )
        ]

    async def list(
        self,
        user_id: UUID,
        *,
        status: OperationStatus | None = None,
        operation_type: OperationType | None = None,
        limit: int,
        offset: int,
    ) -> tuple[builtins.list[SyncOperation], int]:
        mine = [
            (index, op)
            for index, op in enumerate(self._all().values())
            if op.user_id == user_id
            and (status is None or op.status is status)
            and (operation_type is None or op.operation_type is operation_type)
        ]
        mine.sort(key=lambda pair: (_sortable(pair[1].created_at), pair[0]), reverse=True)
        return [op for _, op in mine[offset : offset + limit]], len(mine)


def _sortable(at: datetime | None) -> float:
    return at.timestamp() if at is not None else float("-inf")


class MemoryWebhookRepository:
    """`commit_if_new` writes the operation through `operations` and commits through the unit
    of work that made this repository."""

    def __init__(
        self,
        journal: Journal,
        operations: MemoryOperationRepository,
        commit: Callable[[], Awaitable[None]],
    ) -> None:
        self._j, self._operations, self._commit = journal, operations, commit

    def _all(self) -> dict[tuple[UUID, str], WebhookDelivery]:
        deliveries: dict[tuple[UUID, str], WebhookDelivery] = self._j.read("webhooks")
        return deliveries

    async def commit_if_new(
        self,
        delivery: WebhookDelivery,
        operation: SyncOperation,
        *,
        while_secret: str | None = None,
    ) -> bool | None:
        if while_secret is not None:
            stored: dict[UUID, UserSyncSettings] = self._j.read("settings")
            settings = stored.get(delivery.user_id)
            if (
                settings is None
                or not settings.connected
                or settings.webhook_secret_encrypted != while_secret
            ):
                await self._commit()
                return None
        key = (delivery.user_id, delivery.id)
        new = key not in self._all()
        if new:
            self._j.write("webhooks")[key] = delivery
            await self._operations.add(operation)  # a Conflict leaves both to the rollback
        await self._commit()
        return new

    async def get(self, user_id: UUID, delivery_id: str) -> WebhookDelivery | None:
        return self._all().get((user_id, delivery_id))

    async def purge_older_than(self, cutoff: datetime) -> int:
        old = [key for key, d in self._all().items() if d.received_at < cutoff]
        if old:
            table = self._j.write("webhooks")
            for key in old:
                del table[key]
        return len(old)


class MemoryOrderStockRepository:
    """`lock` needs no lock of its own: the store runs one unit of work at a time."""

    def __init__(self, journal: Journal) -> None:
        self._j = journal

    async def lock(self, user_id: UUID, order_id: int) -> OrderStockRecord:
        records: dict[tuple[UUID, int], OrderStockRecord] = self._j.read("orders")
        return records.get((user_id, order_id)) or OrderStockRecord(order_id)

    async def save(self, user_id: UUID, record: OrderStockRecord) -> None:
        self._j.write("orders")[(user_id, record.order_id)] = record


__all__ = [
    "MemoryOperationRepository",
    "MemoryOrderStockRepository",
    "MemorySettingsRepository",
    "MemoryWebhookRepository",
]

"""Shop-side use cases on one user's inventory: list, edit, delete, history (purchases:
`purchases.py`)."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from brx_domain.errors import NotFound
from brx_domain.inventory import (
    InventoryItem,
    ItemPatch,
    LedgerEntry,
    StockReason,
    ledger_for_edit,
)
from brx_domain.jobs import PushDelete, PushUpdate
from brx_domain.listing import InventoryQuery
from brx_domain.sync import OperationType
from brx_domain.usecases.common import Ports, dispatch, new_operation


@dataclass(frozen=True)
class InventoryPage:
    items: list[InventoryItem]
    total: int


@dataclass(frozen=True)
class ItemChange:
    """What an edit or delete did locally, and the push it queued (if the item is listed)."""

    item: InventoryItem
    task_id: str | None

    @property
    def queued(self) -> bool:
        return self.task_id is not None


async def list_inventory(
    ports: Ports, user_id: UUID, limit: int, offset: int, where: InventoryQuery | None = None
) -> InventoryPage:
    """One page of the items `where` selects, in its order, and how many it selects in all."""
    async with ports.uow() as uow:
        items, total = await uow.items.list(user_id, limit, offset, where)
    return InventoryPage(items, total)


async def item_history(
    ports: Ports, user_id: UUID, item_id: int, limit: int, offset: int
) -> list[LedgerEntry]:
    """The item's ledger, newest first. Works for deleted items too (the ledger outlives them)."""
    async with ports.uow() as uow:
        entries = await uow.ledger.history(user_id, item_id, limit, offset)
        if not entries and await uow.items.get(user_id, item_id) is None:
            raise NotFound(f"item {item_id} not found")
    return entries


async def update_item(
    ports: Ports, user_id: UUID, item_id: int, patch: ItemPatch, *, request_id: str | None = None
) -> ItemChange:
    """Commit the edit locally, then push the item's new state to CardTrader through the queue."""
    async with ports.uow() as uow:
        before = await uow.items.get(user_id, item_id)
        if before is None:
            raise NotFound(f"item {item_id} not found")
        after = patch.applied_to(before)
        await uow.items.save(after)
        operation = None
        if after.listed_on_cardtrader:
            operation = new_operation(
                ports,
                user_id,
                OperationType.UPDATE,
                PushUpdate(item_id),
                request_id=request_id,
            )
            await uow.operations.add(operation)
        entry = ledger_for_edit(
            before, after, operation.operation_id if operation else "local", ports.clock.now()
        )
        if entry:
            await uow.ledger.add([entry])
        await uow.commit()
    if operation:
        await dispatch(ports, operation)
    return ItemChange(after, operation.operation_id if operation else None)


async def delete_item(
    ports: Ports, user_id: UUID, item_id: int, *, request_id: str | None = None
) -> ItemChange:
    """Remove the item; the operation row remembers the CardTrader product to delete, so a
    CardTrader failure leaves a retry or a visible failed operation, never a silent listing."""
    async with ports.uow() as uow:
        item = await uow.items.remove(user_id, item_id)
        if item is None:
            raise NotFound(f"item {item_id} not found")
        operation = None
        if item.listed_on_cardtrader:
            operation = new_operation(
                ports,
                user_id,
                OperationType.DELETE,
                PushDelete(item_id, str(item.external_stock_id), item.blueprint_id),
                request_id=request_id,
            )
            await uow.operations.add(operation)
        if item.quantity:
            await uow.ledger.add(
                [
                    LedgerEntry(
                        user_id,
                        item_id,
                        -item.quantity,
                        StockReason.EDIT,
                        operation.operation_id if operation else "local",
                        ports.clock.now(),
                        0,
                    )
                ]
            )
        await uow.commit()
    if operation:
        await dispatch(ports, operation)
    return ItemChange(item, operation.operation_id if operation else None)

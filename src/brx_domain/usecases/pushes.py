"""Shop → CardTrader: the queued pushes of edits, deletions and purchases."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from brx_domain.inventory import InventoryItem, LedgerEntry, StockReason
from brx_domain.jobs import PushDelete, PushUpdate, args_of
from brx_domain.ports import ProductDraft
from brx_domain.sync import SyncOperation
from brx_domain.usecases.common import Ports
from brx_domain.usecases.operations import marketplace_for, run_operation
from brx_domain.usecases.purchases import CONFIRMED_ONLY, give_back
from brx_domain.usecases.stock_writes import Deadline, Decrement, Outcome, Shortfall, decrement


def draft_of(item: InventoryItem) -> ProductDraft:
    return ProductDraft(
        item.blueprint_id,
        item.quantity,
        item.price_cents,
        item.properties,
        item.description,
        item.user_data_field,
        item.graded,
    )


async def push_update(ports: Ports, operation_id: str) -> SyncOperation | None:
    """Send the item's current state (PUT is idempotent, so a retry is harmless)."""

    async def body(operation: SyncOperation) -> Mapping[str, Any]:
        item_id = args_of(operation.metadata, PushUpdate).item_id
        async with ports.uow() as uow:
            item = await uow.items.get(operation.user_id, item_id)
        if item is None or not item.external_stock_id:
            return {"skipped": "item no longer exists or is not listed"}
        market = await marketplace_for(ports, operation)
        product = await market.update_product(int(item.external_stock_id), draft_of(item))
        return {"external_stock_id": item.external_stock_id, "quantity": product.quantity}

    return await run_operation(ports, operation_id, body)


async def push_delete(ports: Ports, operation_id: str) -> SyncOperation | None:
    async def body(operation: SyncOperation) -> Mapping[str, Any]:
        external_id = args_of(operation.metadata, PushDelete).external_stock_id
        market = await marketplace_for(ports, operation)
        deleted = await market.delete_product(int(external_id))
        return {"external_stock_id": external_id, "already_gone": not deleted}

    return await run_operation(ports, operation_id, body)


async def push_purchase(ports: Ports, operation_id: str) -> SyncOperation | None:
    """Decrement CardTrader by the units sold, at most once (`stock_writes.decrement` settles
    an earlier attempt's lost answer before sending anything). If CardTrader no longer has the
    product, the local stock is corrected to zero (CardTrader is where it sells). A purchase
    the shop refused is only settled: if CardTrader took the units after all, the local stock
    follows, so both channels agree. So is one taken under the refuse policy that its request
    left unsettled (the database failed as it gave the stock back): unless CardTrader took the
    units, the job gives the stock back, as the request answered."""

    async def body(operation: SyncOperation) -> Mapping[str, Any]:
        market = await marketplace_for(ports, operation)
        refused = bool(operation.metadata.get("refused"))
        confirmed_only = bool(operation.metadata.get(CONFIRMED_ONLY))
        try:
            done = await decrement(
                ports,
                market,
                operation,
                Deadline(None),
                refuse_short=False,
                send=not (refused or confirmed_only),
            )
        except Shortfall:
            done = Outcome(False, None)
        want = Decrement.of(operation)
        if refused:
            if done.applied:
                await _correct(ports, operation, want.item_id, -want.quantity)
            return {"refused": True, "cardtrader_applied": done.applied}
        if confirmed_only and not done.applied:  # its request refused it, unrecorded
            await give_back(ports, operation, cardtrader_has=None, settle=True)
            return {"refused": True, "cardtrader_applied": False, "given_back": want.quantity}
        if done.product is None:
            corrected = await _correct(ports, operation, want.item_id, None)
            return {"cardtrader_quantity": 0, "corrected": corrected}
        return {"cardtrader_quantity": done.product.quantity}

    return await run_operation(ports, operation_id, body)


async def _correct(ports: Ports, operation: SyncOperation, item_id: int, delta: int | None) -> bool:
    """Move the item by `delta` (None: to zero), with a `correction` entry."""
    async with ports.uow() as uow:
        item = await uow.items.get(operation.user_id, item_id)
        if item is None or not item.external_stock_id:
            return False
        ext = item.external_stock_id
        locked = await uow.items.adjust_by_external_id(operation.user_id, ext, 0)  # row lock
        if locked is None:
            return False
        wanted = -locked[0].quantity if delta is None else delta
        change = await uow.items.adjust_by_external_id(operation.user_id, ext, wanted)
        if change is None or not change[1]:
            return False
        after, applied = change
        entry = LedgerEntry(
            operation.user_id,
            item_id,
            applied,
            StockReason.CORRECTION,
            operation.operation_id,
            ports.clock.now(),
            after.quantity,
        )
        await uow.ledger.add([entry])
        await uow.commit()
    return True

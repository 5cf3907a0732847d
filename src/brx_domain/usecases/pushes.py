"""Shop → CardTrader: the queued pushes of edits, deletions and purchases."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from brx_domain.errors import MarketplaceNotFound
from brx_domain.inventory import InventoryItem, LedgerEntry, StockReason
from brx_domain.ports import ProductDraft
from brx_domain.sync import SyncOperation
from brx_domain.usecases.common import Ports
from brx_domain.usecases.operations import marketplace_for, run_operation


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
        item_id = int(operation.metadata["job"]["args"]["item_id"])
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
        external_id = str(operation.metadata["job"]["args"]["external_stock_id"])
        market = await marketplace_for(ports, operation)
        deleted = await market.delete_product(int(external_id))
        return {"external_stock_id": external_id, "already_gone": not deleted}

    return await run_operation(ports, operation_id, body)


async def push_purchase(ports: Ports, operation_id: str) -> SyncOperation | None:
    """Decrement CardTrader by the units sold, at most once. If CardTrader no longer has the
    product, the local stock is corrected to zero (CardTrader is where it sells)."""

    async def body(operation: SyncOperation) -> Mapping[str, Any]:
        args = operation.metadata["job"]["args"]
        market = await marketplace_for(ports, operation)
        try:
            product = await market.increment_quantity(
                int(args["external_stock_id"]),
                -int(args["quantity"]),
                blueprint_id=int(args["blueprint_id"]),
                expected_before=int(args["quantity_before"]),
                outcome_unknown=int(operation.metadata.get("attempts", 1)) > 1,
            )
        except MarketplaceNotFound:
            product = None
        if product is None and int(args["quantity_before"]) > int(args["quantity"]):
            await _correct_to_zero(ports, operation, int(args["item_id"]))
            return {"cardtrader_quantity": 0, "corrected": True}
        return {"cardtrader_quantity": product.quantity if product else 0}

    return await run_operation(ports, operation_id, body)


async def _correct_to_zero(ports: Ports, operation: SyncOperation, item_id: int) -> None:
    async with ports.uow() as uow:
        item = await uow.items.get(operation.user_id, item_id)
        if item is not None and item.quantity:
            await uow.items.set_quantity(operation.user_id, item_id, 0)
            await uow.ledger.add(
                [
                    LedgerEntry(
                        operation.user_id,
                        item_id,
                        -item.quantity,
                        StockReason.CORRECTION,
                        operation.operation_id,
                        ports.clock.now(),
                        0,
                    )
                ]
            )
        await uow.commit()

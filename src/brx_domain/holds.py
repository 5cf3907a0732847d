"""Which items an import must leave at their local quantity: the reconciliation rule.

An export is a picture of CardTrader taken while the shop keeps changing: a purchase whose
decrement is still queued or in flight, an edit not yet pushed, an order whose webhook is
stored but not applied. Writing the exported quantity over such an item counts that change
twice or not at all (local 11 while CardTrader says 10). Whether the change is already in the
picture cannot be told (the export has no version), so the item is *held*: its quantity stays
what the shop's own ledger says, its other fields are imported, and the next reconciliation,
once things are quiet, compares it again.

An item is held when, since `since` (the export's start, less a clock margin):
- its ledger has an entry other than a sync's (a purchase, an edit, an order applied, a
  correction: a sync only writes CardTrader's picture, and a newer picture may replace it), or
- an operation on it (job argument `item_id` or `external_stock_id`: purchases, edit and
  delete pushes) is still pending or completed since then, or
- an order webhook naming its product (or, for a destroy, an order that took from it) is stored
  but not yet applied.

What no rule here can see: a sale whose webhook arrives after the item was written, and a
change on CardTrader nobody told us about. The first leaves local lower than CardTrader by that
sale until the next reconciliation (which, once quiet, writes CardTrader's figure); the second
is what reconciliation is for.

The Postgres adapter evaluates the same rule set-based, in one statement per chunk; the memory
adapter calls `held_items` (the contract suite holds them to each other).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from brx_domain.inventory import InventoryItem, LedgerEntry, StockReason
from brx_domain.orders import OrderStockRecord, parse_event
from brx_domain.sync import OperationStatus, SyncOperation

CLOCK_MARGIN = timedelta(seconds=2)  # API and worker clocks may disagree by this much


def hold_since(export_started: datetime) -> datetime:
    return export_started - CLOCK_MARGIN


def _pushes_touching(
    operations: Iterable[SyncOperation], since: datetime
) -> tuple[set[int], set[str]]:
    """(item ids, product ids) of operations pending, or completed at or after `since`."""
    item_ids: set[int] = set()
    products: set[str] = set()
    for op in operations:
        recent = op.completed_at is not None and op.completed_at >= since
        if op.status is not OperationStatus.PENDING and not recent:
            continue
        args: Mapping[str, object] = op.metadata.get("job", {}).get("args", {})
        if args.get("item_id") is not None:
            item_ids.add(int(str(args["item_id"])))
        if args.get("external_stock_id") is not None:
            products.add(str(args["external_stock_id"]))
    return item_ids, products


def order_products(body: Mapping[str, object], record: OrderStockRecord | None) -> set[str]:
    """Products a stored order webhook may move: its lines, and what its order took (a
    destroy's body is empty; it gives back what the order took)."""
    event = parse_event(body)  # stored only once it parsed
    named = {str(line.product_id) for line in event.order.lines} if event.order else set()
    return named | {str(p) for p in (record.taken if record else {})}


def held_items(
    items: Iterable[InventoryItem],
    *,
    since: datetime,
    ledger: Iterable[LedgerEntry],
    operations: Iterable[SyncOperation],
    pending_order_products: Iterable[str],
) -> set[int]:
    """Ids of `items` the import must not move (see the module docstring)."""
    wanted = {item.id: item for item in items}
    moved = {
        e.item_id
        for e in ledger
        if e.item_id in wanted and e.at >= since and e.reason is not StockReason.SYNC
    }
    item_ids, products = _pushes_touching(operations, since)
    products |= set(pending_order_products)
    return {
        item.id
        for item in wanted.values()
        if item.id in moved or item.id in item_ids or item.external_stock_id in products
    }

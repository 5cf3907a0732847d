"""Contract of `upsert_products(hold_since=...)`: the reconciliation rule of `brx_domain.holds`,
which the Postgres adapter evaluates in SQL and the memory adapter in Python. An item with
local stock activity since the export started keeps its quantity; a quiet one takes CardTrader's."""

from __future__ import annotations

import uuid
from typing import Any
from uuid import UUID

import pytest

from brx_domain.inventory import LedgerEntry, StockReason
from brx_domain.jobs import ApplyWebhook, Job, JobArgs, PushPurchase, encode
from brx_domain.ports import UnitOfWork, UnitOfWorkFactory, WebhookDelivery
from brx_domain.sync import OperationStatus, OperationType, SyncOperation
from tests.contracts.fixtures import at, product

SINCE = at(100)


def _operation(user_id: UUID, kind: OperationType, **args: Any) -> SyncOperation:
    """A pending operation recorded as the use cases record it (a real job, encoded), so other
    tests sharing the database can run whatever is pending (the outbox is global)."""
    job: JobArgs
    if kind is OperationType.WEBHOOK:
        job = ApplyWebhook(args["delivery_id"])
    else:
        job = PushPurchase(
            item_id=args.get("item_id", 0),
            quantity=1,
            external_stock_id=args.get("external_stock_id", ""),
            blueprint_id=1,
            quantity_before=1,
        )
    metadata = {"job": encode(Job(job))}
    return SyncOperation(str(uuid.uuid4()), user_id, kind, metadata=metadata, created_at=at(0))


def _order_body(delivery_id: str, product_id: int) -> dict[str, Any]:
    line = {"product_id": product_id, "quantity": 1}
    data = {"id": 77, "state": "paid", "order_items": [line]}
    return {"id": delivery_id, "time": 1_740_830_400, "cause": "order.create",
            "object_id": 77, "mode": "live", "data": data}  # fmt: skip


async def _entry(uow: UnitOfWork, user_id: UUID, item_id: int, seconds: float) -> None:
    await uow.ledger.add(
        [LedgerEntry(user_id, item_id, -1, StockReason.PURCHASE, "shop", at(seconds), 3)]
    )


async def _pending_webhook(uow: UnitOfWork, user_id: UUID, product_id: int) -> None:
    delivery_id = str(uuid.uuid4())
    body = _order_body(delivery_id, product_id)
    delivery = WebhookDelivery(delivery_id, user_id, at(90), body, "live")
    operation = _operation(user_id, OperationType.WEBHOOK, delivery_id=delivery_id)
    await uow.webhooks.commit_if_new(delivery, operation)


async def _done_purchase(uow: UnitOfWork, user_id: UUID, item_id: int, seconds: float) -> None:
    operation = _operation(user_id, OperationType.PURCHASE, item_id=item_id)
    await uow.operations.add(operation)
    await uow.operations.save(operation.finished(OperationStatus.COMPLETED, at(seconds)))


ACTIVITY = {
    "quiet": (None, False),
    "ledger entry before the export": ("entry_before", False),
    "ledger entry since the export": ("entry_since", True),
    "pending purchase of the product": ("pending_purchase", True),
    "edit push completed since the export": ("done_since", True),
    "push completed before the export": ("done_before", False),
    "stored order webhook naming the product": ("webhook", True),
}


@pytest.mark.parametrize("activity", list(ACTIVITY))
async def test_an_item_with_local_activity_since_the_export_keeps_its_quantity(
    uow_factory: UnitOfWorkFactory, fresh_user: UUID, activity: str
) -> None:
    kind, held = ACTIVITY[activity]
    async with uow_factory() as uow:
        await uow.items.upsert_products(fresh_user, [product(5, quantity=4)], operation_id="a",
                                        now=at(0))  # fmt: skip
        item = await uow.items.get_by_external_id(fresh_user, "5")
        assert item is not None
        if kind in ("entry_before", "entry_since"):
            await _entry(uow, fresh_user, item.id, 10 if kind == "entry_before" else 101)
        elif kind == "pending_purchase":
            await uow.operations.add(
                _operation(fresh_user, OperationType.PURCHASE, external_stock_id="5")
            )
        elif kind in ("done_since", "done_before"):
            await _done_purchase(uow, fresh_user, item.id, 101 if kind == "done_since" else 50)
        elif kind == "webhook":
            await _pending_webhook(uow, fresh_user, 5)
        await uow.commit()
    async with uow_factory() as uow:
        counts = await uow.items.upsert_products(
            fresh_user, [product(5, quantity=9, price_cents=30)], operation_id="b", now=at(120),
            hold_since=SINCE,
        )  # fmt: skip
        await uow.commit()
    async with uow_factory() as uow:
        after = await uow.items.get(fresh_user, item.id)
        history = await uow.ledger.history(fresh_user, item.id, 10, 0)

    assert after is not None and after.price_cents == 30  # other fields are always imported
    assert (after.quantity, counts.held) == ((4, 1) if held else (9, 0))
    assert [e.operation_id for e in history if e.reason is StockReason.SYNC] == (
        ["a"] if held else ["b", "a"]
    )


async def test_a_held_item_without_other_changes_counts_as_unchanged(
    uow_factory: UnitOfWorkFactory, fresh_user: UUID
) -> None:
    async with uow_factory() as uow:
        await uow.items.upsert_products(fresh_user, [product(6)], operation_id="a", now=at(0))
        await uow.commit()
    async with uow_factory() as uow:
        await _pending_webhook(uow, fresh_user, 6)
        await uow.commit()
    async with uow_factory() as uow:
        counts = await uow.items.upsert_products(
            fresh_user, [product(6, quantity=1)], operation_id="b", now=at(120), hold_since=SINCE
        )
        await uow.commit()

    assert (counts.updated, counts.unchanged, counts.held) == (0, 1, 1)

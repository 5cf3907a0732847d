"""Contract of the webhook delivery and order stock repositories."""

from __future__ import annotations

import asyncio
import uuid
from uuid import UUID

from brx_domain.orders import OrderStockRecord, OrderStockState
from brx_domain.ports import UnitOfWorkFactory, WebhookDelivery
from tests.contracts.fixtures import at

# --- webhooks -----------------------------------------------------------------------------------


def _delivery(user_id: UUID, delivery_id: str, received: float = 0) -> WebhookDelivery:
    body = {"id": delivery_id, "cause": "order.create", "object_id": 7, "data": {"id": 7}}
    return WebhookDelivery(delivery_id, user_id, at(received), body, "live")


async def test_add_if_new_stores_a_delivery_once(
    uow_factory: UnitOfWorkFactory, fresh_user: UUID, other_user: UUID
) -> None:
    delivery_id = str(uuid.uuid4())
    async with uow_factory() as uow:
        first = await uow.webhooks.add_if_new(_delivery(fresh_user, delivery_id))
        again = await uow.webhooks.add_if_new(_delivery(fresh_user, delivery_id))
        await uow.commit()
    async with uow_factory() as uow:
        found = await uow.webhooks.get(fresh_user, delivery_id)
        foreign = await uow.webhooks.get(other_user, delivery_id)

    assert (first, again) == (True, False)
    assert found is not None and found.body["object_id"] == 7
    assert foreign is None


async def test_concurrent_deliveries_of_one_id_store_it_once(
    uow_factory: UnitOfWorkFactory, fresh_user: UUID
) -> None:
    delivery_id = str(uuid.uuid4())

    async def deliver() -> bool:
        async with uow_factory() as uow:
            stored = await uow.webhooks.add_if_new(_delivery(fresh_user, delivery_id))
            await uow.commit()
        return stored

    results = await asyncio.gather(*[deliver() for _ in range(10)])

    assert results.count(True) == 1


async def test_purge_removes_only_deliveries_older_than_the_cutoff(
    uow_factory: UnitOfWorkFactory, fresh_user: UUID
) -> None:
    old, recent = str(uuid.uuid4()), str(uuid.uuid4())
    async with uow_factory() as uow:
        await uow.webhooks.add_if_new(_delivery(fresh_user, old, received=-3600))
        await uow.webhooks.add_if_new(_delivery(fresh_user, recent, received=0))
        await uow.commit()
    async with uow_factory() as uow:
        purged = await uow.webhooks.purge_older_than(at(-60))
        await uow.commit()
        remaining = await uow.webhooks.get(fresh_user, recent)
        gone = await uow.webhooks.get(fresh_user, old)

    assert purged >= 1
    assert remaining is not None and gone is None


# --- order stock records ------------------------------------------------------------------------


async def test_lock_returns_an_empty_record_for_a_new_order_and_the_saved_one_after(
    uow_factory: UnitOfWorkFactory, fresh_user: UUID
) -> None:
    async with uow_factory() as uow:
        empty = await uow.orders.lock(fresh_user, 733733)
        await uow.orders.save(fresh_user, OrderStockRecord(733733, OrderStockState.TAKEN, {101: 2}))
        await uow.commit()
    async with uow_factory() as uow:
        saved = await uow.orders.lock(fresh_user, 733733)

    assert empty == OrderStockRecord(733733)
    assert saved.state is OrderStockState.TAKEN and dict(saved.taken) == {101: 2}


async def test_lock_serialises_read_modify_write_of_one_order(
    uow_factory: UnitOfWorkFactory, fresh_user: UUID
) -> None:
    async def bump() -> None:
        async with uow_factory() as uow:
            record = await uow.orders.lock(fresh_user, 1)
            await asyncio.sleep(0)  # give a competitor every chance to interleave
            count = dict(record.taken).get(1, 0)
            await uow.orders.save(
                fresh_user, OrderStockRecord(1, OrderStockState.TAKEN, {1: count + 1})
            )
            await uow.commit()

    await asyncio.gather(*[bump() for _ in range(20)])
    async with uow_factory() as uow:
        record = await uow.orders.lock(fresh_user, 1)

    assert dict(record.taken) == {1: 20}


async def test_order_records_of_one_user_are_invisible_to_another(
    uow_factory: UnitOfWorkFactory, fresh_user: UUID, other_user: UUID
) -> None:
    async with uow_factory() as uow:
        await uow.orders.save(fresh_user, OrderStockRecord(5, OrderStockState.VOIDED))
        await uow.commit()
    async with uow_factory() as uow:
        theirs = await uow.orders.lock(other_user, 5)

    assert theirs.state is OrderStockState.NONE


__all__ = [name for name in dir() if name.startswith("test_")]

"""Contract of the webhook delivery and order stock repositories."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from uuid import UUID

import pytest

from brx_domain.errors import Conflict
from brx_domain.orders import OrderStockRecord, OrderStockState
from brx_domain.ports import UnitOfWorkFactory, WebhookDelivery
from brx_domain.sync import UserSyncSettings
from tests.contracts.fixtures import at, done_webhook_operation

# --- webhooks -----------------------------------------------------------------------------------


def _delivery(user_id: UUID, delivery_id: str, received: float = 0) -> WebhookDelivery:
    body = {"id": delivery_id, "cause": "order.create", "object_id": 7, "data": {"id": 7}}
    return WebhookDelivery(delivery_id, user_id, at(received), body, "live")


async def test_commit_if_new_stores_a_delivery_once_with_its_operation(
    uow_factory: UnitOfWorkFactory, fresh_user: UUID, other_user: UUID
) -> None:
    delivery_id = str(uuid.uuid4())
    operation, second = done_webhook_operation(fresh_user), done_webhook_operation(fresh_user)
    async with uow_factory() as uow:
        first = await uow.webhooks.commit_if_new(_delivery(fresh_user, delivery_id), operation)
        again = await uow.webhooks.commit_if_new(_delivery(fresh_user, delivery_id), second)
    async with uow_factory() as uow:  # committed without uow.commit()
        found = await uow.webhooks.get(fresh_user, delivery_id)
        foreign = await uow.webhooks.get(other_user, delivery_id)
        stored = await uow.operations.get(operation.operation_id)
        duplicate = await uow.operations.get(second.operation_id)

    assert (first, again) == (True, False)
    assert found is not None and found.body["object_id"] == 7
    assert found.received_at == at(0) and found.mode == "live"
    assert foreign is None
    assert stored == operation
    assert duplicate is None  # a duplicate delivery stores no operation either


async def test_commit_if_new_commits_the_earlier_writes_of_its_unit_of_work(
    uow_factory: UnitOfWorkFactory, fresh_user: UUID
) -> None:
    earlier, operation = done_webhook_operation(fresh_user), done_webhook_operation(fresh_user)
    delivery_id = str(uuid.uuid4())
    async with uow_factory() as uow:
        await uow.operations.add(earlier)
        await uow.webhooks.commit_if_new(_delivery(fresh_user, delivery_id), operation)
        await uow.rollback()  # nothing left to undo: all of it was committed
    async with uow_factory() as uow:
        kept = [await uow.operations.get(o.operation_id) for o in (earlier, operation)]
        delivery = await uow.webhooks.get(fresh_user, delivery_id)

    assert kept == [earlier, operation]
    assert delivery is not None


async def test_commit_if_new_stores_neither_when_the_operation_cannot_be_stored(
    uow_factory: UnitOfWorkFactory, fresh_user: UUID
) -> None:
    taken = done_webhook_operation(fresh_user)
    async with uow_factory() as uow:
        await uow.operations.add(taken)
        await uow.commit()
    delivery_id = str(uuid.uuid4())

    with pytest.raises(Conflict):
        async with uow_factory() as uow:
            await uow.webhooks.commit_if_new(_delivery(fresh_user, delivery_id), taken)
    async with uow_factory() as uow:
        delivery = await uow.webhooks.get(fresh_user, delivery_id)

    assert delivery is None  # a retry of the delivery finds it new


async def _connect(uow_factory: UnitOfWorkFactory, settings: UserSyncSettings) -> None:
    async with uow_factory() as uow:
        await uow.settings.put(settings)
        await uow.commit()


async def test_a_guarded_commit_stores_only_while_that_secret_is_stored_and_connected(
    uow_factory: UnitOfWorkFactory, fresh_user: UUID
) -> None:
    connected = UserSyncSettings(fresh_user, "token-enc", webhook_secret_encrypted="secret-1")
    await _connect(uow_factory, connected)
    first, rotated, renewed, gone = (str(uuid.uuid4()) for _ in range(4))

    async def commit(delivery_id: str, secret: str) -> bool | None:
        async with uow_factory() as uow:
            return await uow.webhooks.commit_if_new(
                _delivery(fresh_user, delivery_id),
                done_webhook_operation(fresh_user),
                while_secret=secret,
            )

    stored = await commit(first, "secret-1")
    again = await commit(first, "secret-1")
    await _connect(uow_factory, replace(connected, webhook_secret_encrypted="secret-2"))
    stale, current = await commit(rotated, "secret-1"), await commit(renewed, "secret-2")
    await _connect(
        uow_factory,
        replace(connected, webhook_secret_encrypted="secret-2", disconnected_at=at(0)),
    )
    disconnected = await commit(gone, "secret-2")
    async with uow_factory() as uow:
        found = [await uow.webhooks.get(fresh_user, d) for d in (first, rotated, renewed, gone)]
        _, operations = await uow.operations.list(fresh_user, limit=10, offset=0)

    assert (stored, again, stale, current, disconnected) == (True, False, None, True, None)
    assert [d is not None for d in found] == [True, False, True, False]  # refused: none stored
    assert operations == 2  # nor an operation for a refused or duplicate delivery


async def test_concurrent_deliveries_of_one_id_store_it_once(
    uow_factory: UnitOfWorkFactory, fresh_user: UUID
) -> None:
    delivery_id = str(uuid.uuid4())

    async def deliver() -> bool:
        async with uow_factory() as uow:
            operation = done_webhook_operation(fresh_user)
            return await uow.webhooks.commit_if_new(_delivery(fresh_user, delivery_id), operation)

    results = await asyncio.gather(*[deliver() for _ in range(10)])

    assert results.count(True) == 1


async def test_purge_removes_only_deliveries_older_than_the_cutoff(
    uow_factory: UnitOfWorkFactory, fresh_user: UUID
) -> None:
    old, recent = str(uuid.uuid4()), str(uuid.uuid4())
    async with uow_factory() as uow:
        for delivery_id, received in ((old, -3600), (recent, 0)):
            delivery = _delivery(fresh_user, delivery_id, received=received)
            await uow.webhooks.commit_if_new(delivery, done_webhook_operation(fresh_user))
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

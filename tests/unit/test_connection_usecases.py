"""Disconnecting, beyond the HTTP edge: the periodic reconciliation skips a disconnected shop,
a key rotation still reaches its secrets, and a retry waits for it to connect again."""

from __future__ import annotations

from dataclasses import replace

import pytest

from brx_domain.errors import NotConnected
from brx_domain.sync import OperationStatus, OperationType, SyncOperation, SyncStatus
from brx_domain.usecases.activity import retry_operation
from brx_domain.usecases.periodic import request_periodic_reconciliations
from brx_domain.usecases.sync import start_bulk_sync
from brx_domain.usecases.users import disconnect_user, reencrypt_secrets
from tests.unit.world import World

ACTIVE = SyncStatus.ACTIVE


@pytest.fixture
async def synced() -> World:
    """A connected, active shop with one product."""
    world = World()
    await world.register()
    world.account.add_product(16, 2, 100)
    await start_bulk_sync(world.ports, world.user_id)
    await world.run_jobs()
    return world


async def test_a_disconnected_shop_is_not_reconciled_periodically(synced: World) -> None:
    other = World(store=synced.store, clock=synced.clock)
    await other.register()
    async with synced.ports.uow() as uow:  # another active shop, still connected
        await uow.settings.put(replace(synced.store.settings[other.user_id], sync_status=ACTIVE))
        await uow.commit()

    await disconnect_user(synced.ports, synced.user_id)
    queued = await request_periodic_reconciliations(synced.ports, every_minutes=30)

    assert queued == [other.user_id]


async def test_a_key_rotation_still_reaches_a_disconnected_shop(synced: World) -> None:
    await disconnect_user(synced.ports, synced.user_id)
    before = synced.store.settings[synced.user_id].cardtrader_token_encrypted

    done = await reencrypt_secrets(synced.ports)

    assert done.users == 1
    assert synced.store.settings[synced.user_id].cardtrader_token_encrypted != before
    assert not synced.store.settings[synced.user_id].connected


async def test_a_failed_operation_is_retried_only_once_connected_again(synced: World) -> None:
    failed = SyncOperation(
        "failed-7",
        synced.user_id,
        OperationType.PERIODIC_SYNC,
        OperationStatus.FAILED,
        {"job": {"name": "reconcile", "queue": "brx:default", "args": {}}},
        created_at=synced.clock.now(),
    )
    async with synced.ports.uow() as uow:
        await uow.operations.add(failed)
        await uow.commit()
    await disconnect_user(synced.ports, synced.user_id)

    with pytest.raises(NotConnected):
        await retry_operation(synced.ports, synced.user_id, "failed-7")
    await synced.register()
    retry = await retry_operation(synced.ports, synced.user_id, "failed-7")

    assert retry.operation_id == "failed-7.retry1" and retry.metadata["retry_of"] == "failed-7"
    assert synced.store.operations["failed-7"].metadata["retried_by"] == "failed-7.retry1"

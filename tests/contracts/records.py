"""Contract of the unit of work and of the settings and operation repositories."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from uuid import UUID

import pytest

from brx_domain.ports import UnitOfWorkFactory
from brx_domain.sync import (
    OperationStatus,
    OperationType,
    SyncOperation,
    SyncProgress,
    SyncStatus,
    UserSyncSettings,
)
from tests.contracts.fixtures import at, new_item


def _settings(user_id: UUID, status: SyncStatus = SyncStatus.IDLE) -> UserSyncSettings:
    return UserSyncSettings(
        user_id, "encrypted-token", "encrypted-secret", status, created_at=at(0)
    )


def _operation(user_id: UUID, kind: OperationType, created: float) -> SyncOperation:
    return SyncOperation(str(uuid.uuid4()), user_id, kind, created_at=at(created))


# --- the unit of work ---------------------------------------------------------------------------


async def test_uncommitted_work_is_rolled_back(
    uow_factory: UnitOfWorkFactory, fresh_user: UUID
) -> None:
    async with uow_factory() as uow:
        await uow.items.add(new_item(fresh_user))
        await uow.settings.put(_settings(fresh_user))

    async with uow_factory() as uow:
        assert await uow.items.count(fresh_user) == 0
        assert await uow.settings.get(fresh_user) is None


async def test_an_exception_inside_the_unit_of_work_rolls_it_back(
    uow_factory: UnitOfWorkFactory, fresh_user: UUID
) -> None:
    with pytest.raises(RuntimeError):
        async with uow_factory() as uow:
            await uow.items.add(new_item(fresh_user))
            raise RuntimeError("boom")

    async with uow_factory() as uow:
        assert await uow.items.count(fresh_user) == 0


async def test_explicit_rollback_discards_and_commit_publishes(
    uow_factory: UnitOfWorkFactory, fresh_user: UUID
) -> None:
    async with uow_factory() as uow:
        await uow.items.add(new_item(fresh_user, external_stock_id="1"))
        await uow.rollback()
    async with uow_factory() as uow:
        await uow.items.add(new_item(fresh_user, external_stock_id="2"))
        await uow.commit()

    async with uow_factory() as uow:
        items, total = await uow.items.list(fresh_user, 10, 0)

    assert total == 1 and items[0].external_stock_id == "2"


# --- settings -----------------------------------------------------------------------------------


async def test_put_creates_then_replaces_the_settings(
    uow_factory: UnitOfWorkFactory, fresh_user: UUID
) -> None:
    async with uow_factory() as uow:
        await uow.settings.put(_settings(fresh_user))
        await uow.settings.put(replace(_settings(fresh_user), cardtrader_token_encrypted="v2"))
        await uow.commit()
    async with uow_factory() as uow:
        found = await uow.settings.get(fresh_user)

    assert found is not None
    assert (found.cardtrader_token_encrypted, found.webhook_secret_encrypted) == (
        "v2",
        "encrypted-secret",
    )
    assert found.sync_status is SyncStatus.IDLE


async def test_compare_and_set_moves_only_from_an_allowed_status(
    uow_factory: UnitOfWorkFactory, fresh_user: UUID
) -> None:
    async with uow_factory() as uow:
        await uow.settings.put(replace(_settings(fresh_user), last_error="old failure"))
        refused = await uow.settings.compare_and_set_status(
            fresh_user, {SyncStatus.ACTIVE}, SyncStatus.INITIAL_SYNC, now=at(1)
        )
        moved = await uow.settings.compare_and_set_status(
            fresh_user, {SyncStatus.IDLE}, SyncStatus.INITIAL_SYNC, now=at(2)
        )
        await uow.commit()
        found = await uow.settings.get(fresh_user)

    assert (refused, moved) == (False, True)
    assert found is not None and found.sync_status is SyncStatus.INITIAL_SYNC
    assert found.last_error is None  # None clears it


async def test_compare_and_set_writes_last_sync_at_only_when_given(
    uow_factory: UnitOfWorkFactory, fresh_user: UUID
) -> None:
    async with uow_factory() as uow:
        await uow.settings.put(_settings(fresh_user, SyncStatus.INITIAL_SYNC))
        await uow.settings.compare_and_set_status(
            fresh_user, {SyncStatus.INITIAL_SYNC}, SyncStatus.ACTIVE, now=at(5), last_sync_at=at(5)
        )
        await uow.settings.compare_and_set_status(
            fresh_user, {SyncStatus.ACTIVE}, SyncStatus.INITIAL_SYNC, now=at(9)
        )
        await uow.settings.compare_and_set_status(
            fresh_user, {SyncStatus.INITIAL_SYNC}, SyncStatus.ERROR, now=at(9), last_error="boom"
        )
        await uow.commit()
        found = await uow.settings.get(fresh_user)

    assert found is not None
    assert (found.sync_status, found.last_sync_at, found.last_error) == (
        SyncStatus.ERROR,
        at(5),
        "boom",
    )


async def test_compare_and_set_of_an_unknown_user_is_refused(
    uow_factory: UnitOfWorkFactory, fresh_user: UUID
) -> None:
    async with uow_factory() as uow:
        moved = await uow.settings.compare_and_set_status(
            fresh_user, set(SyncStatus), SyncStatus.INITIAL_SYNC, now=at(0)
        )

    assert moved is False


async def test_only_one_of_many_concurrent_claims_wins(
    uow_factory: UnitOfWorkFactory, fresh_user: UUID
) -> None:
    async with uow_factory() as uow:
        await uow.settings.put(_settings(fresh_user))
        await uow.commit()

    async def claim() -> bool:
        async with uow_factory() as uow:
            won = await uow.settings.compare_and_set_status(
                fresh_user, {SyncStatus.IDLE}, SyncStatus.INITIAL_SYNC, now=at(1)
            )
            await uow.commit()
        return won

    results = await asyncio.gather(*[claim() for _ in range(20)])

    assert results.count(True) == 1


# --- operations ---------------------------------------------------------------------------------


async def test_operation_save_writes_status_metadata_and_completion(
    uow_factory: UnitOfWorkFactory, fresh_user: UUID
) -> None:
    operation = _operation(fresh_user, OperationType.UPDATE, 0)
    async with uow_factory() as uow:
        await uow.operations.add(operation)
        await uow.operations.save(operation.finished(OperationStatus.FAILED, at(3), error="x"))
        await uow.commit()
    async with uow_factory() as uow:
        found = await uow.operations.get(operation.operation_id)

    assert found is not None
    assert (found.status, found.completed_at, found.metadata["error"]) == (
        OperationStatus.FAILED,
        at(3),
        "x",
    )
    assert (found.user_id, found.operation_type) == (fresh_user, OperationType.UPDATE)


async def test_progress_never_goes_backwards_on_save(
    uow_factory: UnitOfWorkFactory, fresh_user: UUID
) -> None:
    operation = _operation(fresh_user, OperationType.BULK_SYNC, 0)
    ahead = operation.with_progress(SyncProgress(processed=50, created=40, progress_percent=50))
    behind = operation.with_progress(SyncProgress(processed=10, created=5, progress_percent=10))
    async with uow_factory() as uow:
        await uow.operations.add(operation)
        await uow.operations.save(ahead)
        await uow.operations.save(behind)
        await uow.commit()
    async with uow_factory() as uow:
        found = await uow.operations.get(operation.operation_id)

    assert found is not None
    assert (found.progress.processed, found.progress.created) == (50, 40)
    assert found.progress.progress_percent == 50


async def test_latest_is_the_newest_operation_of_that_type(
    uow_factory: UnitOfWorkFactory, fresh_user: UUID, other_user: UUID
) -> None:
    old = _operation(fresh_user, OperationType.BULK_SYNC, 0)
    new = _operation(fresh_user, OperationType.BULK_SYNC, 10)
    other_type = _operation(fresh_user, OperationType.PURCHASE, 20)
    other_users = _operation(other_user, OperationType.BULK_SYNC, 30)
    async with uow_factory() as uow:
        for operation in (old, new, other_type, other_users):
            await uow.operations.add(operation)
        await uow.commit()
    async with uow_factory() as uow:
        latest = await uow.operations.latest(fresh_user, OperationType.BULK_SYNC)
        none = await uow.operations.latest(fresh_user, OperationType.DELETE)

    assert latest is not None and latest.operation_id == new.operation_id
    assert none is None


async def test_pending_lists_old_pending_operations_oldest_first(
    uow_factory: UnitOfWorkFactory, fresh_user: UUID
) -> None:
    a = _operation(fresh_user, OperationType.UPDATE, -30)
    b = _operation(fresh_user, OperationType.UPDATE, -20)
    done = _operation(fresh_user, OperationType.UPDATE, -25).finished(
        OperationStatus.COMPLETED, at(0)
    )
    fresh = _operation(fresh_user, OperationType.UPDATE, 100)
    async with uow_factory() as uow:
        for operation in (b, a, done, fresh):
            await uow.operations.add(operation)
        await uow.commit()
    async with uow_factory() as uow:
        found = await uow.operations.pending(at(0), 1000)
        limited = await uow.operations.pending(at(0), 1)

    mine = [op.operation_id for op in found if op.user_id == fresh_user]
    assert mine == [a.operation_id, b.operation_id]
    assert len(limited) == 1


__all__ = [name for name in dir() if name.startswith("test_")]

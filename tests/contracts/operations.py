"""Contract of listing a user's operations (fixture `uow_factory`)."""

from __future__ import annotations

import uuid
from uuid import UUID

from brx_domain.ports import UnitOfWorkFactory
from brx_domain.sync import OperationStatus, OperationType, SyncOperation
from tests.contracts.fixtures import at


async def _add(uow_factory: UnitOfWorkFactory, *operations: SyncOperation) -> None:
    async with uow_factory() as uow:
        for operation in operations:
            await uow.operations.add(operation)
        await uow.commit()


def _op(user_id: UUID, kind: OperationType, created: float, **kw: object) -> SyncOperation:
    return SyncOperation(str(uuid.uuid4()), user_id, kind, created_at=at(created), **kw)  # type: ignore[arg-type]


async def test_operations_are_listed_newest_first_with_the_total(
    uow_factory: UnitOfWorkFactory, fresh_user: UUID, other_user: UUID
) -> None:
    ops = [_op(fresh_user, OperationType.PURCHASE, n) for n in (5, 1, 9, 3)]
    tie = [_op(fresh_user, OperationType.UPDATE, 9) for _ in range(2)]  # same time: later first
    await _add(uow_factory, *ops, *tie, _op(other_user, OperationType.PURCHASE, 20))

    async with uow_factory() as uow:
        first, total = await uow.operations.list(fresh_user, limit=3, offset=0)
        rest, _ = await uow.operations.list(fresh_user, limit=10, offset=3)
        past_end, total_past_end = await uow.operations.list(fresh_user, limit=10, offset=50)

    ids = [o.operation_id for o in first + rest]
    assert total == 6 and total_past_end == 6 and past_end == []
    assert ids == [
        tie[1].operation_id,
        tie[0].operation_id,
        ops[2].operation_id,
        ops[0].operation_id,
        ops[3].operation_id,
        ops[1].operation_id,
    ]


async def test_operations_filter_by_status_and_type(
    uow_factory: UnitOfWorkFactory, fresh_user: UUID
) -> None:
    failed_push = _op(fresh_user, OperationType.PURCHASE, 1, status=OperationStatus.FAILED)
    await _add(
        uow_factory,
        failed_push,
        _op(fresh_user, OperationType.PURCHASE, 2),
        _op(fresh_user, OperationType.BULK_SYNC, 3, status=OperationStatus.FAILED),
    )

    async with uow_factory() as uow:
        failed, failed_total = await uow.operations.list(
            fresh_user, status=OperationStatus.FAILED, limit=10, offset=0
        )
        both, both_total = await uow.operations.list(
            fresh_user,
            status=OperationStatus.FAILED,
            operation_type=OperationType.PURCHASE,
            limit=10,
            offset=0,
        )

    assert failed_total == 2 and {o.status for o in failed} == {OperationStatus.FAILED}
    assert both_total == 1 and [o.operation_id for o in both] == [failed_push.operation_id]

"""Running a queued operation: load it once, skip it if already done, record the outcome.

Transient failures (`DomainError.transient`: a store or CardTrader down, a rate limit) are
noted on the operation and propagate so the worker retries the job (`brx_domain.retry`);
any other domain error ends the operation `failed` with a readable reason, visible through
/task.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from typing import Any

from brx_domain.errors import DomainError, NotFound
from brx_domain.ports import Marketplace, UnitOfWork
from brx_domain.sync import OperationStatus, SyncOperation
from brx_domain.usecases.common import Ports, connected_settings_of, error_text

Body = Callable[[SyncOperation], Awaitable[Mapping[str, Any]]]
# What else an operation's end changes, in the same transaction as the end itself (a bulk
# sync's user status: nobody ever reads the sync completed while the user is still syncing).
Settle = Callable[[UnitOfWork, SyncOperation], Awaitable[None]]


async def begin(ports: Ports, operation_id: str) -> SyncOperation | None:
    """The pending operation with one more attempt recorded, or None if it already ended."""
    async with ports.uow() as uow:
        operation = await uow.operations.get(operation_id)
        if operation is None:
            raise NotFound(f"operation {operation_id} not found")
        if operation.status is not OperationStatus.PENDING:
            return None
        attempts = int(operation.metadata.get("attempts", 0)) + 1
        operation = replace(
            operation,
            metadata={
                **operation.metadata,
                "attempts": attempts,
                "started_at": ports.clock.now().isoformat(),
            },
        )
        await uow.operations.save(operation)
        await uow.commit()
    return operation


async def finish(
    ports: Ports,
    operation: SyncOperation,
    status: OperationStatus,
    *,
    settle: Settle | None = None,
    **extra: Any,
) -> SyncOperation:
    async with ports.uow() as uow:
        current = await uow.operations.get(operation.operation_id) or operation
        done = current.finished(status, ports.clock.now(), **extra)
        await uow.operations.save(done)
        if settle is not None:
            await settle(uow, done)
        await uow.commit()
    return done


async def run_operation(
    ports: Ports, operation_id: str, body: Body, *, settle: Settle | None = None
) -> SyncOperation | None:
    operation = await begin(ports, operation_id)
    if operation is None:
        return None
    try:
        result = await body(operation)
    except DomainError as exc:
        if exc.transient:
            await note_retry(ports, operation_id, exc)
            raise
        return await finish(
            ports, operation, OperationStatus.FAILED, settle=settle, error=error_text(exc)
        )
    return await finish(
        ports, operation, OperationStatus.COMPLETED, settle=settle, result=dict(result)
    )


async def note_retry(ports: Ports, operation_id: str, exc: BaseException) -> None:
    async with ports.uow() as uow:
        operation = await uow.operations.get(operation_id)
        if operation is not None and operation.status is OperationStatus.PENDING:
            await uow.operations.save(
                replace(
                    operation,
                    metadata={
                        **operation.metadata,
                        "retrying": True,
                        "last_error": error_text(exc),
                    },
                )
            )
            await uow.commit()


async def give_up(ports: Ports, operation_id: str, exc: BaseException) -> None:
    """The worker's last retry failed: end the operation `failed`, keeping the reason."""
    async with ports.uow() as uow:
        operation = await uow.operations.get(operation_id)
    if operation is not None and operation.status is OperationStatus.PENDING:
        error = f"{error_text(exc)} (gave up after its last retry)"
        await finish(ports, operation, OperationStatus.FAILED, error=error)


async def marketplace_for(ports: Ports, operation: SyncOperation) -> Marketplace:
    async with ports.uow() as uow:
        settings = await connected_settings_of(uow, operation.user_id)
    return ports.marketplace.for_token(ports.cipher.decrypt(settings.cardtrader_token_encrypted))

"""CardTrader → shop: bulk import and reconciliation, one path for both."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any
from uuid import UUID

from brx_domain.errors import NotFound, SyncInProgress
from brx_domain.jobs import BulkSync, Reconcile, args_of
from brx_domain.ports import Marketplace, UnitOfWork
from brx_domain.sync import (
    OperationStatus,
    OperationType,
    SyncOperation,
    SyncProgress,
    SyncStatus,
    UserSyncSettings,
    sources_for,
)
from brx_domain.usecases.common import (
    Ports,
    connected_settings_of,
    dispatch,
    error_text,
    new_operation,
    settings_of,
)
from brx_domain.usecases.importer import (
    Importer,
    ImportOptions,
    ensure_latest_bulk_sync,
    save_progress,
)
from brx_domain.usecases.operations import Settle, finish, marketplace_for, run_operation


async def start_bulk_sync(
    ports: Ports, user_id: UUID, *, force: bool = False, request_id: str | None = None
) -> SyncOperation:
    """Claim the user's sync slot atomically (two concurrent starts never both win), record
    the operation and queue it."""
    async with ports.uow() as uow:
        await connected_settings_of(uow, user_id)
        claimed = await uow.settings.compare_and_set_status(
            user_id,
            sources_for(SyncStatus.INITIAL_SYNC, force=force),
            SyncStatus.INITIAL_SYNC,
            now=ports.clock.now(),
            last_error=None,
        )
        if not claimed:
            raise SyncInProgress(f"a bulk sync of user {user_id} is already running")
        operation = new_operation(
            ports, user_id, OperationType.BULK_SYNC, BulkSync(force), request_id=request_id
        )
        await uow.operations.add(operation)
        await uow.commit()
    await dispatch(ports, operation)
    return operation


async def request_reconciliation(
    ports: Ports,
    user_id: UUID,
    *,
    blueprint_id: int | None = None,
    dry_run: bool = False,
    force: bool = False,
    periodic: bool = False,
    request_id: str | None = None,
) -> SyncOperation:
    async with ports.uow() as uow:
        await connected_settings_of(uow, user_id)
        operation = new_operation(
            ports,
            user_id,
            OperationType.PERIODIC_SYNC,  # every reconciliation; `metadata.trigger` says who
            Reconcile(blueprint_id, dry_run, force),
            request_id=request_id,
        )
        operation = replace(
            operation,
            metadata={**operation.metadata, "trigger": "periodic" if periodic else "manual"},
        )
        await uow.operations.add(operation)
        await uow.commit()
    await dispatch(ports, operation)
    return operation


async def run_bulk_sync(ports: Ports, operation_id: str) -> SyncOperation | None:
    """Import everything; the user ends `active`, or `error` with a readable `last_error`.
    Transient errors propagate for the worker to retry; the user stays `initial_sync`."""
    return await run_operation(
        ports,
        operation_id,
        lambda op: _import(ports, op, ImportOptions(force=args_of(op.metadata, BulkSync).force)),
        settle=_settle_user(ports),
    )


async def fail_bulk_sync(ports: Ports, operation_id: str, exc: BaseException) -> None:
    """The worker gave up on a bulk sync: the operation and the user both show why."""
    async with ports.uow() as uow:
        operation = await uow.operations.get(operation_id)
    if operation is None or operation.status is not OperationStatus.PENDING:
        return
    await finish(
        ports, operation, OperationStatus.FAILED, settle=_settle_user(ports), error=error_text(exc)
    )


async def run_reconciliation(ports: Ports, operation_id: str) -> SyncOperation | None:
    def options(op: SyncOperation) -> ImportOptions:
        args = args_of(op.metadata, Reconcile)
        return ImportOptions(force=args.force, dry_run=args.dry_run, blueprint_id=args.blueprint_id)

    return await run_operation(ports, operation_id, lambda op: _import(ports, op, options(op)))


def _settle_user(ports: Ports) -> Settle:
    """The user's status from the bulk sync's end, committed with that end. Only the user's
    latest bulk sync decides it: a superseded one must not put a user in `error` while its
    replacement runs."""

    async def settle(uow: UnitOfWork, operation: SyncOperation) -> None:
        now = ports.clock.now()
        latest = await uow.operations.latest(operation.user_id, OperationType.BULK_SYNC)
        if latest is not None and latest.operation_id != operation.operation_id:
            return
        if operation.status is OperationStatus.COMPLETED:
            await uow.settings.compare_and_set_status(
                operation.user_id,
                {SyncStatus.INITIAL_SYNC},
                SyncStatus.ACTIVE,
                now=now,
                last_error=None,
                last_sync_at=now,
            )
        else:
            await uow.settings.compare_and_set_status(
                operation.user_id,
                {SyncStatus.INITIAL_SYNC},
                SyncStatus.ERROR,
                now=now,
                last_error=str(operation.metadata.get("error") or "bulk sync failed"),
            )

    return settle


async def _import(
    ports: Ports, operation: SyncOperation, options: ImportOptions
) -> Mapping[str, Any]:
    await ensure_latest_bulk_sync(ports, operation)
    market: Marketplace = await marketplace_for(ports, operation)
    started = ports.clock.now()  # before CardTrader's picture is taken: `brx_domain.holds`
    received = 0

    async def downloaded(size: int) -> None:  # the first phase moves progress too
        nonlocal received
        received = max(received, size)  # a download retried from its start never goes back
        await save_progress(ports, operation, SyncProgress(downloaded_bytes=received))

    export = await market.export_products(blueprint_id=options.blueprint_id, on_download=downloaded)
    importer = Importer(
        ports, operation, options, export, export_started=started, downloaded_bytes=received
    )
    progress = await importer.run()
    return {
        "progress": progress.to_dict(),
        "skipped_examples": importer.skipped_examples,
        "dry_run": options.dry_run,
        "held": importer.held,  # kept at their local quantity; the next reconciliation looks
    }


# --- queries -------------------------------------------------------------------------------------


async def get_status(ports: Ports, user_id: UUID) -> UserSyncSettings:
    async with ports.uow() as uow:
        return await settings_of(uow, user_id)


async def latest_bulk_sync(ports: Ports, user_id: UUID) -> SyncOperation:
    async with ports.uow() as uow:
        operation = await uow.operations.latest(user_id, OperationType.BULK_SYNC)
    if operation is None:
        raise NotFound(f"user {user_id} has no bulk sync")
    return operation


async def get_task(ports: Ports, user_id: UUID, task_id: str) -> SyncOperation:
    """The caller's own operation; anybody else's answers exactly like a missing one."""
    async with ports.uow() as uow:
        operation = await uow.operations.get(task_id)
    if operation is None or operation.user_id != user_id:
        raise NotFound(f"task {task_id} not found")
    return operation

"""CardTrader → shop: bulk import and reconciliation, one path for both."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any
from uuid import UUID

from brx_domain.errors import DomainError, NotFound, SyncInProgress
from brx_domain.ports import Marketplace, ProductExport
from brx_domain.sync import (
    OperationStatus,
    OperationType,
    RemoteProduct,
    SyncOperation,
    SyncProgress,
    SyncStatus,
    UpsertCounts,
    UserSyncSettings,
    check_deletion_guard,
    sources_for,
)
from brx_domain.usecases.common import (
    JobName,
    Ports,
    QueueName,
    dispatch,
    error_text,
    new_operation,
    settings_of,
)
from brx_domain.usecases.operations import finish, marketplace_for, run_operation


@dataclass(frozen=True)
class ImportOptions:
    force: bool = False
    dry_run: bool = False
    blueprint_id: int | None = None


async def start_bulk_sync(ports: Ports, user_id: UUID, *, force: bool = False) -> SyncOperation:
    """Claim the user's sync slot atomically (two concurrent starts never both win), record
    the operation and queue it."""
    async with ports.uow() as uow:
        await settings_of(uow, user_id)
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
            ports, user_id, OperationType.BULK_SYNC, JobName.BULK_SYNC, QueueName.BULK, force=force
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
) -> SyncOperation:
    kind = OperationType.PERIODIC_SYNC if periodic else OperationType.UPDATE
    async with ports.uow() as uow:
        await settings_of(uow, user_id)
        operation = new_operation(
            ports,
            user_id,
            kind,
            JobName.RECONCILE,
            QueueName.DEFAULT,
            blueprint_id=blueprint_id,
            dry_run=dry_run,
            force=force,
        )
        operation = replace(
            operation, metadata={**operation.metadata, "kind": "sync_from_cardtrader"}
        )
        await uow.operations.add(operation)
        await uow.commit()
    await dispatch(ports, operation)
    return operation


async def run_bulk_sync(ports: Ports, operation_id: str) -> SyncOperation | None:
    """Import everything; the user ends `active`, or `error` with a readable `last_error`."""
    result: SyncOperation | None = None
    try:
        result = await run_operation(
            ports,
            operation_id,
            lambda op: _import(
                ports, op, ImportOptions(force=bool(op.metadata["job"]["args"].get("force")))
            ),
        )
    except DomainError:
        raise  # transient: the worker retries; the user stays initial_sync meanwhile
    if result is not None:
        await _settle_user(ports, result)
    return result


async def fail_bulk_sync(ports: Ports, operation_id: str, exc: BaseException) -> None:
    """The worker gave up on a bulk sync: the operation and the user both show why."""
    async with ports.uow() as uow:
        operation = await uow.operations.get(operation_id)
    if operation is None or operation.status is not OperationStatus.PENDING:
        return
    done = await finish(ports, operation, OperationStatus.FAILED, error=error_text(exc))
    await _settle_user(ports, done)


async def run_reconciliation(ports: Ports, operation_id: str) -> SyncOperation | None:
    def options(op: SyncOperation) -> ImportOptions:
        args = op.metadata["job"]["args"]
        return ImportOptions(
            force=bool(args.get("force")),
            dry_run=bool(args.get("dry_run")),
            blueprint_id=args.get("blueprint_id"),
        )

    return await run_operation(ports, operation_id, lambda op: _import(ports, op, options(op)))


async def _settle_user(ports: Ports, operation: SyncOperation) -> None:
    now = ports.clock.now()
    async with ports.uow() as uow:
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
        await uow.commit()


async def _import(
    ports: Ports, operation: SyncOperation, options: ImportOptions
) -> Mapping[str, Any]:
    market: Marketplace = await marketplace_for(ports, operation)
    export = await market.export_products(blueprint_id=options.blueprint_id)
    importer = _Importer(ports, operation, options, export)
    progress = await importer.run()
    return {
        "progress": progress.to_dict(),
        "skipped_examples": importer.skipped_examples,
        "dry_run": options.dry_run,
    }


class _Importer:
    """Streams the export in chunks: catalogue filter, set-based upsert, progress per chunk,
    then the guarded removal of what CardTrader no longer lists."""

    def __init__(
        self, ports: Ports, operation: SyncOperation, options: ImportOptions, export: ProductExport
    ) -> None:
        self.ports, self.operation, self.options, self.export = ports, operation, options, export
        self.progress = SyncProgress()
        self.seen: set[str] = set()
        self.skipped_examples: list[int] = []

    async def run(self) -> SyncProgress:
        size = self.ports.settings.chunk_size
        chunk: list[RemoteProduct] = []
        async for product in self.export:
            chunk.append(product)
            if len(chunk) >= size:
                await self._chunk(chunk)
                chunk = []
        if chunk or self.progress.processed_chunks == 0:
            await self._chunk(chunk)
        deleted = await self._remove_vanished()
        self.progress = self.progress.finished(deleted=deleted, chunk_size=size)
        await self._save_progress()
        return self.progress

    async def _chunk(self, chunk: list[RemoteProduct]) -> None:
        known = await self.ports.catalogue.known({p.blueprint_id for p in chunk})
        kept = [p for p in chunk if p.blueprint_id in known]
        skipped = len(chunk) - len(kept)
        room = self.ports.settings.skipped_examples - len(self.skipped_examples)
        self.skipped_examples += [p.id for p in chunk if p.blueprint_id not in known][
            : max(room, 0)
        ]
        self.seen.update(p.external_stock_id for p in kept)
        counts = await self._upsert(kept) if kept else UpsertCounts()
        self.progress = self.progress.plus(
            counts,
            skipped=skipped,
            expected_total=self.export.expected_total,
            chunk_size=self.ports.settings.chunk_size,
        )
        await self._save_progress()

    async def _upsert(self, kept: list[RemoteProduct]) -> UpsertCounts:
        async with self.ports.uow() as uow:
            counts = await uow.items.upsert_products(
                self.operation.user_id,
                kept,
                operation_id=self.operation.operation_id,
                now=self.ports.clock.now(),
                dry_run=self.options.dry_run,
            )
            await uow.commit()
        return counts

    async def _remove_vanished(self) -> int:
        user_id = self.operation.user_id
        async with self.ports.uow() as uow:
            absent = await uow.items.absent_item_ids(
                user_id, self.seen, blueprint_id=self.options.blueprint_id
            )
            total = await uow.items.count(user_id)
            check_deletion_guard(
                len(absent), total, self.ports.settings.max_delete_share, force=self.options.force
            )
            if absent and not self.options.dry_run:
                await uow.items.remove_many(user_id, absent)
                await uow.commit()
        return len(absent)

    async def _save_progress(self) -> None:
        async with self.ports.uow() as uow:
            current = await uow.operations.get(self.operation.operation_id) or self.operation
            await uow.operations.save(current.with_progress(self.progress))
            await uow.commit()


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

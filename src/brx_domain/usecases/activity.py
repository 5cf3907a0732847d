"""The user's operations as the shop sees them: listed newest first with what each is about
and why it failed, and a failed one retried.

A retry is a new operation (`<root>.retry<n>`, URL-safe like every task id) that runs the
failed one's job again: a fresh task id the queue has never held, and the failed row stays as
it was, pointing to its retry.
The id is derived, not drawn, so two concurrent retries of one failure collide on the
operations table's unique id and only one is queued.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from uuid import UUID

from brx_domain.errors import Conflict, NotFound, SyncInProgress
from brx_domain.ports import SettingsRepository
from brx_domain.sync import (
    OperationStatus,
    OperationType,
    SyncOperation,
    SyncStatus,
    sources_for,
)
from brx_domain.usecases.common import Ports, connected_settings_of, dispatch


@dataclass(frozen=True)
class OperationView:
    """One row of `/operations`: readable fields only (the metadata never leaves whole)."""

    operation_id: str
    operation_type: OperationType
    status: OperationStatus
    attempts: int
    last_error: str | None
    created_at: datetime | None
    completed_at: datetime | None
    item_id: int | None
    blueprint_id: int | None
    retry_of: str | None
    retried_by: str | None

    @classmethod
    def of(cls, operation: SyncOperation) -> OperationView:
        meta = operation.metadata
        args: dict[str, Any] = dict(meta.get("job", {}).get("args") or {})
        return cls(
            operation.operation_id,
            operation.operation_type,
            operation.status,
            int(meta.get("attempts", 0)),
            _last_error(operation),
            operation.created_at,
            operation.completed_at,
            _int_or_none(args.get("item_id")),
            _int_or_none(args.get("blueprint_id")),
            meta.get("retry_of"),
            meta.get("retried_by"),
        )


def _last_error(operation: SyncOperation) -> str | None:
    """The reason a failed operation ended, or the error a pending one is retrying after; a
    completed one has none (an error it recovered from is history)."""
    meta = operation.metadata
    if operation.status is OperationStatus.FAILED:
        return str(meta.get("error") or "failed")
    if operation.status is OperationStatus.PENDING and meta.get("last_error"):
        return str(meta["last_error"])
    return None


def _int_or_none(value: object) -> int | None:
    return int(value) if isinstance(value, int | str) and str(value).isdigit() else None


@dataclass(frozen=True)
class OperationPage:
    items: list[OperationView]
    total: int


async def list_operations(
    ports: Ports,
    user_id: UUID,
    *,
    status: OperationStatus | None = None,
    operation_type: OperationType | None = None,
    limit: int = 100,
    offset: int = 0,
) -> OperationPage:
    """A page of the user's operations (limit and offset were bounded at the edge)."""
    async with ports.uow() as uow:
        found, total = await uow.operations.list(
            user_id, status=status, operation_type=operation_type, limit=limit, offset=offset
        )
    return OperationPage([OperationView.of(op) for op in found], total)


def retry_id(failed: SyncOperation) -> str:
    """`<root>.retry<n>`: the n-th retry of the operation the chain started from."""
    root = str(failed.metadata.get("retry_root") or failed.operation_id)
    return f"{root}.retry{int(failed.metadata.get('retry_number', 0)) + 1}"


async def retry_operation(ports: Ports, user_id: UUID, operation_id: str) -> SyncOperation:
    """Queue a failed operation's job again as a new operation (404 for another user's or an
    unknown one; 409 unless it failed and was not retried yet, or while disconnected).

    The retry inherits the attempt count, so an increment whose last outcome was unknown
    re-reads CardTrader before sending anything (never a double decrement). A bulk sync
    first claims the user's sync slot, as a start does."""
    async with ports.uow() as uow:
        failed = await uow.operations.get(operation_id)
        if failed is None or failed.user_id != user_id:
            raise NotFound(f"operation {operation_id} not found")
        _check_retryable(failed)
        await connected_settings_of(uow, user_id)
        retry = _retry_of(ports, failed)
        if await uow.operations.get(retry.operation_id) is not None:
            raise Conflict(f"operation {operation_id} was already retried")
        if failed.operation_type is OperationType.BULK_SYNC:
            await _claim_sync_slot(ports, uow.settings, user_id)
        await uow.operations.add(retry)  # a concurrent twin fails here, on the unique id
        await uow.operations.save(
            replace(failed, metadata={**failed.metadata, "retried_by": retry.operation_id})
        )
        await uow.commit()
    await dispatch(ports, retry)
    return retry


def _check_retryable(operation: SyncOperation) -> None:
    if operation.status is not OperationStatus.FAILED:
        raise Conflict(
            f"operation {operation.operation_id} is {operation.status.value}; "
            "only a failed operation can be retried"
        )
    if operation.metadata.get("retried_by"):
        raise Conflict(
            f"operation {operation.operation_id} was already retried as "
            f"{operation.metadata['retried_by']}"
        )
    if "job" not in operation.metadata:
        raise Conflict(f"operation {operation.operation_id} records no job to run again")


def _retry_of(ports: Ports, failed: SyncOperation) -> SyncOperation:
    meta = failed.metadata
    kept = {k: meta[k] for k in ("job", "trigger", "attempts") if k in meta}
    return SyncOperation(
        retry_id(failed),
        failed.user_id,
        failed.operation_type,
        created_at=ports.clock.now(),
        metadata={
            **kept,
            "retry_of": failed.operation_id,
            "retry_root": str(meta.get("retry_root") or failed.operation_id),
            "retry_number": int(meta.get("retry_number", 0)) + 1,
        },
    )


async def _claim_sync_slot(ports: Ports, settings: SettingsRepository, user_id: UUID) -> None:
    claimed = await settings.compare_and_set_status(
        user_id,
        sources_for(SyncStatus.INITIAL_SYNC),
        SyncStatus.INITIAL_SYNC,
        now=ports.clock.now(),
        last_error=None,
    )
    if not claimed:
        raise SyncInProgress(f"a bulk sync of user {user_id} is already running")

"""Domain objects to the JSON the API documents (field names exactly as in the seed).

Plain dicts rather than model instances: the inventory page is the hot path, and the response
models in `schemas` check these shapes in the tests. Values are what the app's JSON handler
(orjson) encodes: datetimes may stay datetimes."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from brx_domain.inventory import InventoryItem, LedgerEntry
from brx_domain.sync import OperationStatus, SyncOperation, UserSyncSettings


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def item_json(item: InventoryItem) -> dict[str, Any]:
    """`updated_at` stays a datetime: the app's orjson handler writes it exactly as isoformat()
    would, in C, and that call was half of this function's cost (100 per inventory page)."""
    return {
        "id": item.id,
        "blueprint_id": item.blueprint_id,
        "quantity": item.quantity,
        "price_cents": item.price_cents,
        "properties": item.properties.to_dict(),
        "external_stock_id": item.external_stock_id,
        "description": item.description,
        "user_data_field": item.user_data_field,
        "graded": item.graded,
        "updated_at": item.updated_at,
        "card_name": item.card_name,
        "expansion_name": item.expansion_name,
    }


def status_json(settings: UserSyncSettings) -> dict[str, Any]:
    return {
        "user_id": str(settings.user_id),
        "sync_status": settings.sync_status.value,
        "last_sync_at": _time(settings.last_sync_at),
        "last_error": settings.last_error,
        "connected": settings.connected,
    }


def progress_json(operation: SyncOperation) -> dict[str, Any]:
    return {
        "user_id": str(operation.user_id),
        "operation_id": operation.operation_id,
        "status": operation.status.value,
        **operation.progress.to_dict(),
    }


def ledger_json(entry: LedgerEntry) -> dict[str, Any]:
    return {
        "delta": entry.delta,
        "reason": entry.reason.value,
        "operation_id": entry.operation_id,
        "at": entry.at.isoformat(),
        "quantity_after": entry.quantity_after,
    }


def accepted_json(operation: SyncOperation, user_id: UUID, message: str) -> dict[str, Any]:
    return {
        "status": "accepted",
        "task_id": operation.operation_id,
        "user_id": str(user_id),
        "message": message,
    }


TASK_STATES = {OperationStatus.COMPLETED: "SUCCESS", OperationStatus.FAILED: "FAILURE"}


def task_state(operation: SyncOperation) -> tuple[str, bool, str]:
    """(status, ready, message) in the vocabulary of the /task endpoint (Celery's words, which
    the seed's clients know; the domain says pending / completed / failed and `retrying`)."""
    meta = operation.metadata
    if operation.status in TASK_STATES:
        message = str(meta.get("error") or "Task completed successfully")
        return TASK_STATES[operation.status], True, message
    if meta.get("retrying"):
        return "RETRY", False, f"Retrying after: {meta.get('last_error')}"
    if meta.get("started_at"):
        return "STARTED", False, "Task is currently running"
    return "PENDING", False, "Task is waiting to run"

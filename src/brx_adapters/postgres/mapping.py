"""Explicit translation between table rows and domain objects (no ORM identity map: the
domain's frozen dataclasses stay the only model)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from brx_domain.idempotency import IdempotencyRecord, StoredAnswer
from brx_domain.inventory import InventoryItem, LedgerEntry, Properties, StockReason
from brx_domain.orders import OrderStockRecord, OrderStockState
from brx_domain.ports import WebhookDelivery
from brx_domain.sync import (
    OperationStatus,
    OperationType,
    SyncOperation,
    SyncStatus,
    UserSyncSettings,
)

Row = Mapping[Any, Any]  # a SQLAlchemy RowMapping


def item_from_row(row: Row) -> InventoryItem:
    """Runs 100 times per inventory page: the driver already returns ints, and the decoded
    JSON object is this row's own, so it is wrapped without a defensive copy; the row has
    every field (`InventoryItem.stored`)."""
    return InventoryItem.stored(
        id=row["id"],
        user_id=row["user_id"],
        blueprint_id=row["blueprint_id"],
        quantity=row["quantity"],
        price_cents=row["price_cents"],
        properties=Properties(MappingProxyType(row["properties"] or {})),
        external_stock_id=row["external_stock_id"],
        description=row["description"],
        user_data_field=row["user_data_field"],
        graded=row["graded"],
        updated_at=row["updated_at"],
        created_at=row["created_at"],
        card_name=row["card_name"],
        expansion_name=row["expansion_name"],
    )


def item_values(item: InventoryItem) -> dict[str, Any]:
    """The editable columns; properties are always a JSON object (never NULL), so a sync's
    IS DISTINCT FROM sees no change between 'no properties' and an empty object."""
    return {
        "blueprint_id": item.blueprint_id,
        "quantity": item.quantity,
        "price_cents": item.price_cents,
        "properties": item.properties.to_dict(),
        "external_stock_id": item.external_stock_id,
        "description": item.description,
        "user_data_field": item.user_data_field,
        "graded": item.graded,
    }


def ledger_values(entry: LedgerEntry) -> dict[str, Any]:
    return {
        "user_id": entry.user_id,
        "item_id": entry.item_id,
        "delta": entry.delta,
        "reason": entry.reason.value,
        "operation_id": entry.operation_id,
        "quantity_after": entry.quantity_after,
        "created_at": entry.at,
    }


def ledger_from_row(row: Row) -> LedgerEntry:
    return LedgerEntry(
        user_id=row["user_id"],
        item_id=int(row["item_id"]),
        delta=int(row["delta"]),
        reason=StockReason(row["reason"]),
        operation_id=row["operation_id"],
        at=row["created_at"],
        quantity_after=row["quantity_after"],
    )


def settings_from_row(row: Row) -> UserSyncSettings:
    return UserSyncSettings(
        user_id=row["user_id"],
        cardtrader_token_encrypted=row["cardtrader_token_encrypted"],
        webhook_secret_encrypted=row["webhook_secret"],
        sync_status=SyncStatus(row["sync_status"]),
        last_sync_at=row["last_sync_at"],
        last_error=row["last_error"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        disconnected_at=row["disconnected_at"],
    )


def settings_values(settings: UserSyncSettings) -> dict[str, Any]:
    return {
        "user_id": settings.user_id,
        "cardtrader_token_encrypted": settings.cardtrader_token_encrypted,
        "webhook_secret": settings.webhook_secret_encrypted,
        "sync_status": settings.sync_status.value,
        "last_sync_at": settings.last_sync_at,
        "last_error": settings.last_error,
        "created_at": settings.created_at,
        "updated_at": settings.updated_at,
        "disconnected_at": settings.disconnected_at,
    }


def operation_from_row(row: Row) -> SyncOperation:
    return SyncOperation(
        operation_id=row["operation_id"],
        user_id=row["user_id"],
        operation_type=OperationType(row["operation_type"]),
        status=OperationStatus(row["status"]),
        metadata=dict(row["operation_metadata"] or {}),
        created_at=row["created_at"],
        completed_at=row["completed_at"],
    )


def operation_values(operation: SyncOperation) -> dict[str, Any]:
    return {
        "operation_id": operation.operation_id,
        "user_id": operation.user_id,
        "operation_type": operation.operation_type.value,
        "status": operation.status.value,
        "operation_metadata": dict(operation.metadata),
        "created_at": operation.created_at,
        "completed_at": operation.completed_at,
    }


def idempotency_from_row(row: Row) -> IdempotencyRecord:
    answer = None
    if row["status_code"] is not None:
        answer = StoredAnswer(int(row["status_code"]), dict(row["response"] or {}))
    return IdempotencyRecord(
        user_id=row["user_id"],
        key=row["idempotency_key"],
        fingerprint=row["fingerprint"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        answer=answer,
    )


def delivery_from_row(row: Row) -> WebhookDelivery:
    return WebhookDelivery(
        id=row["delivery_id"],
        user_id=row["user_id"],
        received_at=row["received_at"],
        body=dict(row["body"]),
        mode=row["mode"],
    )


def order_from_row(row: Row) -> OrderStockRecord:
    taken = {int(product): int(units) for product, units in (row["taken"] or {}).items()}
    return OrderStockRecord(int(row["order_id"]), OrderStockState(row["state"]), taken)


def order_values(record: OrderStockRecord) -> dict[str, Any]:
    return {
        "order_id": record.order_id,
        "state": record.state.value,
        "taken": {str(product): units for product, units in record.taken.items()},
    }

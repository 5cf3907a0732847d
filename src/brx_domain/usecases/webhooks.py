"""CardTrader order webhooks: verify and store fast (API), apply exactly once (worker)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

from brx_domain.errors import NotFound, Unauthenticated
from brx_domain.inventory import LedgerEntry, StockReason
from brx_domain.jobs import ApplyWebhook, args_of
from brx_domain.json_input import decode_object
from brx_domain.orders import (
    EffectKind,
    OrderDecision,
    OrderEvent,
    decide,
    parse_event,
    record_after,
)
from brx_domain.ports import UnitOfWork, WebhookDelivery
from brx_domain.sync import OperationStatus, OperationType, SyncOperation, UserSyncSettings
from brx_domain.usecases.common import Ports, dispatch, new_operation
from brx_domain.usecases.operations import run_operation
from brx_domain.webhook_secrets import KnownSecret

REJECTED = "invalid webhook signature"  # one answer for every rejection: nothing to probe


def sign(body: bytes, secret: str) -> str:
    """CardTrader's `Signature`: base64(HMAC-SHA256(raw body, shared_secret as UTF-8))."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def signature_ok(body: bytes, signature: str | None, secret: str) -> bool:
    if not signature:
        return False
    return hmac.compare_digest(sign(body, secret).encode(), signature.strip().encode())


@dataclass(frozen=True)
class Receipt:
    webhook_id: str
    duplicate: bool
    task_id: str | None


async def receive_webhook(
    ports: Ports,
    user_id: UUID,
    body: bytes,
    signature: str | None,
    *,
    request_id: str | None = None,
) -> Receipt:
    """Authenticate, check freshness, store once by delivery id, queue; no stock is touched.
    The write (the delivery and its operation, committed together) is durable before the
    answer. A secret this process remembers (`ports.webhook_secrets`) saves the read of the
    settings: one round trip in all, the write itself guarded by that secret still being the
    stored one and the user connected; otherwise, or when the guard stores nothing (rotated,
    disconnected), the settings are read and the one write made after them."""
    known = ports.webhook_secrets.get(user_id)
    if known is not None and signature_ok(body, signature, known.secret):
        event, raw = _fresh_event(ports, body)
        async with ports.uow() as uow:
            stored = await _store(ports, uow, user_id, event, raw, request_id, known.encrypted)
        if stored is not None:
            return await _queued(ports, event, *stored)
        ports.webhook_secrets.forget(user_id)  # stale: what is stored now decides
    async with ports.uow() as uow:
        known = _secret_of(ports, await uow.settings.get(user_id))
        if known is None or not signature_ok(body, signature, known.secret):
            raise Unauthenticated(REJECTED)
        ports.webhook_secrets.remember(user_id, known)
        event, raw = _fresh_event(ports, body)
        stored = await _store(ports, uow, user_id, event, raw, request_id, None)
    assert stored is not None  # an unguarded write always answers new or duplicate
    return await _queued(ports, event, *stored)


async def _queued(
    ports: Ports, event: OrderEvent, receipt: Receipt, operation: SyncOperation | None
) -> Receipt:
    if operation is not None and not event.is_test:
        await dispatch(ports, operation)
    return receipt


def _fresh_event(ports: Ports, body: bytes) -> tuple[OrderEvent, Mapping[str, Any]]:
    """The event of a body whose signature passed; nothing is stored before this passes."""
    raw = decode_object(body)
    event = parse_event(raw)
    _check_fresh(ports, event)
    return event, raw


def _secret_of(ports: Ports, settings: UserSyncSettings | None) -> KnownSecret | None:
    if settings is None or not settings.connected or not settings.webhook_secret_encrypted:
        return None  # unknown, disconnected or without a secret: the same refusal
    encrypted = settings.webhook_secret_encrypted
    try:
        return KnownSecret(encrypted, ports.cipher.decrypt(encrypted))
    except Exception:  # a secret no configured key can read is as good as none
        return None


def _check_fresh(ports: Ports, event: OrderEvent) -> None:
    now = ports.clock.now()
    oldest = now - timedelta(seconds=ports.settings.webhook_max_age_seconds)
    newest = now + timedelta(seconds=ports.settings.webhook_max_future_seconds)
    if not oldest <= event.time <= newest:
        raise Unauthenticated(REJECTED)


async def _store(
    ports: Ports,
    uow: UnitOfWork,
    user_id: UUID,
    event: OrderEvent,
    raw: Mapping[str, Any],
    request_id: str | None,
    while_secret: str | None,
) -> tuple[Receipt, SyncOperation | None] | None:
    """The delivery and its operation, committed together; a duplicate stores nothing, nor
    does a write guarded by a secret no longer stored (then None)."""
    delivery = WebhookDelivery(event.id, user_id, ports.clock.now(), dict(raw), event.mode)
    operation = new_operation(
        ports,
        user_id,
        OperationType.WEBHOOK,
        ApplyWebhook(event.id),
        request_id=request_id,
    )
    if event.is_test:  # recorded for the seller to see, never applied to live stock
        operation = operation.finished(
            OperationStatus.COMPLETED,
            ports.clock.now(),
            result={"test_mode": True, "effect": "nothing"},
        )
    new = await uow.webhooks.commit_if_new(delivery, operation, while_secret=while_secret)
    if new is None:
        return None
    if not new:
        return Receipt(event.id, True, None), None
    return Receipt(event.id, False, operation.operation_id), operation


async def apply_webhook(ports: Ports, operation_id: str) -> SyncOperation | None:
    """Apply a stored delivery through the order rules, in one transaction with its ledger."""

    async def body(operation: SyncOperation) -> Mapping[str, Any]:
        delivery_id = args_of(operation.metadata, ApplyWebhook).delivery_id
        async with ports.uow() as uow:
            delivery = await uow.webhooks.get(operation.user_id, delivery_id)
            if delivery is None:
                raise NotFound(f"webhook delivery {delivery_id} not found")
            event = parse_event(delivery.body)
            outcome = await apply_order_event(ports, uow, operation, event)
            await uow.commit()
        return outcome

    return await run_operation(ports, operation_id, body)


async def apply_order_event(
    ports: Ports, uow: UnitOfWork, operation: SyncOperation, event: OrderEvent
) -> dict[str, Any]:
    """The stock effect of one event, given what its order already did (idempotent)."""
    user_id = operation.user_id
    record = await uow.orders.lock(user_id, event.object_id)
    decision = decide(event, record)
    taken: dict[int, int] = {}
    unknown: list[int] = []
    entries: list[LedgerEntry] = []
    if decision.kind is EffectKind.TAKE:
        for line in decision.lines:
            change = await uow.items.adjust_by_external_id(
                user_id, str(line.product_id), -line.quantity
            )
            if change is None:
                unknown.append(line.product_id)
                continue
            item, applied = change
            taken[line.product_id] = taken.get(line.product_id, 0) - applied
            entries.append(
                _entry(ports, operation, item.id, applied, StockReason.ORDER, item.quantity)
            )
    elif decision.kind is EffectKind.RESTORE:
        entries = await _restore(ports, uow, operation, record.taken)
    await uow.ledger.add([e for e in entries if e.delta])
    await uow.orders.save(user_id, record_after(record, event.object_id, decision, taken))
    return _outcome(event, decision, taken, unknown)


async def _restore(
    ports: Ports, uow: UnitOfWork, operation: SyncOperation, taken: Mapping[int, int]
) -> list[LedgerEntry]:
    entries = []
    for product_id, quantity in taken.items():
        change = await uow.items.adjust_by_external_id(operation.user_id, str(product_id), quantity)
        if change is not None:
            item, applied = change
            entries.append(
                _entry(ports, operation, item.id, applied, StockReason.ORDER_RESTORE, item.quantity)
            )
    return entries


def _entry(
    ports: Ports,
    operation: SyncOperation,
    item_id: int,
    delta: int,
    reason: StockReason,
    after: int,
) -> LedgerEntry:
    return LedgerEntry(
        operation.user_id, item_id, delta, reason, operation.operation_id, ports.clock.now(), after
    )


def _outcome(
    event: OrderEvent, decision: OrderDecision, taken: Mapping[int, int], unknown: list[int]
) -> dict[str, Any]:
    return {
        "order_id": event.object_id,
        "cause": event.cause,
        "effect": decision.kind.value,
        "reason": decision.reason,
        "taken": {str(k): v for k, v in taken.items()},
        "unknown_products": unknown,
    }

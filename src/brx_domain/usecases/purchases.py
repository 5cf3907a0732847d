"""A shop purchase: stock taken locally (atomic, never oversells), then confirmed with
CardTrader within the request, and what happens when CardTrader says no or cannot say.

Once the take committed the sale stands (its operation is the outbox row of the decrement):
with the queue policy, a database that fails after that point only defers the decrement to
the job, so the answer is still 200 and never a 503 for a sale that was made."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from uuid import UUID

from brx_domain.errors import (
    DependencyUnavailable,
    DomainError,
    InsufficientStock,
    MarketplaceUnavailable,
    NotFound,
    NotListedOnCardTrader,
)
from brx_domain.inventory import LedgerEntry, StockReason, check_purchase
from brx_domain.jobs import PushPurchase
from brx_domain.ports import UnitOfWork
from brx_domain.sync import OperationStatus, OperationType, SyncOperation
from brx_domain.usecases.common import (
    Ports,
    WhenCardTraderDown,
    connected_settings_of,
    dispatch,
    error_text,
    new_operation,
)
from brx_domain.usecases.operations import begin, finish, marketplace_for, note_retry
from brx_domain.usecases.stock_writes import Deadline, Decrement, Shortfall, decrement

# Set on a purchase taken under the refuse policy: it sells only if CardTrader took the units
# for its request. A job that later finds it unsettled (the request could not record its
# refusal: the database failed while it gave the stock back) settles and never sends.
CONFIRMED_ONLY = "sells_only_if_confirmed"


@dataclass(frozen=True)
class Purchase:
    item_id: int
    quantity: int
    remaining: int
    task_id: str
    confirmed: bool  # CardTrader took the units within the request
    queued: bool  # CardTrader's decrement follows through the queue


async def purchase_item(
    ports: Ports, user_id: UUID, item_id: int, quantity: int, *, request_id: str | None = None
) -> Purchase:
    """Take the stock, then decrement CardTrader under the purchase deadline. Gone or short
    there: 409 and nothing sold. No answer in time (a transient error): the configured policy
    decides. Any other refusal (the shop disconnected meanwhile, say) sells nothing either."""
    operation, remaining = await _take(ports, user_id, item_id, quantity, request_id)
    started = operation  # until begin() records the attempt
    try:
        begun = await begin(ports, operation.operation_id)
        assert begun is not None  # just created, nobody else runs it
        started = begun
        market = await marketplace_for(ports, started)
        deadline = Deadline(ports.settings.purchase_timeout_seconds)
        done = await decrement(ports, market, started, deadline, refuse_short=True)
    except Shortfall as short:
        await give_back(ports, started, cardtrader_has=short.available)
        raise NotListedOnCardTrader(
            f"item {item_id}: CardTrader has {short.available} of the {quantity} asked; "
            "nothing was sold and the stock now shows CardTrader's quantity",
            details={"available_on_cardtrader": short.available},
        ) from None
    except DomainError as exc:
        if not exc.transient:  # the queued decrement would fail the same way: nothing is sold
            await give_back(ports, started, cardtrader_has=None, refused=exc)
            raise
        return await _unconfirmed(ports, started, remaining, exc)
    try:
        await finish(
            ports,
            started,
            OperationStatus.COMPLETED,
            result={"cardtrader_quantity": done.product.quantity if done.product else 0},
        )
    except DependencyUnavailable:  # sold on both sides: the job finds the write confirmed
        await dispatch(ports, started)  # and completes the row
    return Purchase(item_id, quantity, remaining, operation.operation_id, True, False)


async def _take(
    ports: Ports, user_id: UUID, item_id: int, quantity: int, request_id: str | None
) -> tuple[SyncOperation, int]:
    """The local half, in one transaction: stock, ledger and the operation (the outbox)."""
    async with ports.uow() as uow:
        item = await uow.items.get(user_id, item_id)
        if item is None:
            raise NotFound(f"item {item_id} not found")
        check_purchase(item, quantity)
        await connected_settings_of(uow, user_id)  # a disconnected shop sells nothing here
        remaining = await uow.items.take(user_id, item_id, quantity)
        if remaining is None:  # a concurrent purchase got there first
            current = await uow.items.get(user_id, item_id)
            raise InsufficientStock(quantity, current.quantity if current else 0)
        operation = new_operation(
            ports,
            user_id,
            OperationType.PURCHASE,
            PushPurchase(
                item_id,
                quantity,
                str(item.external_stock_id),
                item.blueprint_id,
                quantity_before=remaining + quantity,
            ),
            request_id=request_id,
        )
        if ports.settings.purchase_when_down is WhenCardTraderDown.REFUSE:
            operation = replace(operation, metadata={**operation.metadata, CONFIRMED_ONLY: True})
        await uow.operations.add(operation)
        entry = _entry(ports, operation, -quantity, StockReason.PURCHASE, remaining)
        await uow.ledger.add([entry])
        await uow.commit()
    return operation, remaining


async def _unconfirmed(
    ports: Ports, operation: SyncOperation, remaining: int, exc: BaseException
) -> Purchase:
    """CardTrader did not confirm in time: sell and queue the decrement (it is at most once:
    the job settles a lost write before sending anything), or refuse and give the stock back."""
    want = Decrement.of(operation)
    if ports.settings.purchase_when_down is WhenCardTraderDown.QUEUE:
        with contextlib.suppress(DependencyUnavailable):  # only a note: the row is the outbox
            await note_retry(ports, operation.operation_id, exc)
        await dispatch(ports, operation)
        return Purchase(want.item_id, want.quantity, remaining, operation.operation_id, False, True)
    sent = await _may_have_been_sent(ports, operation)
    await give_back(ports, operation, cardtrader_has=None, refused=exc, settle=sent)
    if sent:  # CardTrader may hold the decrement: the job finds out and aligns the stock
        await dispatch(ports, operation)
    raise MarketplaceUnavailable(
        "CardTrader could not confirm the purchase in time; nothing was sold"
    ) from None


async def _may_have_been_sent(ports: Ports, operation: SyncOperation) -> bool:
    async with ports.uow() as uow:
        current = await uow.operations.get(operation.operation_id) or operation
    write = current.metadata.get("write") or {}
    return bool(write) and write.get("state") != "not_landed"


async def give_back(
    ports: Ports,
    operation: SyncOperation,
    *,
    cardtrader_has: int | None,
    refused: BaseException | None = None,
    settle: bool = False,
) -> None:
    """Undo the local take (a `purchase` entry of +n), then, when CardTrader's quantity is
    known, align the item to it less the units other purchases still have in flight (a
    `correction` entry). Ends the operation failed, unless `settle`: then it is marked
    `refused` and left to its job, which settles a lost write (and the job itself gives back a
    refused purchase its request could not, `pushes.push_purchase`)."""
    want = Decrement.of(operation)
    async with ports.uow() as uow:
        entries = []
        back = await _adjust(uow, operation, want.quantity)
        if back is not None:
            entries.append(_entry(ports, operation, back[1], StockReason.PURCHASE, back[0]))
        if cardtrader_has is not None and back is not None:
            target = max(0, cardtrader_has - await _in_flight(uow, operation))
            fixed = await _adjust(uow, operation, target - back[0])
            if fixed is not None and fixed[1]:
                entries.append(_entry(ports, operation, fixed[1], StockReason.CORRECTION, fixed[0]))
        await uow.ledger.add([e for e in entries if e.delta])
        current = await uow.operations.get(operation.operation_id) or operation
        if settle:
            done = replace(current, metadata={**current.metadata, "refused": True})
        else:
            reason = error_text(refused) if refused else "not available on CardTrader"
            done = current.finished(OperationStatus.FAILED, ports.clock.now(), error=reason)
        await uow.operations.save(done)
        await uow.commit()


async def _adjust(uow: UnitOfWork, operation: SyncOperation, delta: int) -> tuple[int, int] | None:
    """(quantity after, delta applied), the row locked until the unit of work ends."""
    product_id = str(Decrement.of(operation).product_id)
    change = await uow.items.adjust_by_external_id(operation.user_id, product_id, delta)
    return None if change is None else (change[0].quantity, change[1])


async def _in_flight(uow: UnitOfWork, operation: SyncOperation) -> int:
    """Units other purchases of this product took locally and have not taken on CardTrader."""
    product_id = str(Decrement.of(operation).product_id)
    since = operation.created_at or datetime.min.replace(tzinfo=UTC)
    others = await uow.operations.on_product(operation.user_id, product_id, since)
    return sum(
        Decrement.of(other).quantity
        for other in others
        if other.operation_id != operation.operation_id and _takes_stock_later(other)
    )


def _takes_stock_later(other: SyncOperation) -> bool:
    if other.status is not OperationStatus.PENDING or other.metadata.get("refused"):
        return False
    if other.operation_type is not OperationType.PURCHASE:
        return False
    return (other.metadata.get("write") or {}).get("state") not in ("confirmed", "landed")


def _entry(
    ports: Ports, operation: SyncOperation, delta: int, reason: StockReason, after: int
) -> LedgerEntry:
    item_id = Decrement.of(operation).item_id
    at = ports.clock.now()
    return LedgerEntry(operation.user_id, item_id, delta, reason, operation.operation_id, at, after)

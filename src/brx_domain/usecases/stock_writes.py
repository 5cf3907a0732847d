"""Decrementing a CardTrader product at most once, for a purchase (inline or queued).

One writer per product at a time (`Ports.locks`), so our own writes never interleave; the write
is recorded in its operation before it is sent, with the quantity read just before; a lost
answer is settled by reading the product again (`brx_domain.writes` decides, counting our later
writes and the orders applied meanwhile). The read before the send is also how "CardTrader has
fewer units than asked" is told before anything is taken there.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any, TypeVar

from brx_domain.errors import (
    MarketplaceNotFound,
    MarketplaceOutcomeUnknown,
    MarketplaceUnavailable,
    WriteUndetermined,
)
from brx_domain.inventory import StockReason
from brx_domain.jobs import PushPurchase, args_of
from brx_domain.ports import Marketplace
from brx_domain.sync import RemoteProduct, SyncOperation
from brx_domain.usecases.common import Ports
from brx_domain.writes import ProductWrite, WriteState, increment_landed, known_changes

T = TypeVar("T")
ORDER_CLOCK_MARGIN = timedelta(seconds=2)  # orders applied this close before a read: uncertain
HISTORY_WINDOW = 500  # ledger entries looked at when settling (newest first)


@dataclass(frozen=True)
class Decrement:
    """What to take from which CardTrader product, for which local item."""

    item_id: int
    product_id: int
    blueprint_id: int
    quantity: int

    @classmethod
    def of(cls, operation: SyncOperation) -> Decrement:
        args = args_of(operation.metadata, PushPurchase)
        return cls(args.item_id, int(args.external_stock_id), args.blueprint_id, args.quantity)


class Shortfall(Exception):
    """CardTrader has fewer units than asked (0 and None: the product is gone)."""

    def __init__(self, available: int) -> None:
        super().__init__(f"CardTrader has {available}")
        self.available = available


class Deadline:
    """An absolute time limit for CardTrader calls (None: the transport's own limits only)."""

    def __init__(self, seconds: float | None) -> None:
        self.at = None if seconds is None else time.monotonic() + seconds

    def left(self, default: float) -> float:
        return default if self.at is None else max(0.0, self.at - time.monotonic())

    async def run(
        self, call: Awaitable[T], late: type[MarketplaceUnavailable] = MarketplaceUnavailable
    ) -> T:
        """`call`'s answer, or `late` (a transient domain error) once the deadline passes: the
        caller tells whether a call cut short may still have acted (MarketplaceOutcomeUnknown)."""
        if self.at is None:
            return await call
        limit = asyncio.timeout(max(0.0, self.left(0)))
        try:
            async with limit:
                return await call
        except TimeoutError as exc:
            if not limit.expired():  # not ours: raised by the call itself
                raise
            raise late("CardTrader did not answer in time") from exc


@dataclass(frozen=True)
class Outcome:
    applied: bool  # CardTrader took the units (now or by an earlier attempt)
    product: RemoteProduct | None  # the product after (None: gone)


async def decrement(
    ports: Ports,
    market: Marketplace,
    operation: SyncOperation,
    deadline: Deadline,
    *,
    refuse_short: bool,
    send: bool = True,
) -> Outcome:
    """Take the operation's units off CardTrader once. An earlier attempt whose answer was
    lost is settled first; `send=False` only settles (a refused purchase).

    Raises Shortfall (nothing sent) when the product is gone, or has fewer units and
    `refuse_short`; transient Marketplace errors when CardTrader cannot say in time."""
    want = Decrement.of(operation)
    key = f"{operation.user_id}:{want.product_id}"
    async with ports.locks.hold(key, deadline.left(ports.settings.write_lock_seconds)):
        write = await _recorded_write(ports, operation)
        if write is not None and write.state is WriteState.SENT:
            landed, observed = await _settle(ports, market, operation, write, deadline)
            if landed is None:
                raise WriteUndetermined(
                    f"CardTrader product {want.product_id}: cannot tell whether a lost "
                    "decrement was applied; it is not sent again"
                )
            if landed or observed is None or not send:
                return Outcome(landed, observed)
        elif write is not None and (write.applied or not send):
            return Outcome(write.applied, await _find(market, want, deadline))
        elif not send:
            return Outcome(False, None)
        return await _send(ports, market, operation, want, deadline, refuse_short=refuse_short)


async def _find(market: Marketplace, want: Decrement, deadline: Deadline) -> RemoteProduct | None:
    return await deadline.run(market.find_product(want.product_id, blueprint_id=want.blueprint_id))


async def _send(
    ports: Ports,
    market: Marketplace,
    operation: SyncOperation,
    want: Decrement,
    deadline: Deadline,
    *,
    refuse_short: bool,
) -> Outcome:
    read_at = ports.clock.now()
    current = await _find(market, want, deadline)  # a timeout here: nothing was sent
    if current is None:
        raise Shortfall(0)
    if refuse_short and current.quantity < want.quantity:
        raise Shortfall(current.quantity)
    write = ProductWrite(str(want.product_id), -want.quantity, current.quantity, read_at)
    await _record(ports, operation, write)
    try:
        after = await deadline.run(
            market.increment_quantity(want.product_id, -want.quantity),
            late=MarketplaceOutcomeUnknown,  # cut short, it may have been applied
        )
    except MarketplaceNotFound:  # gone between the read and the send: nothing was taken
        await _record(ports, operation, write.settled(WriteState.NOT_LANDED))
        raise Shortfall(0) from None
    except MarketplaceOutcomeUnknown as exc:
        if deadline.left(1.0) <= 0:
            raise MarketplaceOutcomeUnknown("CardTrader decrement: answer lost") from exc
        landed, observed = await _settle(ports, market, operation, write, deadline)
        if not landed:  # not applied (or cannot tell): a later attempt settles it again
            raise MarketplaceOutcomeUnknown("CardTrader decrement: answer lost") from exc
        return Outcome(True, observed)
    await _record(ports, operation, write.settled(WriteState.CONFIRMED))
    return Outcome(True, after)


async def _settle(
    ports: Ports,
    market: Marketplace,
    operation: SyncOperation,
    write: ProductWrite,
    deadline: Deadline,
) -> tuple[bool | None, RemoteProduct | None]:
    """Read the product again and decide whether `write` was applied; record the verdict."""
    want = Decrement.of(operation)
    observed = await _find(market, want, deadline)
    async with ports.uow() as uow:
        others = await uow.operations.on_product(
            operation.user_id, write.product_id, write.read_at - ORDER_CLOCK_MARGIN
        )
        history = await uow.ledger.history(operation.user_id, want.item_id, HISTORY_WINDOW, 0)
    later = [
        ProductWrite.from_dict(o.metadata["write"])
        for o in others
        if o.operation_id != operation.operation_id and "write" in o.metadata
    ]
    orders = [
        e.delta
        for e in history
        if e.reason in (StockReason.ORDER, StockReason.ORDER_RESTORE)
        and e.at >= write.read_at - ORDER_CLOCK_MARGIN
    ]
    quantity = observed.quantity if observed is not None else None
    landed = increment_landed(write, quantity, known_changes(write, later, orders))
    if landed is not None:
        state = WriteState.LANDED if landed else WriteState.NOT_LANDED
        await _record(ports, operation, write.settled(state))
    return landed, observed


async def _recorded_write(ports: Ports, operation: SyncOperation) -> ProductWrite | None:
    async with ports.uow() as uow:
        current = await uow.operations.get(operation.operation_id) or operation
    raw = current.metadata.get("write")
    return ProductWrite.from_dict(raw) if raw else None


async def _record(ports: Ports, operation: SyncOperation, write: ProductWrite) -> None:
    """Commit the write's state before anything else happens to it (durable across crashes)."""
    async with ports.uow() as uow:
        current = await uow.operations.get(operation.operation_id) or operation
        metadata: dict[str, Any] = {**current.metadata, "write": write.to_dict()}
        await uow.operations.save(replace(current, metadata=metadata))
        await uow.commit()

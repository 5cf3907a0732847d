"""CardTrader order events turned into stock effects, as pure functions.

Rules (CardTrader's guidance, spec "Webhooks"): an order takes stock once, on the first event
that shows it `paid` and not via CardTrader Zero, or `hub_pending`; the weekly merged Zero `paid`
order never does; a Zero item with `hub_pending_order_id` counts only on that order. What an
order took is restored exactly once when it is canceled or destroyed. Test-mode events do nothing.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from brx_domain.errors import InvalidInput
from brx_domain.limits import ID_TEXT_MAX, INT32_MAX, INT64_MAX

CAUSES = ("order.create", "order.update", "order.destroy")
TAKING_STATES = frozenset({"paid", "hub_pending"})
CANCEL_STATES = frozenset({"canceled", "cancelled"})
_OPAQUE_ID = re.compile(rf"[!-~]{{1,{ID_TEXT_MAX}}}")


@dataclass(frozen=True)
class OrderLine:
    product_id: int
    quantity: int
    blueprint_id: int | None = None
    hub_pending_order_id: int | None = None


@dataclass(frozen=True)
class Order:
    id: int
    state: str
    via_cardtrader_zero: bool
    lines: tuple[OrderLine, ...] = ()


@dataclass(frozen=True)
class OrderEvent:
    """A CardTrader webhook delivery, parsed. `order` is None for `order.destroy`."""

    id: str
    time: datetime
    cause: str
    object_id: int
    mode: str
    order: Order | None

    @property
    def is_test(self) -> bool:
        return self.mode != "live"


class OrderStockState(enum.StrEnum):
    NONE = "none"  # the service has not taken stock for this order
    TAKEN = "taken"  # stock taken; `taken` says how much per product
    RESTORED = "restored"  # taken, then given back
    VOIDED = "voided"  # canceled/destroyed before it ever took stock: never take it later


@dataclass(frozen=True)
class OrderStockRecord:
    """What one order has done to stock; kept so destroy (empty data) can be undone."""

    order_id: int
    state: OrderStockState = OrderStockState.NONE
    taken: Mapping[int, int] = field(default_factory=dict)  # product_id -> units actually taken


class EffectKind(enum.StrEnum):
    NOTHING = "nothing"
    TAKE = "take"
    RESTORE = "restore"
    VOID = "void"


@dataclass(frozen=True)
class OrderDecision:
    """What to do with an event: take `lines`, restore the record's `taken`, or nothing."""

    kind: EffectKind
    lines: tuple[OrderLine, ...] = ()
    reason: str = ""


def decide(event: OrderEvent, record: OrderStockRecord | None) -> OrderDecision:
    """The stock effect of `event`, given what its order already did (pure, total)."""
    state = record.state if record else OrderStockState.NONE
    if event.is_test:
        return OrderDecision(EffectKind.NOTHING, reason="test mode")
    ending = event.cause == "order.destroy" or (
        event.order is not None and event.order.state in CANCEL_STATES
    )
    if ending:
        if state is OrderStockState.TAKEN:
            return OrderDecision(EffectKind.RESTORE, reason="order ended")
        if state is OrderStockState.NONE:
            return OrderDecision(EffectKind.VOID, reason="order ended before taking stock")
        return OrderDecision(EffectKind.NOTHING, reason=f"already {state.value}")
    if state is not OrderStockState.NONE or event.order is None:
        return OrderDecision(EffectKind.NOTHING, reason=f"already {state.value}")
    lines = counted_lines(event.order)
    if not lines:
        return OrderDecision(EffectKind.NOTHING, reason=f"state {event.order.state} takes nothing")
    return OrderDecision(EffectKind.TAKE, lines=lines, reason=f"order {event.order.state}")


def counted_lines(order: Order) -> tuple[OrderLine, ...]:
    """The lines of `order` that take stock under CardTrader's decision table."""
    if order.state not in TAKING_STATES:
        return ()
    if order.state == "paid" and order.via_cardtrader_zero:
        return ()  # the weekly merged Zero order: its sales were taken on hub_pending
    return tuple(
        line
        for line in order.lines
        if line.quantity > 0
        and (line.hub_pending_order_id is None or line.hub_pending_order_id == order.id)
    )


def record_after(
    record: OrderStockRecord | None,
    order_id: int,
    decision: OrderDecision,
    taken: Mapping[int, int] | None = None,
) -> OrderStockRecord:
    """The record once `decision` is carried out; `taken` is what the stock really gave."""
    previous = record or OrderStockRecord(order_id)
    if decision.kind is EffectKind.TAKE:
        return OrderStockRecord(order_id, OrderStockState.TAKEN, dict(taken or {}))
    if decision.kind is EffectKind.RESTORE:
        return OrderStockRecord(order_id, OrderStockState.RESTORED, dict(previous.taken))
    if decision.kind is EffectKind.VOID:
        return OrderStockRecord(order_id, OrderStockState.VOIDED)
    return previous


# --- parsing CardTrader's envelope ------------------------------------------------------------


def parse_event(raw: Mapping[str, Any]) -> OrderEvent:
    """Parse a webhook body; InvalidInput names the first bad field. Ids and quantities are
    bounded by the columns that will hold them (`brx_domain.limits`)."""
    event_id = raw.get("id")
    if not isinstance(event_id, str) or not _OPAQUE_ID.fullmatch(event_id):
        raise InvalidInput("id", f"must be 1..{ID_TEXT_MAX} printable ASCII characters")
    cause = raw.get("cause")
    if cause not in CAUSES:
        raise InvalidInput("cause", f"must be one of {list(CAUSES)}")
    mode = raw.get("mode", "live")
    if mode not in ("live", "test"):
        raise InvalidInput("mode", "must be 'live' or 'test'")
    object_id = _int(raw.get("object_id"), "object_id", 1, INT64_MAX)
    data = raw.get("data")
    if data is not None and not isinstance(data, Mapping):
        raise InvalidInput("data", "must be an object")
    order = None if cause == "order.destroy" or not data else parse_order(data, object_id)
    return OrderEvent(
        event_id, parse_time(raw.get("time")), str(cause), object_id, str(mode), order
    )


def parse_time(value: object) -> datetime:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidInput("time", "must be epoch seconds")
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise InvalidInput("time", "is out of range") from exc


def parse_order(data: Mapping[str, Any], object_id: int) -> Order:
    order_id = _int(data.get("id", object_id), "data.id", 1, INT64_MAX)
    state = data.get("state")
    if not isinstance(state, str):
        raise InvalidInput("data.state", "must be a string")
    items = data.get("order_items")
    if items is None:
        items = []
    if not isinstance(items, list):
        raise InvalidInput("data.order_items", "must be a list")
    lines = tuple(_line(item, i) for i, item in enumerate(items))
    return Order(order_id, state, bool(data.get("via_cardtrader_zero")), lines)


def _line(item: object, index: int) -> OrderLine:
    where = f"data.order_items[{index}]"
    if not isinstance(item, Mapping):
        raise InvalidInput(where, "must be an object")
    hub = item.get("hub_pending_order_id")
    blueprint = item.get("blueprint_id")
    return OrderLine(
        product_id=_int(item.get("product_id"), f"{where}.product_id", 1, INT64_MAX),
        quantity=_int(item.get("quantity"), f"{where}.quantity", 0, INT32_MAX),
        blueprint_id=None
        if blueprint is None
        else _int(blueprint, f"{where}.blueprint_id", 1, INT64_MAX),
        hub_pending_order_id=None
        if hub is None
        else _int(hub, f"{where}.hub_pending_order_id", 1, INT64_MAX),
    )


def _int(value: object, field_name: str, low: int, high: int) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # JSON (and JSON Schema) count 9.0 as an integer
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(field_name, "must be an integer")
    if not low <= value <= high:
        raise InvalidInput(field_name, f"must be between {low} and {high}")
    return value

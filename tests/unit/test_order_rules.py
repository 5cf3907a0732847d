"""CardTrader's order decision table and the webhook envelope parser."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from brx_domain.errors import InvalidInput
from brx_domain.orders import (
    EffectKind,
    Order,
    OrderEvent,
    OrderLine,
    OrderStockRecord,
    OrderStockState,
    counted_lines,
    decide,
    parse_event,
)

LINE = OrderLine(product_id=101, quantity=2)


def _event(order: Order | None, cause: str = "order.create", mode: str = "live") -> OrderEvent:
    return OrderEvent("e1", datetime(2025, 1, 1, tzinfo=UTC), cause, 9, mode, order)


@pytest.mark.parametrize(
    ("state", "zero", "takes"),
    [
        ("paid", False, True),
        ("hub_pending", True, True),
        ("paid", True, False),  # the weekly merged CardTrader Zero order
        ("sent", False, False),
        ("request_for_cancel", False, False),
    ],
)
def test_decision_table(state: str, zero: bool, takes: bool) -> None:
    assert bool(counted_lines(Order(9, state, zero, (LINE,)))) is takes


def test_a_presale_zero_line_counts_only_on_its_hub_pending_order() -> None:
    mine = OrderLine(101, 1, hub_pending_order_id=9)
    elsewhere = OrderLine(102, 1, hub_pending_order_id=8)

    assert counted_lines(Order(9, "hub_pending", True, (mine, elsewhere))) == (mine,)


def test_test_mode_events_never_touch_stock() -> None:
    decision = decide(_event(Order(9, "paid", False, (LINE,)), mode="test"), None)

    assert decision.kind is EffectKind.NOTHING


def test_an_order_takes_once_then_does_nothing() -> None:
    event = _event(Order(9, "paid", False, (LINE,)))
    taken = OrderStockRecord(9, OrderStockState.TAKEN, {101: 2})

    assert decide(event, None).kind is EffectKind.TAKE
    assert decide(event, taken).kind is EffectKind.NOTHING


def test_a_cancel_after_taking_restores_and_a_second_cancel_does_nothing() -> None:
    cancel = _event(Order(9, "canceled", False, (LINE,)), cause="order.update")

    assert decide(cancel, OrderStockRecord(9, OrderStockState.TAKEN)).kind is EffectKind.RESTORE
    assert decide(cancel, OrderStockRecord(9, OrderStockState.RESTORED)).kind is EffectKind.NOTHING


def test_a_destroy_before_taking_voids_the_order_for_good() -> None:
    destroy = _event(None, cause="order.destroy")
    late_create = _event(Order(9, "paid", False, (LINE,)))

    assert decide(destroy, None).kind is EffectKind.VOID
    assert decide(late_create, OrderStockRecord(9, OrderStockState.VOIDED)).kind is (
        EffectKind.NOTHING
    )


def _body(**changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "id": "c352e8d0",
        "time": 1632240962,
        "cause": "order.create",
        "object_id": 733733,
        "mode": "live",
        "data": {"id": 733733, "state": "paid", "order_items": [{"product_id": 1, "quantity": 2}]},
    }
    return {**body, **changes}


def test_a_valid_envelope_parses() -> None:
    event = parse_event(_body())

    assert (event.object_id, event.order and event.order.lines) == (733733, (OrderLine(1, 2),))


def test_a_destroy_envelope_has_no_order() -> None:
    assert parse_event(_body(cause="order.destroy", data={})).order is None


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"id": ""}, "id"),
        ({"cause": "order.explode"}, "cause"),
        ({"mode": "staging"}, "mode"),
        ({"object_id": "733733"}, "object_id"),
        ({"time": "yesterday"}, "time"),
        ({"data": [1]}, "data"),
        ({"data": {"id": 1}}, "data.state"),
        ({"data": {"state": "paid", "order_items": "x"}}, "data.order_items"),
        (
            {"data": {"state": "paid", "order_items": [{"quantity": 1}]}},
            "data.order_items[0].product_id",
        ),
    ],
)
def test_a_bad_envelope_names_the_offending_field(changes: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_event(_body(**changes))

    assert raised.value.field == field

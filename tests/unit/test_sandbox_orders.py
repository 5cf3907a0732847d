"""Simulated buyer orders: stock moves like on CardTrader; the order endpoints' shapes."""

from __future__ import annotations

from typing import Any

from tests.unit.test_sandbox_helpers import Sandbox


def _order(sb: Sandbox, kind: str = "paid", **fields: Any) -> dict[str, Any]:
    answer = sb.control("POST", "/orders", json={"kind": kind, **fields})
    assert answer.status_code == 200, answer.json
    result: dict[str, Any] = answer.json
    return result


def _stock(sb: Sandbox, product_id: int) -> int:
    product = sb.state.sellers[sb.token].inventory.get(product_id)
    return 0 if product is None else product.quantity


def _big_product(sb: Sandbox) -> dict[str, Any]:
    return max(sb.export(), key=lambda p: p["quantity"])


def test_a_paid_order_decrements_the_stock() -> None:
    sb = Sandbox()
    product = _big_product(sb)

    order = _order(sb, product_id=product["id"], quantity=1)["order"]

    assert order["state"] == "paid"
    assert order["via_cardtrader_zero"] is False
    assert _stock(sb, product["id"]) == product["quantity"] - 1


def test_zero_sale_decrements_once_and_the_merged_order_does_not_again() -> None:
    sb = Sandbox()
    product = _big_product(sb)

    hub = _order(sb, "hub_pending", product_id=product["id"], quantity=1)["order"]
    merged = _order(sb, "merge", order_ids=[hub["id"]])

    assert hub["order_items"][0]["hub_pending_order_id"] == hub["id"]
    assert merged["order"]["state"] == "paid"
    assert merged["order"]["via_cardtrader_zero"] is True
    assert merged["order"]["buyer"]["username"] == "CT Connect"
    assert [d["cause"] for d in merged["deliveries"]] == ["order.update", "order.create"]
    assert sb.call("GET", f"/orders/{hub['id']}").json["state"] == "closed"
    assert _stock(sb, product["id"]) == product["quantity"] - 1


def test_cancelling_an_order_restores_the_stock() -> None:
    sb = Sandbox()
    product = _big_product(sb)
    order = _order(sb, product_id=product["id"], quantity=product["quantity"])["order"]

    canceled = _order(sb, "cancel", order_id=order["id"])["order"]

    assert canceled["state"] == "canceled"
    assert canceled["cancelled_at"] is not None
    assert _stock(sb, product["id"]) == product["quantity"]


def test_destroy_sends_an_empty_data_object_and_removes_the_order() -> None:
    sb = Sandbox()
    order = _order(sb)["order"]

    destroyed = _order(sb, "destroy", order_id=order["id"])

    envelope = destroyed["deliveries"][0]["envelope"]
    assert envelope["cause"] == "order.destroy"
    assert envelope["data"] == {}
    assert envelope["object_id"] == order["id"]
    assert sb.call("GET", f"/orders/{order['id']}").status_code == 404


def test_test_mode_leaves_the_stock_alone() -> None:
    sb = Sandbox()
    product = _big_product(sb)

    outcome = _order(sb, product_id=product["id"], quantity=1, test=True)

    assert outcome["deliveries"][0]["envelope"]["mode"] == "test"
    assert _stock(sb, product["id"]) == product["quantity"]


def test_a_missed_webhook_sale_moves_the_stock_and_keeps_the_order_but_sends_nothing() -> None:
    sb = Sandbox()
    product = _big_product(sb)
    unreachable = "http://127.0.0.1:9/never"  # only a delivery attempt would touch it

    outcome = _order(
        sb, product_id=product["id"], quantity=1, send_webhook=False, webhook_url=unreachable
    )

    (delivery,) = outcome["deliveries"]
    assert delivery["url"] is None and delivery["status"] is None
    assert delivery["error"] == "not sent (send_webhook: false)"
    assert delivery["envelope"]["cause"] == "order.create"  # the body a late delivery would send
    assert _stock(sb, product["id"]) == product["quantity"] - 1
    assert sb.call("GET", f"/orders/{outcome['order']['id']}").json["state"] == "paid"


def test_a_missed_webhook_sale_of_the_last_units_removes_the_product() -> None:
    sb = Sandbox()
    product = _big_product(sb)

    _order(sb, product_id=product["id"], quantity=product["quantity"], send_webhook=False)

    assert product["id"] not in {p["id"] for p in sb.export()}
    gone = sb.call("POST", f"/products/{product['id']}/increment", json={"delta_quantity": -1})
    assert gone.status_code == 404


def test_send_webhook_must_be_a_boolean_and_a_refused_sale_changes_nothing() -> None:
    sb = Sandbox()
    product = _big_product(sb)

    answer = sb.control(
        "POST",
        "/orders",
        json={"kind": "paid", "product_id": product["id"], "send_webhook": "no"},
    )

    assert answer.status_code == 422
    assert "send_webhook" in answer.json["errors"]
    assert _stock(sb, product["id"]) == product["quantity"]
    assert sb.call("GET", "/orders").json == []


def test_the_webhook_envelope_has_the_documented_keys() -> None:
    outcome = _order(Sandbox())

    envelope = outcome["deliveries"][0]["envelope"]
    assert set(envelope) == {"id", "time", "cause", "object_class", "object_id", "mode", "data"}
    assert envelope["object_class"] == "Order"
    assert outcome["deliveries"][0]["error"] == "no webhook url configured"


def test_orders_list_is_a_bare_array_filtered_by_state_and_paginated() -> None:
    sb = Sandbox()
    for _ in range(3):
        _order(sb)
    _order(sb, "hub_pending")

    paid = sb.call("GET", "/orders", params={"state": "paid", "limit": 2, "page": 1}).json
    page2 = sb.call("GET", "/orders", params={"state": "paid", "limit": 2, "page": 2}).json
    as_buyer = sb.call("GET", "/orders", params={"order_as": "buyer"}).json

    assert [o["state"] for o in paid + page2] == ["paid"] * 3
    assert paid[0]["id"] > paid[1]["id"]
    assert as_buyer == []


def test_order_limit_outside_1_to_100_is_a_validation_error() -> None:
    answer = Sandbox().call("GET", "/orders", params={"limit": 101})

    assert answer.status_code == 422
    assert answer.json["error_code"] == "validation_error"


def test_an_order_has_the_documented_fields() -> None:
    order = _order(Sandbox())["order"]

    assert {
        "id",
        "code",
        "state",
        "via_cardtrader_zero",
        "order_as",
        "paid_at",
        "sent_at",
        "cancelled_at",
        "seller",
        "buyer",
        "seller_total",
        "order_items",
    } <= set(order)
    item = order["order_items"][0]
    assert {
        "id",
        "product_id",
        "blueprint_id",
        "quantity",
        "name",
        "expansion",
        "properties",
        "seller_price",
        "hub_pending_order_id",
        "user_data_field",
    } <= set(item)
    assert order["seller_total"]["cents"] == item["seller_price"]["cents"] * item["quantity"]

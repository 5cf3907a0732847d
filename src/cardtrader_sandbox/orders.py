"""Simulated buyer orders: they change the seller's stock the way CardTrader does (decrement on
`paid` or `hub_pending`, never again on the merged CardTrader Zero order) and are announced by a
webhook signed with the app's shared secret."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from cardtrader_sandbox.inventory import SellerInventory
from cardtrader_sandbox.operations import SandboxError, not_found
from cardtrader_sandbox.product import Product

SandboxOrder = dict[str, Any]
CT_CONNECT = {"id": 1, "username": "CT Connect"}
_BUYER = {"id": 77120, "username": "sandbox_buyer"}


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{int(epoch * 1000) % 1000:03d}Z"
    )


def sign(body: bytes, shared_secret: str) -> str:
    """CardTrader's `Signature` header: base64(HMAC-SHA256(raw body, secret as UTF-8))."""
    digest = hmac.new(shared_secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def envelope(cause: str, order_id: int, data: SandboxOrder, mode: str, now: float) -> bytes:
    """The raw webhook body (the exact bytes that are signed and sent)."""
    body = {
        "id": str(uuid.uuid4()),
        "time": int(now),
        "cause": cause,
        "object_class": "Order",
        "object_id": order_id,
        "mode": mode,
        "data": data,
    }
    return json.dumps(body, separators=(",", ":")).encode()


@dataclass
class OrderBook:
    """Orders of one seller, plus a snapshot of each sold product so a cancel can restock."""

    seller: dict[str, object]
    orders: dict[int, SandboxOrder] = field(default_factory=dict)
    sold: dict[int, Product] = field(default_factory=dict)

    def get(self, order_id: int) -> SandboxOrder:
        order = self.orders.get(order_id)
        if order is None:
            raise not_found("Order")
        return order


def _item(item_id: int, product: Product, quantity: int, currency: str) -> dict[str, object]:
    return {
        "id": item_id,
        "product_id": product.id,
        "blueprint_id": product.blueprint.id,
        "quantity": quantity,
        "name": product.blueprint.name_en,
        "expansion": product.blueprint.expansion.name_en,
        "properties": {**product.properties, **product.blueprint.read_only},
        "seller_price": {"cents": product.price_cents, "currency": currency},
        "hub_pending_order_id": None,
        "user_data_field": product.user_data_field,
    }


def _order(order_id: int, state: str, zero: bool, book: OrderBook, now: float) -> SandboxOrder:
    return {
        "id": order_id,
        "code": f"{datetime.fromtimestamp(now, UTC):%Y%m%d}{order_id:06x}",
        "state": state,
        "via_cardtrader_zero": zero,
        "order_as": "seller",
        "created_at": iso(now),
        "paid_at": iso(now) if state == "paid" else None,
        "sent_at": None,
        "cancelled_at": None,
        "seller": book.seller,
        "buyer": CT_CONNECT if zero and state == "paid" else _BUYER,
        "seller_total": {"cents": 0, "currency": "EUR"},
        "order_items": [],
    }


def _total(order: SandboxOrder) -> None:
    items = order["order_items"]
    cents = sum(i["seller_price"]["cents"] * i["quantity"] for i in items)
    currency = items[0]["seller_price"]["currency"] if items else "EUR"
    order["seller_total"] = {"cents": cents, "currency": currency}


def sell(
    book: OrderBook,
    inv: SellerInventory,
    sale: tuple[Product, int],
    ids: tuple[int, int],
    zero: bool,
    now: float,
    store: bool = True,
) -> SandboxOrder:
    """A buyer order of `quantity` of `product`: `hub_pending` when via Zero, else `paid`.
    With `store` false (test mode) nothing is kept and the stock does not move."""
    product, quantity = sale
    if quantity < 1 or quantity > product.quantity:
        raise SandboxError(
            422,
            "validation_error",
            "Validation failed",
            {"quantity": [f"must be between 1 and {product.quantity}"]},
        )
    order_id, item_id = ids
    order = _order(order_id, "hub_pending" if zero else "paid", zero, book, now)
    item = _item(item_id, product, quantity, inv.currency)
    if zero:
        item["hub_pending_order_id"] = order_id
    order["order_items"].append(item)
    _total(order)
    if store:
        book.sold[item_id] = replace(product)
        book.orders[order_id] = order
        product.quantity -= quantity
        inv.touched(product.id)
        if product.quantity <= 0:
            inv.remove(product.id)
    return order


def merge_zero(
    book: OrderBook, hub_ids: list[int], order_id: int, now: float
) -> tuple[SandboxOrder, list[SandboxOrder]]:
    """CardTrader Zero's weekly merge: one `paid` order (buyer CT Connect) carrying the items of
    the `hub_pending` orders, which become `closed`. The stock is not touched again."""
    pending = (
        [book.get(i) for i in hub_ids]
        if hub_ids
        else [o for o in book.orders.values() if o["state"] == "hub_pending"]
    )
    if not pending or any(o["state"] != "hub_pending" for o in pending):
        raise SandboxError(
            422,
            "validation_error",
            "Validation failed",
            {"order_ids": ["must name hub_pending orders"]},
        )
    merged = _order(order_id, "paid", True, book, now)
    for small in pending:
        merged["order_items"].extend(dict(i) for i in small["order_items"])
        small["state"] = "closed"
    _total(merged)
    book.orders[order_id] = merged
    return merged, pending


def cancel(book: OrderBook, inv: SellerInventory, order_id: int, now: float) -> SandboxOrder:
    """The order becomes `canceled` (one l; the date is `cancelled_at`) and the stock returns."""
    order = book.get(order_id)
    if order["state"] in ("canceled", "closed"):
        raise SandboxError(
            422,
            "validation_error",
            "Validation failed",
            {"state": [f"cannot cancel a {order['state']} order"]},
        )
    order["state"], order["cancelled_at"] = "canceled", iso(now)
    merged_zero = order["via_cardtrader_zero"] and order["buyer"] == CT_CONNECT
    if not merged_zero:
        for item in order["order_items"]:
            _restock(inv, book.sold[item["id"]], item["quantity"])
    return order


def _restock(inv: SellerInventory, snapshot: Product, quantity: int) -> None:
    product = inv.get(snapshot.id)
    if product is None:
        product = replace(snapshot, quantity=0)
        inv.add(product)
    product.quantity += quantity
    inv.touched(product.id)


def destroy(book: OrderBook, order_id: int) -> SandboxOrder:
    order = book.get(order_id)
    del book.orders[order_id]
    return order

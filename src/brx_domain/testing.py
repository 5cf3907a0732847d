"""Hypothesis strategies for the domain's values. PUBLIC API for other services' tests.

Only this module of `brx_domain` imports hypothesis (import-linter allows exactly this), and only
test code imports this module. Strategies produce valid values unless their name says otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from hypothesis import strategies as st

from brx_domain.inventory import (
    CONDITION_SPELLINGS,
    CONDITIONS,
    EDITABLE_FLAGS,
    LANGUAGE_SPELLINGS,
    LANGUAGES,
    InventoryItem,
    Properties,
)
from brx_domain.orders import Order, OrderLine
from brx_domain.sync import RemoteProduct

T0 = datetime(2025, 1, 1, tzinfo=UTC)

quantities = st.integers(min_value=0, max_value=50)
prices = st.integers(min_value=0, max_value=100_000)
blueprint_ids = st.integers(min_value=1, max_value=400_000)
product_ids = st.integers(min_value=1, max_value=2_000_000_000)
# no NUL and no lone surrogates: no database TEXT column stores them
texts = st.one_of(
    st.none(),
    st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=40),
)
graded = st.one_of(st.none(), st.booleans())
FEW_PRODUCTS = st.integers(1, 6)  # few ids, so orders hit the same products often
ORDER_IDS = st.integers(1, 1000)


@st.composite
def raw_properties(draw: st.DrawFn) -> dict[str, Any]:
    """User input for a properties patch: editable keys in any accepted spelling, plus
    read-only scalars it must keep as they are."""
    raw: dict[str, Any] = {}
    if draw(st.booleans()):
        raw["condition"] = draw(st.sampled_from(sorted(CONDITION_SPELLINGS)))
    if draw(st.booleans()):
        raw["mtg_language"] = draw(st.sampled_from(sorted(LANGUAGE_SPELLINGS)))
    for flag in EDITABLE_FLAGS:
        if draw(st.booleans()):
            raw[flag] = draw(st.booleans())
    if draw(st.booleans()):
        raw["mtg_rarity"] = draw(st.sampled_from(["Common", "Rare", "Mythic"]))
    if draw(st.booleans()):
        raw["collector_number"] = draw(st.from_regex(r"\A[0-9]{1,3}[a-z]?\Z"))
    return raw


def _canonical(raw: dict[str, Any]) -> Properties:
    """`raw_properties()` as the domain stores them: CardTrader's spellings."""
    out = dict(raw)
    if "condition" in out:
        out["condition"] = CONDITION_SPELLINGS[out["condition"]]
    if "mtg_language" in out:
        out["mtg_language"] = LANGUAGE_SPELLINGS[out["mtg_language"]]
    return Properties.trusted(out)


def properties() -> st.SearchStrategy[Properties]:
    """Normalised properties, as the domain stores them."""
    return raw_properties().map(_canonical)


def remote_properties() -> st.SearchStrategy[Properties]:
    """CardTrader's `properties_hash`, trusted as sent."""
    return st.fixed_dictionaries(
        {"condition": st.sampled_from(CONDITIONS), "mtg_language": st.sampled_from(LANGUAGES)},
        optional={"mtg_foil": st.booleans(), "mtg_rarity": st.sampled_from(["Common", "Rare"])},
    ).map(Properties.trusted)


def remote_products(
    ids: st.SearchStrategy[int] = product_ids,
    blueprints: st.SearchStrategy[int] = blueprint_ids,
) -> st.SearchStrategy[RemoteProduct]:
    return st.builds(
        RemoteProduct,
        id=ids,
        blueprint_id=blueprints,
        quantity=st.integers(min_value=1, max_value=50),
        price_cents=prices,
        properties=remote_properties(),
        description=texts,
        user_data_field=texts,
        graded=graded,
    )


def remote_catalogues(max_size: int = 30) -> st.SearchStrategy[list[RemoteProduct]]:
    """A seller's export: distinct product ids over a few blueprints; as on CardTrader, a
    product id always belongs to the same blueprint (here `1 + id % 8`)."""
    return st.lists(
        remote_products(st.integers(1, 200), st.just(0)).map(
            lambda p: replace(p, blueprint_id=1 + p.id % 8)
        ),
        max_size=max_size,
        unique_by=lambda p: p.id,
    )


def inventory_items(
    user_id: UUID, *, listed: bool | None = None
) -> st.SearchStrategy[InventoryItem]:
    """Items of `user_id` (id 0: a repository assigns the real one). `listed` forces a
    CardTrader id on (True) or off (False)."""
    external = {
        True: product_ids.map(str),
        False: st.none(),
        None: st.one_of(st.none(), product_ids.map(str)),
    }[listed]
    return st.builds(
        InventoryItem,
        id=st.just(0),
        user_id=st.just(user_id),
        blueprint_id=blueprint_ids,
        quantity=quantities,
        price_cents=prices,
        properties=properties(),
        external_stock_id=external,
        description=texts,
        user_data_field=texts,
        graded=graded,
    )


# --- orders and webhook events ----------------------------------------------------------------


def order_lines(product_ids: st.SearchStrategy[int]) -> st.SearchStrategy[OrderLine]:
    return st.builds(OrderLine, product_id=product_ids, quantity=st.integers(1, 5))


@st.composite
def orders(
    draw: st.DrawFn,
    product_ids: st.SearchStrategy[int] = FEW_PRODUCTS,
    order_ids: st.SearchStrategy[int] = ORDER_IDS,
) -> Order:
    """A live order in a taking state: plain `paid`, or a CardTrader Zero `hub_pending`
    (sometimes with pre-sale lines pointing at another order's id), or a merged Zero `paid`."""
    order_id = draw(order_ids)
    kind = draw(st.sampled_from(["paid", "hub_pending", "zero_paid"]))
    lines = draw(st.lists(order_lines(product_ids), min_size=1, max_size=4))
    if kind == "hub_pending" and draw(st.booleans()):
        hub = draw(st.sampled_from([order_id, order_id + 1]))
        lines = [OrderLine(ln.product_id, ln.quantity, None, hub) for ln in lines]
    state = "hub_pending" if kind == "hub_pending" else "paid"
    return Order(order_id, state, kind != "paid", tuple(lines))


def order_body(order: Order) -> dict[str, Any]:
    """CardTrader's JSON for an order (the webhook's `data`)."""
    return {
        "id": order.id,
        "state": order.state,
        "via_cardtrader_zero": order.via_cardtrader_zero,
        "order_items": [
            {
                "product_id": line.product_id,
                "quantity": line.quantity,
                "blueprint_id": line.blueprint_id,
                "hub_pending_order_id": line.hub_pending_order_id,
            }
            for line in order.lines
        ],
    }


def event_body(
    event_id: str, cause: str, order: Order, *, mode: str = "live", time: datetime = T0
) -> dict[str, Any]:
    """A webhook envelope; `order.destroy` carries empty `data`, as CardTrader sends it."""
    data = {} if cause == "order.destroy" else order_body(order)
    return {
        "id": event_id,
        "time": int(time.timestamp()),
        "cause": cause,
        "object_class": "Order",
        "object_id": order.id,
        "mode": mode,
        "data": data,
    }


@dataclass(frozen=True)
class Delivery:
    """One webhook delivery in a generated history: redeliveries reuse `event_id`."""

    event_id: str
    cause: str
    order: Order
    mode: str = "live"

    def body(self, time: datetime = T0) -> dict[str, Any]:
        return event_body(self.event_id, self.cause, self.order, mode=self.mode, time=time)


@st.composite
def order_histories(
    draw: st.DrawFn,
    product_ids: st.SearchStrategy[int] = FEW_PRODUCTS,
    max_orders: int = 4,
) -> list[Delivery]:
    """Deliveries for a few orders (create/update, cancel or destroy, test-mode noise), shuffled
    and with redeliveries: what CardTrader may really send, in any order."""
    found = draw(
        st.lists(orders(product_ids), min_size=1, max_size=max_orders, unique_by=lambda o: o.id)
    )
    deliveries: list[Delivery] = []
    for order in found:
        n = order.id
        deliveries.append(Delivery(f"{n}-take", draw(_taking_causes), order))
        if draw(st.booleans()):
            ending = draw(st.sampled_from(["order.destroy", "order.update"]))
            ended = Order(order.id, "canceled", order.via_cardtrader_zero, order.lines)
            deliveries.append(Delivery(f"{n}-end", ending, ended))
        if draw(st.booleans()):
            deliveries.append(Delivery(f"{n}-test", "order.create", order, mode="test"))
    redelivered = draw(st.lists(st.sampled_from(deliveries), max_size=4))
    return draw(st.permutations(deliveries + redelivered))


_taking_causes = st.sampled_from(["order.create", "order.update"])


# --- operations for stateful tests ------------------------------------------------------------


@dataclass(frozen=True)
class Purchase:
    slot: int  # index into the test's items
    quantity: int


@dataclass(frozen=True)
class Edit:
    slot: int
    quantity: int


@dataclass(frozen=True)
class Webhook:
    delivery: Delivery


StockOperation = Purchase | Edit | Webhook


@st.composite
def stock_operations(
    draw: st.DrawFn, slots: int, product_ids: st.SearchStrategy[int] = FEW_PRODUCTS
) -> list[StockOperation]:
    """Shop purchases and edits over `slots` items interleaved with one order history
    (purchases may ask for more than is in stock: the rules must refuse them)."""
    slot = st.integers(0, slots - 1)
    shop: list[StockOperation] = draw(
        st.lists(
            st.one_of(
                st.builds(Purchase, slot, st.integers(1, 8)), st.builds(Edit, slot, quantities)
            ),
            max_size=15,
        )
    )
    events: list[StockOperation] = [Webhook(d) for d in draw(order_histories(product_ids))]
    merged: list[StockOperation] = []
    while shop or events:
        source = events if events and (not shop or draw(st.booleans())) else shop
        merged.append(source.pop(0))
    return merged


__all__ = [
    "T0",
    "Delivery",
    "Edit",
    "Purchase",
    "StockOperation",
    "Webhook",
    "event_body",
    "inventory_items",
    "order_body",
    "order_histories",
    "order_lines",
    "orders",
    "properties",
    "raw_properties",
    "remote_catalogues",
    "remote_products",
    "remote_properties",
    "stock_operations",
]

"""Stock properties over the real use cases and the in-memory adapters, for all inputs."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Coroutine
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from brx_domain.errors import InsufficientStock, NotListedOnCardTrader
from brx_domain.inventory import ItemPatch
from brx_domain.orders import Order
from brx_domain.sync import RemoteProduct
from brx_domain.testing import Delivery, order_histories, orders, quantities
from brx_domain.usecases.inventory import update_item
from brx_domain.usecases.purchases import purchase_item
from brx_domain.usecases.webhooks import receive_webhook, sign
from tests.unit.world import World

PRODUCT_IDS = range(1, 7)  # the products order histories draw from (FEW_PRODUCTS)


def _products(stock: list[int]) -> list[RemoteProduct]:
    return [RemoteProduct(pid, 16, q, 100) for pid, q in zip(PRODUCT_IDS, stock, strict=True)]


async def _world_with(stock: list[int]) -> World:
    world = World()
    await world.register()
    products = _products(stock)
    world.account.products.update({p.id: p for p in products})
    await world.seed(*products)
    return world


async def _deliver(world: World, delivery: Delivery) -> None:
    body = json.dumps(delivery.body(world.clock.now())).encode()
    await receive_webhook(world.ports, world.user_id, body, sign(body, world.account.shared_secret))
    await world.run_jobs()


def _ledger_total(world: World, item_id: int) -> int:
    return sum(e.delta for e in world.store.ledger_of(world.user_id, item_id))


stocks = st.lists(quantities, min_size=6, max_size=6)


class StockMachine(RuleBasedStateMachine):
    """Purchases, edits, order events and pushes in any order: stock never goes negative and
    the ledger explains every quantity."""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()

    def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return self.loop.run_until_complete(coro)

    def teardown(self) -> None:
        self.loop.close()

    @initialize(stock=stocks)
    def open_shop(self, stock: list[int]) -> None:
        self.world: World = self.run(_world_with(stock))
        self.ids = [item.id for item in self.world.items()]

    @rule(slot=st.integers(0, 5), quantity=st.integers(1, 8))
    def purchase(self, slot: int, quantity: int) -> None:
        with contextlib.suppress(InsufficientStock, NotListedOnCardTrader):
            self.run(purchase_item(self.world.ports, self.world.user_id, self.ids[slot], quantity))

    @rule(slot=st.integers(0, 5), quantity=quantities)
    def edit(self, slot: int, quantity: int) -> None:
        patch = ItemPatch(quantity=quantity)
        self.run(update_item(self.world.ports, self.world.user_id, self.ids[slot], patch))

    @rule(delivery=order_histories().flatmap(st.sampled_from))
    def order_event(self, delivery: Delivery) -> None:
        self.run(_deliver(self.world, delivery))

    @rule()
    def worker_runs(self) -> None:
        self.run(self.world.run_jobs())

    @invariant()
    def stock_is_never_negative(self) -> None:
        if hasattr(self, "world"):
            assert all(item.quantity >= 0 for item in self.world.items())

    @invariant()
    def the_ledger_explains_every_quantity(self) -> None:
        if hasattr(self, "world"):
            for item in self.world.items():
                assert _ledger_total(self.world, item.id) == item.quantity


StockMachine.TestCase.settings = settings(max_examples=100, stateful_step_count=50)  # defaults
TestStockMachine = StockMachine.TestCase


@given(stock=stocks, history=order_histories())
async def test_delivering_every_event_twice_equals_delivering_it_once(
    stock: list[int], history: list[Delivery]
) -> None:
    once, twice = await _world_with(stock), await _world_with(stock)

    for delivery in history:
        await _deliver(once, delivery)
        await _deliver(twice, delivery)
        await _deliver(twice, delivery)

    assert once.quantities() == twice.quantities()


@st.composite
def ended_histories(draw: st.DrawFn) -> list[Delivery]:
    """Orders that each take and then end (cancel or destroy), delivered in any order, with
    redeliveries."""
    found: list[Order] = draw(st.lists(orders(), min_size=1, max_size=4, unique_by=lambda o: o.id))
    deliveries = []
    for order in found:
        cause = draw(st.sampled_from(["order.create", "order.update"]))
        ending = draw(st.sampled_from(["order.destroy", "order.update"]))
        ended = Order(order.id, "canceled", order.via_cardtrader_zero, order.lines)
        deliveries += [Delivery(f"{order.id}-take", cause, order)]
        deliveries += [Delivery(f"{order.id}-end", ending, ended)]
    duplicates = draw(st.lists(st.sampled_from(deliveries), max_size=4))
    return draw(st.permutations(deliveries + duplicates))


@given(stock=stocks, history=ended_histories())
async def test_orders_that_end_restore_exactly_what_they_took_in_any_order(
    stock: list[int], history: list[Delivery]
) -> None:
    world = await _world_with(stock)
    before = world.quantities()

    for delivery in history:
        await _deliver(world, delivery)

    assert world.quantities() == before


@given(stock=stocks, order=orders())
async def test_an_order_takes_stock_at_most_once_and_never_below_zero(
    stock: list[int], order: Order
) -> None:
    world = await _world_with(stock)
    before = world.quantities()

    await _deliver(world, Delivery("a", "order.create", order))
    after_create = world.quantities()
    await _deliver(world, Delivery("b", "order.update", order))

    assert world.quantities() == after_create
    assert all(0 <= after_create[k] <= before[k] for k in before)

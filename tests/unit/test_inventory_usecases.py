"""purchase_item, update_item, delete_item and the outbox, over the in-memory adapters."""

from __future__ import annotations

import asyncio

import pytest

from brx_domain.errors import (
    InsufficientStock,
    MarketplaceUnavailable,
    NotFound,
    NotListedOnCardTrader,
)
from brx_domain.inventory import InventoryItem, ItemPatch, Properties, StockReason
from brx_domain.sync import OperationStatus, RemoteProduct
from brx_domain.usecases.common import requeue_pending
from brx_domain.usecases.inventory import (
    delete_item,
    item_history,
    list_inventory,
    update_item,
)
from brx_domain.usecases.purchases import purchase_item
from tests.unit.world import World

PROPS = Properties.trusted({"condition": "Near Mint", "mtg_language": "it", "mtg_rarity": "R"})


@pytest.fixture
async def world() -> World:
    world = World()
    await world.register()
    return world


async def _listed(world: World, quantity: int = 5) -> InventoryItem:
    product = world.account.add_product(16, quantity, 100, PROPS)
    (item,) = await world.seed(product)
    return item


async def _unlisted(world: World) -> InventoryItem:
    async with world.ports.uow() as uow:
        item = await uow.items.add(InventoryItem(0, world.user_id, 16, 5, 100))
        await uow.commit()
    return item


async def test_a_purchase_takes_stock_and_is_confirmed_with_cardtrader_in_the_call(
    world: World,
) -> None:
    item = await _listed(world)

    purchase = await purchase_item(world.ports, world.user_id, item.id, 2)

    assert (purchase.quantity, purchase.remaining) == (2, 3)
    assert (purchase.confirmed, purchase.queued) == (True, False)
    assert world.quantities() == {item.external_stock_id: 3}
    assert world.account.products[int(str(item.external_stock_id))].quantity == 3
    assert world.store.ledger_of(world.user_id, item.id)[-1].reason is StockReason.PURCHASE
    assert world.operation(purchase.task_id).status is OperationStatus.COMPLETED
    assert world.queue.enqueued == []


async def test_buying_more_than_in_stock_is_refused_and_changes_nothing(world: World) -> None:
    item = await _listed(world, quantity=1)

    with pytest.raises(InsufficientStock) as raised:
        await purchase_item(world.ports, world.user_id, item.id, 2)

    assert raised.value.details["field"] == "purchaseQuantity"
    assert world.quantities() == {item.external_stock_id: 1}
    assert world.queue.enqueued == []


async def test_buying_an_unknown_item_is_not_found(world: World) -> None:
    with pytest.raises(NotFound, match="item 404 not found"):
        await purchase_item(world.ports, world.user_id, 404, 1)


async def test_buying_another_users_item_is_not_found(world: World) -> None:
    item = await _listed(world)
    stranger = World(store=world.store)

    with pytest.raises(NotFound):
        await purchase_item(stranger.ports, stranger.user_id, item.id, 1)


async def test_buying_an_item_not_listed_on_cardtrader_is_a_conflict(world: World) -> None:
    item = await _unlisted(world)

    with pytest.raises(NotListedOnCardTrader):
        await purchase_item(world.ports, world.user_id, item.id, 1)


async def test_concurrent_purchases_never_oversell(world: World) -> None:
    item = await _listed(world, quantity=10)

    async def buy() -> bool:
        try:
            await purchase_item(world.ports, world.user_id, item.id, 3)
        except InsufficientStock:
            return False
        return True

    results = await asyncio.gather(*[buy() for _ in range(10)])

    assert results.count(True) == 3
    assert world.quantities() == {item.external_stock_id: 1}


async def test_an_edit_merges_properties_key_by_key_and_queues_a_push(world: World) -> None:
    item = await _listed(world)
    patch = ItemPatch(
        price_cents=250, properties=Properties.trusted({"condition": "Slightly Played"})
    )

    change = await update_item(world.ports, world.user_id, item.id, patch)

    (stored,) = world.items()
    assert stored.properties.to_dict() == {
        "condition": "Slightly Played",
        "mtg_language": "it",
        "mtg_rarity": "R",
    }
    assert stored.price_cents == 250
    assert change.queued and world.queue.enqueued[-1].job == "push_update"


async def test_an_edit_of_quantity_is_in_the_ledger(world: World) -> None:
    item = await _listed(world, quantity=5)

    await update_item(world.ports, world.user_id, item.id, ItemPatch(quantity=8))
    history = await item_history(world.ports, world.user_id, item.id, 10, 0)

    assert [(e.delta, e.reason) for e in history] == [(3, StockReason.EDIT), (5, StockReason.SYNC)]


async def test_an_edit_of_an_unlisted_item_queues_nothing(world: World) -> None:
    item = await _unlisted(world)

    change = await update_item(world.ports, world.user_id, item.id, ItemPatch(price_cents=1))

    assert not change.queued and world.queue.enqueued == []


async def test_editing_an_unknown_item_is_not_found(world: World) -> None:
    with pytest.raises(NotFound):
        await update_item(world.ports, world.user_id, 404, ItemPatch(price_cents=1))


async def test_a_delete_removes_the_item_and_queues_the_cardtrader_delete(world: World) -> None:
    item = await _listed(world)

    change = await delete_item(world.ports, world.user_id, item.id)
    await world.run_jobs()

    assert world.items() == []
    assert change.task_id is not None
    assert world.result(change.task_id) == {
        "external_stock_id": item.external_stock_id,
        "already_gone": False,
    }
    assert world.account.products == {}


async def test_deleting_an_unknown_item_is_not_found(world: World) -> None:
    with pytest.raises(NotFound):
        await delete_item(world.ports, world.user_id, 404)


async def test_a_failed_enqueue_leaves_a_pending_operation_that_requeue_sends(
    world: World,
) -> None:
    item = await _listed(world)
    world.queue.fail_next()
    world.account.fail_next(MarketplaceUnavailable("503"), method="find_product")

    purchase = await purchase_item(world.ports, world.user_id, item.id, 1)
    assert world.queue.enqueued == [] and purchase.queued
    assert world.operation(purchase.task_id).status is OperationStatus.PENDING
    world.clock.advance(minutes=5)

    sent = await requeue_pending(world.ports)
    await world.run_jobs()

    assert sent == 1
    assert world.operation(purchase.task_id).status is OperationStatus.COMPLETED
    assert world.account.products[int(str(item.external_stock_id))].quantity == 4


async def test_requeue_leaves_recent_operations_alone(world: World) -> None:
    item = await _listed(world)
    world.queue.fail_next()
    world.account.fail_next(MarketplaceUnavailable("503"), method="find_product")
    await purchase_item(world.ports, world.user_id, item.id, 1)

    assert await requeue_pending(world.ports, older_than_seconds=60) == 0


async def test_listing_pages_in_a_stable_order(world: World) -> None:
    await world.seed(*[RemoteProduct(n, 16, 1, 1) for n in range(1, 6)])

    first = await list_inventory(world.ports, world.user_id, 2, 0)
    rest = await list_inventory(world.ports, world.user_id, 10, 2)

    assert [i.external_stock_id for i in first.items + rest.items] == ["1", "2", "3", "4", "5"]
    assert first.total == 5

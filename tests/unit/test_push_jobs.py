"""The queued pushes to CardTrader: update, delete and purchase (at-most-once)."""

from __future__ import annotations

import pytest

from brx_app.http.present import task_state
from brx_domain.errors import MarketplaceOutcomeUnknown, MarketplaceUnavailable
from brx_domain.inventory import InventoryItem, ItemPatch
from brx_domain.sync import OperationStatus
from brx_domain.usecases.inventory import delete_item, update_item
from brx_domain.usecases.purchases import Purchase, purchase_item
from tests.unit.world import World


@pytest.fixture
async def world() -> World:
    world = World()
    await world.register()
    return world


async def _listed(world: World, quantity: int = 5) -> InventoryItem:
    (item,) = await world.seed(world.account.add_product(16, quantity, 100))
    return item


def _remote_quantity(world: World, item: InventoryItem) -> int | None:
    product = world.account.products.get(int(str(item.external_stock_id)))
    return product.quantity if product else None


async def test_push_update_sends_the_items_current_state(world: World) -> None:
    item = await _listed(world)

    change = await update_item(world.ports, world.user_id, item.id, ItemPatch(quantity=9))
    await world.run_jobs()

    assert _remote_quantity(world, item) == 9
    assert change.task_id is not None
    assert task_state(world.operation(change.task_id))[0] == "SUCCESS"


async def test_push_update_retries_while_cardtrader_is_down_then_succeeds(world: World) -> None:
    item = await _listed(world)
    world.account.fail_next(MarketplaceUnavailable("503"))
    change = await update_item(world.ports, world.user_id, item.id, ItemPatch(quantity=2))
    assert change.task_id is not None

    with pytest.raises(MarketplaceUnavailable):
        await world.run_jobs()
    assert task_state(world.operation(change.task_id))[0] == "RETRY"
    world.queue.pending.append(world.queue.enqueued[-1])  # the worker retries the job
    await world.run_jobs()

    assert _remote_quantity(world, item) == 2
    assert world.operation(change.task_id).status is OperationStatus.COMPLETED


async def test_push_delete_of_a_product_already_gone_completes(world: World) -> None:
    item = await _listed(world)
    world.account.products.clear()

    change = await delete_item(world.ports, world.user_id, item.id)
    await world.run_jobs()

    assert change.task_id is not None
    assert world.result(change.task_id)["already_gone"] is True


async def _queued_purchase(world: World, item: InventoryItem, quantity: int) -> Purchase:
    """A purchase CardTrader could not confirm in the request (down): sold and queued."""
    world.account.fail_next(MarketplaceUnavailable("503"), method="find_product")
    purchase = await purchase_item(world.ports, world.user_id, item.id, quantity)
    assert (purchase.confirmed, purchase.queued) == (False, True)
    return purchase


async def test_a_queued_purchase_decrements_cardtrader_once(world: World) -> None:
    item = await _listed(world, quantity=5)

    await _queued_purchase(world, item, 2)
    await world.run_jobs()

    assert _remote_quantity(world, item) == 3
    assert len(world.account.method_calls("increment_quantity")) == 1


async def test_a_queued_purchase_whose_answer_was_lost_is_not_sent_again(world: World) -> None:
    item = await _listed(world, quantity=5)
    world.account.fail_next(
        MarketplaceOutcomeUnknown("cut"), applied=True, method="increment_quantity"
    )
    world.account.fail_next(MarketplaceUnavailable("503"), method="find_product", skip=1)
    purchase = await purchase_item(world.ports, world.user_id, item.id, 2)
    assert purchase.queued  # the read before the send worked, the settling read did not

    await world.run_jobs()

    assert len(world.account.method_calls("increment_quantity")) == 1
    assert _remote_quantity(world, item) == 3
    assert world.operation(purchase.task_id).status is OperationStatus.COMPLETED


async def test_a_queued_purchase_corrects_local_stock_when_cardtrader_no_longer_has_it(
    world: World,
) -> None:
    item = await _listed(world, quantity=5)
    purchase = await _queued_purchase(world, item, 2)
    world.account.products.clear()  # sold out on CardTrader meanwhile

    await world.run_jobs()

    assert world.quantities() == {item.external_stock_id: 0}
    assert world.result(purchase.task_id)["corrected"] is True
    ledger = world.store.ledger_of(world.user_id, item.id)
    assert sum(e.delta for e in ledger) == 0


async def test_a_queued_purchase_of_the_last_units_lets_cardtrader_delete_the_product(
    world: World,
) -> None:
    item = await _listed(world, quantity=2)

    await _queued_purchase(world, item, 2)
    await world.run_jobs()

    assert _remote_quantity(world, item) is None
    assert world.quantities() == {item.external_stock_id: 0}


async def test_a_finished_job_delivered_again_does_nothing(world: World) -> None:
    item = await _listed(world, quantity=5)
    await _queued_purchase(world, item, 1)
    await world.run_jobs()

    world.queue.pending.append(world.queue.enqueued[-1])  # at-least-once delivery
    results = await world.run_jobs()

    assert results == [None]
    assert _remote_quantity(world, item) == 4

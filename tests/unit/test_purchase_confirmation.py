"""A purchase is confirmed with CardTrader inside the call: gone or short there is a 409 with
nothing sold and the stock corrected; CardTrader down follows the configured policy."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace
from typing import cast

import pytest

from brx_domain.errors import (
    DependencyUnavailable,
    InsufficientStock,
    MarketplaceOutcomeUnknown,
    MarketplaceUnavailable,
    MarketplaceValidation,
    NotListedOnCardTrader,
)
from brx_domain.inventory import InventoryItem, StockReason
from brx_domain.ports import UnitOfWork, UnitOfWorkFactory
from brx_domain.sync import OperationStatus, RemoteProduct
from brx_domain.usecases.common import WhenCardTraderDown, requeue_pending
from brx_domain.usecases.purchases import purchase_item
from brx_domain.usecases.stock_writes import Deadline
from tests.unit.world import World


@pytest.fixture
async def world() -> World:
    world = World()
    await world.register()
    return world


async def _listed(world: World, quantity: int) -> InventoryItem:
    (item,) = await world.seed(world.account.add_product(16, quantity, 100))
    return item


def _remote(world: World, item: InventoryItem) -> int | None:
    product = world.account.products.get(int(str(item.external_stock_id)))
    return product.quantity if product else None


def _history(world: World, item: InventoryItem) -> list[tuple[StockReason, int]]:
    return [(e.reason, e.delta) for e in world.store.ledger_of(world.user_id, item.id)]


def _assert_nothing_sold(world: World, item: InventoryItem, quantity: int) -> None:
    """The stock is back here and untouched on CardTrader, nothing is queued, and the purchase's
    operation ended failed."""
    assert world.quantities() == {item.external_stock_id: quantity}
    assert sum(delta for _, delta in _history(world, item)) == quantity
    assert _remote(world, item) == quantity and world.queue.enqueued == []
    (operation,) = [o for o in world.store.operations.values() if o.metadata.get("error")]
    assert operation.status is OperationStatus.FAILED


def _refusing(world: World) -> None:
    settings = replace(world.ports.settings, purchase_when_down=WhenCardTraderDown.REFUSE)
    world.ports = replace(world.ports, settings=settings)


async def test_cardtrader_gone_is_a_conflict_nothing_sold_and_the_item_set_to_zero(
    world: World,
) -> None:
    item = await _listed(world, 5)
    world.account.products.clear()  # sold on CardTrader, its webhook lost

    with pytest.raises(NotListedOnCardTrader) as raised:
        await purchase_item(world.ports, world.user_id, item.id, 2)

    assert raised.value.details == {"available_on_cardtrader": 0}
    assert world.quantities() == {item.external_stock_id: 0}
    assert _history(world, item)[1:] == [
        (StockReason.PURCHASE, -2),
        (StockReason.PURCHASE, 2),  # nothing sold
        (StockReason.CORRECTION, -5),
    ]
    assert world.account.method_calls("increment_quantity") == []
    assert world.queue.enqueued == []


async def test_cardtrader_short_is_a_conflict_and_the_item_takes_cardtraders_quantity(
    world: World,
) -> None:
    item = await _listed(world, 5)
    world.account.sell(int(str(item.external_stock_id)), 4)  # 1 left there

    with pytest.raises(NotListedOnCardTrader):
        await purchase_item(world.ports, world.user_id, item.id, 2)

    assert world.quantities() == {item.external_stock_id: 1}
    assert sum(delta for _, delta in _history(world, item)) == 1
    assert _remote(world, item) == 1
    assert world.account.method_calls("increment_quantity") == []


async def test_cardtrader_down_with_the_queue_policy_sells_and_queues_the_decrement(
    world: World,
) -> None:
    item = await _listed(world, 5)
    world.account.fail_next(MarketplaceUnavailable("503"), method="find_product")

    purchase = await purchase_item(world.ports, world.user_id, item.id, 2)

    assert (purchase.confirmed, purchase.queued, purchase.remaining) == (False, True, 3)
    assert [j.job_id for j in world.queue.enqueued] == [purchase.task_id]
    await world.run_jobs()
    assert _remote(world, item) == 3


async def test_cardtrader_down_with_the_refuse_policy_gives_the_stock_back(
    world: World,
) -> None:
    _refusing(world)
    item = await _listed(world, 5)
    world.account.fail_next(MarketplaceUnavailable("503"), method="find_product")

    with pytest.raises(MarketplaceUnavailable):
        await purchase_item(world.ports, world.user_id, item.id, 2)

    _assert_nothing_sold(world, item, 5)


async def _refused_after_a_lost_answer_that_landed(world: World) -> InventoryItem:
    """Refuse policy; the increment lands on CardTrader but its answer is lost, and settling it
    in the call finds CardTrader down (503)."""
    _refusing(world)
    item = await _listed(world, 5)
    lost = MarketplaceOutcomeUnknown("cut")
    world.account.fail_next(lost, applied=True, method="increment_quantity")
    world.account.fail_next(MarketplaceUnavailable("503"), method="find_product", skip=1)
    return item


async def test_refused_after_a_lost_answer_that_did_land_aligns_the_stock_with_cardtrader(
    world: World,
) -> None:
    item = await _refused_after_a_lost_answer_that_landed(world)

    with pytest.raises(MarketplaceUnavailable):
        await purchase_item(world.ports, world.user_id, item.id, 2)
    assert world.quantities() == {item.external_stock_id: 5}  # given back in the call
    await world.run_jobs()  # the queued settling finds CardTrader took them after all

    assert _remote(world, item) == 3 and world.quantities() == {item.external_stock_id: 3}
    assert len(world.account.method_calls("increment_quantity")) == 1
    assert sum(delta for _, delta in _history(world, item)) == 3


async def test_an_answer_lost_inside_the_call_is_settled_by_reading_not_by_resending(
    world: World,
) -> None:
    item = await _listed(world, 5)
    lost = MarketplaceOutcomeUnknown("cut")
    world.account.fail_next(lost, applied=True, method="increment_quantity")

    purchase = await purchase_item(world.ports, world.user_id, item.id, 2)

    assert purchase.confirmed and _remote(world, item) == 3
    assert len(world.account.method_calls("increment_quantity")) == 1


async def test_concurrent_purchases_of_the_last_units_sell_exactly_them_on_both_sides(
    world: World,
) -> None:
    item = await _listed(world, 5)

    async def buy() -> bool:
        try:
            await purchase_item(world.ports, world.user_id, item.id, 1)
        except InsufficientStock:
            return False
        return True

    results = await asyncio.gather(*[buy() for _ in range(50)])

    assert results.count(True) == 5
    assert world.quantities() == {item.external_stock_id: 0}
    assert _remote(world, item) is None  # CardTrader deleted it at zero: exactly 5 lower
    assert len(world.account.method_calls("increment_quantity")) == 5


async def test_a_call_past_the_deadline_is_a_transient_domain_error() -> None:
    """The domain never lets asyncio's TimeoutError out: callers catch DomainError only."""

    async def hang() -> None:
        await asyncio.sleep(30)

    with pytest.raises(MarketplaceUnavailable) as late:
        await Deadline(0.01).run(hang())
    with pytest.raises(MarketplaceOutcomeUnknown):  # a write cut short may have been applied
        await Deadline(0.01).run(hang(), late=MarketplaceOutcomeUnknown)

    assert late.value.transient and not isinstance(late.value, MarketplaceOutcomeUnknown)


async def test_a_timeout_error_raised_by_the_call_itself_is_not_taken_for_the_deadline() -> None:
    async def broken() -> None:
        raise TimeoutError  # an adapter that failed to translate its own: a bug, let through

    with pytest.raises(TimeoutError):
        await Deadline(30).run(broken())


async def test_cardtrader_slower_than_the_deadline_sells_and_queues_the_decrement(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = replace(world.ports.settings, purchase_timeout_seconds=0.01)
    world.ports = replace(world.ports, settings=settings)
    item = await _listed(world, 5)
    find = world.account.find_product

    async def find_slowly(product_id: int, *, blueprint_id: int) -> object:
        await asyncio.sleep(30)
        return await find(product_id, blueprint_id=blueprint_id)

    with monkeypatch.context() as patched:
        patched.setattr(world.account, "find_product", find_slowly)
        purchase = await purchase_item(world.ports, world.user_id, item.id, 2)

    assert (purchase.confirmed, purchase.queued, purchase.remaining) == (False, True, 3)
    assert "marketplace_unavailable" in world.operation(purchase.task_id).metadata["last_error"]
    await world.run_jobs()
    assert _remote(world, item) == 3


async def test_a_refusal_that_waiting_cannot_cure_sells_nothing_and_queues_nothing(
    world: World,
) -> None:
    item = await _listed(world, 5)
    world.account.fail_next(MarketplaceValidation("bad delta"), method="increment_quantity")

    with pytest.raises(MarketplaceValidation):
        await purchase_item(world.ports, world.user_id, item.id, 2)

    _assert_nothing_sold(world, item, 5)


class _FailingUnit:
    """A unit-of-work factory whose `fail_at`-th unit finds the database gone."""

    def __init__(self, inner: UnitOfWorkFactory, fail_at: int) -> None:
        self.inner, self.fail_at, self.opened = inner, fail_at, 0

    def __call__(self) -> UnitOfWork:
        self.opened += 1
        if self.opened == self.fail_at:
            return cast(UnitOfWork, _Gone())
        return self.inner()

    def prepare_import(self, products: Sequence[RemoteProduct]) -> Sequence[RemoteProduct]:
        return self.inner.prepare_import(products)


class _Gone:
    async def __aenter__(self) -> None:
        raise DependencyUnavailable("the database is unavailable")

    async def __aexit__(self, *exc: object) -> None:
        return None


@pytest.mark.parametrize(
    "fail_at",
    [2, 3, 4, 5, 6, 7],
    ids=["begin", "token", "read-write", "record-sent", "record-confirmed", "finish"],
)
async def test_the_database_failing_after_the_take_still_sells_once_on_both_sides(
    world: World, fail_at: int
) -> None:
    """Each unit of work after the one that took the stock (and queued the decrement in the
    same commit), failing in turn: the sale was made, so the answer is a sale (never 503)
    and the decrement reaches CardTrader exactly once, through the job when not inline."""
    item = await _listed(world, 5)
    failing = _FailingUnit(world.ports.uow, fail_at)
    ports = replace(world.ports, uow=failing)

    purchase = await purchase_item(ports, world.user_id, item.id, 2)
    await world.run_jobs()

    assert failing.opened >= fail_at  # the failure really was met
    assert purchase.remaining == 3
    assert (world.quantities(), _remote(world, item)) == ({item.external_stock_id: 3}, 3)
    assert len(world.account.method_calls("increment_quantity")) == 1
    assert world.operation(purchase.task_id).status is OperationStatus.COMPLETED


async def test_a_note_the_database_cannot_take_does_not_undo_a_queued_sale(world: World) -> None:
    item = await _listed(world, 5)
    world.account.fail_next(MarketplaceUnavailable("503"), method="find_product")
    # take, begin, token, read the recorded write; then note_retry finds the database gone
    ports = replace(world.ports, uow=_FailingUnit(world.ports.uow, 5))

    purchase = await purchase_item(ports, world.user_id, item.id, 2)
    await world.run_jobs()

    assert (purchase.confirmed, purchase.queued) == (False, True)
    assert (world.quantities(), _remote(world, item)) == ({item.external_stock_id: 3}, 3)


async def _the_worker_later(world: World) -> None:
    """The outbox pass of a worker (every pending operation sent again), then its jobs."""
    await requeue_pending(world.ports, older_than_seconds=-1)
    await world.run_jobs()


@pytest.mark.parametrize("fail_at", [5, 6], ids=["read-the-write", "give-back"])
async def test_refused_while_the_database_fails_to_give_the_stock_back_still_sells_nothing(
    world: World, fail_at: int
) -> None:
    """Refuse policy, CardTrader down, then the database gone as the call gives the stock
    back: the call fails, and the purchase left pending never sells later: its job gives the
    stock back instead of sending the decrement."""
    _refusing(world)
    item = await _listed(world, 5)
    world.account.fail_next(MarketplaceUnavailable("503"), method="find_product")
    failing = _FailingUnit(world.ports.uow, fail_at)

    with pytest.raises(DependencyUnavailable):
        await purchase_item(replace(world.ports, uow=failing), world.user_id, item.id, 2)
    assert failing.opened == fail_at and world.quantities() == {item.external_stock_id: 3}
    await _the_worker_later(world)

    assert world.quantities() == {item.external_stock_id: 5} and _remote(world, item) == 5
    assert world.account.method_calls("increment_quantity") == []
    assert sum(delta for _, delta in _history(world, item)) == 5
    (operation,) = world.store.operations.values()
    assert operation.status is OperationStatus.COMPLETED
    assert operation.metadata["result"] == {
        "refused": True, "cardtrader_applied": False, "given_back": 2}  # fmt: skip


async def test_refused_unrecorded_after_a_lost_answer_that_did_land_stays_sold(
    world: World,
) -> None:
    item = await _refused_after_a_lost_answer_that_landed(world)
    # take, begin, token, read the write, record it sent; settling reads CardTrader (503);
    # then the call reads the write again and gives the stock back: that unit fails
    failing = _FailingUnit(world.ports.uow, 7)

    with pytest.raises(DependencyUnavailable):
        await purchase_item(replace(world.ports, uow=failing), world.user_id, item.id, 2)
    await _the_worker_later(world)

    assert failing.opened >= 7
    assert (world.quantities(), _remote(world, item)) == ({item.external_stock_id: 3}, 3)
    assert len(world.account.method_calls("increment_quantity")) == 1
    assert sum(delta for _, delta in _history(world, item)) == 3


async def test_a_confirmed_sale_whose_end_the_database_missed_completes_under_refuse_too(
    world: World,
) -> None:
    _refusing(world)
    item = await _listed(world, 5)
    failing = _FailingUnit(world.ports.uow, 7)  # finish

    purchase = await purchase_item(replace(world.ports, uow=failing), world.user_id, item.id, 2)
    await world.run_jobs()

    assert purchase.confirmed and purchase.remaining == 3
    assert (world.quantities(), _remote(world, item)) == ({item.external_stock_id: 3}, 3)
    assert len(world.account.method_calls("increment_quantity")) == 1
    assert world.operation(purchase.task_id).status is OperationStatus.COMPLETED

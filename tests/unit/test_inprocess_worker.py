"""The in-process worker (demo, tests) follows the same retry rule as the arq worker: a
catalogue outage during a bulk sync is waited out, the user staying `initial_sync`; how long
it keeps retrying in the embedded container is configuration."""

from __future__ import annotations

import uuid

from brx_adapters.memory import MemoryMarketplaceGateway, MemoryTaskQueue
from brx_app.config import load_config
from brx_app.container import build_memory_container
from brx_app.inprocess import InProcessWorker
from brx_domain.errors import MarketplaceUnavailable, MarketplaceValidation
from brx_domain.inventory import ItemPatch
from brx_domain.retry import RetryRule
from brx_domain.sync import OperationStatus, SyncStatus
from brx_domain.usecases.inventory import update_item
from brx_domain.usecases.sync import start_bulk_sync
from brx_domain.usecases.users import register_user
from tests.unit.world import TOKEN, World


class Sleeps:
    """The worker's sleep: records each wait and what the world looked like meanwhile."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.waits: list[float] = []
        self.statuses: list[SyncStatus] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.statuses.append(self.world.store.settings[self.world.user_id].sync_status)


async def _world_with_worker(rule: RetryRule) -> tuple[World, InProcessWorker, Sleeps]:
    world = World(queue=MemoryTaskQueue())
    sleeps = Sleeps(world)
    worker = InProcessWorker(retry=rule, sleep=sleeps)
    world.queue.on_enqueue = worker
    worker.ports = world.ports
    await world.register()
    for number in range(20):
        world.account.add_product(16 + number % 3, 1 + number, 100 + number)
    return world, worker, sleeps


async def test_a_catalogue_outage_during_a_bulk_sync_is_waited_out() -> None:
    world, worker, sleeps = await _world_with_worker(RetryRule(base=1, cap=10, horizon=600))
    world.catalogue.fail_next(3)

    operation = await start_bulk_sync(world.ports, world.user_id)
    await worker.drain()

    assert len(sleeps.waits) == 3 and sleeps.waits == sorted(sleeps.waits)
    assert sleeps.statuses == [SyncStatus.INITIAL_SYNC] * 3
    assert world.operation(operation.operation_id).status is OperationStatus.COMPLETED
    assert world.store.settings[world.user_id].sync_status is SyncStatus.ACTIVE
    assert len(world.items()) == 20


async def test_an_outage_longer_than_the_horizon_ends_the_sync_and_the_user_in_error() -> None:
    world, worker, sleeps = await _world_with_worker(RetryRule(base=1, cap=1, horizon=0.5))
    world.catalogue.fail_next(1)

    operation = await start_bulk_sync(world.ports, world.user_id)
    await worker.drain()

    done = world.operation(operation.operation_id)
    assert sleeps.waits == []
    assert done.status is OperationStatus.FAILED
    assert "catalogue is unavailable" in str(done.metadata["error"])
    assert world.store.settings[world.user_id].sync_status is SyncStatus.ERROR


async def test_a_refused_push_is_not_retried() -> None:
    world, worker, sleeps = await _world_with_worker(RetryRule(base=1, cap=10, horizon=600))
    await start_bulk_sync(world.ports, world.user_id)
    await worker.drain()
    item = world.items()[0]
    world.account.fail_next(MarketplaceValidation("quantity: too large"))

    change = await update_item(world.ports, world.user_id, item.id, ItemPatch(quantity=5))
    await worker.drain()

    assert change.task_id is not None
    assert world.operation(change.task_id).status is OperationStatus.FAILED
    assert sleeps.waits == []


async def _embedded_push(horizon: str) -> tuple[OperationStatus, int]:
    """A price change pushed by the embedded container's own worker while CardTrader fails
    three times in a row: how the push ended, and the price CardTrader holds."""
    gateway = MemoryMarketplaceGateway()
    product = gateway.add_account(TOKEN).add_product(16, 3, 100)
    config = load_config(ENVIRONMENT="test", INPROCESS_RETRY_HORIZON_SECONDS=horizon)
    container = build_memory_container(config, marketplace=gateway, run_jobs=True)
    ports, user_id, drain = container.ports(), uuid.uuid4(), container.runtime().drain
    await register_user(ports, user_id, TOKEN)
    await start_bulk_sync(ports, user_id)
    await drain()
    item = container.uow().store.items_of(user_id)[0]
    gateway.for_token(TOKEN).fail_next(MarketplaceUnavailable("CardTrader answered 500"), times=3)

    change = await update_item(ports, user_id, item.id, ItemPatch(price_cents=999))
    await drain()

    assert change.task_id is not None
    done = container.uow().store.operations[change.task_id]
    return done.status, gateway.for_token(TOKEN).products[product.id].price_cents


async def test_the_embedded_worker_gives_up_at_the_configured_horizon() -> None:
    assert await _embedded_push("1") == (OperationStatus.FAILED, 100)  # 0.5 s, then 1 s: over


async def test_within_the_default_horizon_the_same_push_lands() -> None:
    assert await _embedded_push("900") == (OperationStatus.COMPLETED, 999)  # 0.5 + 1 + 2 s

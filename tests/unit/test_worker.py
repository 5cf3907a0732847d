"""The worker's jobs over the in-memory adapters: retry rule, give-up, job table, crons."""

from __future__ import annotations

from typing import Any

import pytest
from arq.worker import Retry

from brx_app.jobs import JOBS, give_up_job, run_job
from brx_app.worker import job_function, parse_queues, retry_delay
from brx_domain.errors import (
    DependencyUnavailable,
    MarketplaceRateLimited,
    MarketplaceUnavailable,
    MarketplaceValidation,
    NotFound,
)
from brx_domain.inventory import ItemPatch
from brx_domain.sync import OperationStatus, OperationType, SyncStatus
from brx_domain.usecases.common import JobName, QueueName
from brx_domain.usecases.inventory import update_item
from brx_domain.usecases.operations import task_state
from brx_domain.usecases.periodic import request_periodic_reconciliations
from brx_domain.usecases.sync import start_bulk_sync
from tests.unit.world import World


class FakeRedis:
    """Just enough of Redis for a job's lease."""

    def __init__(self) -> None:
        self.keys: dict[str, bytes] = {}

    async def set(self, key: str, value: bytes, px: int | None = None) -> None:
        self.keys[key] = value

    async def delete(self, key: str) -> None:
        self.keys.pop(key, None)


@pytest.fixture
async def world() -> World:
    world = World()
    await world.register()
    return world


def _ctx(world: World, job_id: str, job_try: int = 1) -> dict[str, Any]:
    return {"ports": world.ports, "redis": FakeRedis(), "job_id": job_id, "job_try": job_try}


async def _queued_update(world: World) -> str:
    (item,) = await world.seed(world.account.add_product(16, 5, 100))
    change = await update_item(world.ports, world.user_id, item.id, ItemPatch(quantity=3))
    world.queue.pop_all()
    assert change.task_id is not None
    return change.task_id


def test_every_job_name_has_a_use_case_and_a_give_up() -> None:
    assert set(JOBS) == set(JobName)


async def test_an_unknown_job_is_refused(world: World) -> None:
    with pytest.raises(LookupError):
        await run_job(world.ports, "no_such_job", "op-1")


def test_transient_failures_back_off_exponentially_up_to_a_cap() -> None:
    delays = [retry_delay(MarketplaceUnavailable("503"), n, 20) for n in (1, 2, 3, 15)]

    assert [d is not None for d in delays] == [True] * 4
    low = [2.0, 4.0, 8.0, 300.0]
    assert all(lo <= d <= lo * 1.2 for lo, d in zip(low, delays, strict=True) if d is not None)


def test_retry_after_from_cardtrader_is_honoured() -> None:
    delay = retry_delay(MarketplaceRateLimited("429", retry_after=40), 1, 5)

    assert delay is not None and delay >= 40


def test_the_last_try_and_permanent_failures_give_up_at_once() -> None:
    assert retry_delay(MarketplaceUnavailable("503"), 5, 5) is None
    assert retry_delay(MarketplaceValidation("bad"), 1, 5) is None
    assert retry_delay(NotFound("gone"), 1, 5) is None


def test_a_store_outage_or_an_unexpected_error_is_retried() -> None:
    assert retry_delay(DependencyUnavailable("db down"), 1, 5) is not None
    assert retry_delay(ConnectionResetError(), 1, 5) is not None


def test_queues_are_chosen_by_short_names() -> None:
    assert parse_queues("all") == list(QueueName)
    assert parse_queues("high, bulk") == [QueueName.HIGH, QueueName.BULK]
    with pytest.raises(ValueError):
        parse_queues("urgent")


async def test_a_job_completes_its_operation_and_releases_its_lease(world: World) -> None:
    task_id = await _queued_update(world)
    ctx = _ctx(world, task_id)

    outcome = await job_function(JobName.PUSH_UPDATE, max_tries=3).coroutine(
        ctx, operation_id=task_id
    )

    assert outcome == "done"
    assert world.operation(task_id).status is OperationStatus.COMPLETED
    assert ctx["redis"].keys == {}


async def test_a_transient_failure_asks_arq_to_retry_and_shows_retry(world: World) -> None:
    task_id = await _queued_update(world)
    world.account.fail_next(MarketplaceUnavailable("503"))

    with pytest.raises(Retry):
        await job_function(JobName.PUSH_UPDATE, max_tries=3).coroutine(
            _ctx(world, task_id), operation_id=task_id
        )

    assert task_state(world.operation(task_id))[0] == "RETRY"


async def test_the_last_failed_try_ends_the_operation_failed_with_its_reason(
    world: World,
) -> None:
    task_id = await _queued_update(world)
    world.account.fail_next(MarketplaceUnavailable("CardTrader answered 503"))

    outcome = await job_function(JobName.PUSH_UPDATE, max_tries=3).coroutine(
        _ctx(world, task_id, job_try=3), operation_id=task_id
    )

    operation = world.operation(task_id)
    assert outcome == "gave up"
    assert operation.status is OperationStatus.FAILED
    assert "503" in str(operation.metadata["error"])


async def test_giving_up_on_a_bulk_sync_puts_the_user_in_error(world: World) -> None:
    operation = await start_bulk_sync(world.ports, world.user_id)

    await give_up_job(
        world.ports, JobName.BULK_SYNC, operation.operation_id, MarketplaceUnavailable("down")
    )

    settings = world.store.settings[world.user_id]
    assert settings.sync_status is SyncStatus.ERROR
    assert "down" in str(settings.last_error)
    assert world.operation(operation.operation_id).status is OperationStatus.FAILED


async def test_periodic_reconciliation_queues_each_active_user_once_per_interval(
    world: World,
) -> None:
    world.account.add_product(16, 1, 100)
    await start_bulk_sync(world.ports, world.user_id)
    await world.run_jobs()
    other = World(store=world.store, clock=world.clock)
    await other.register()  # idle: never reconciled periodically

    first = await request_periodic_reconciliations(world.ports, every_minutes=30)
    world.clock.advance(minutes=10)
    second = await request_periodic_reconciliations(world.ports, every_minutes=30)
    world.clock.advance(minutes=25)
    third = await request_periodic_reconciliations(world.ports, every_minutes=30)

    assert (first, second, third) == ([world.user_id], [], [world.user_id])
    kinds = [world.operation(j.job_id).operation_type for j in world.queue.enqueued[1:]]
    assert kinds == [OperationType.PERIODIC_SYNC] * 2


async def test_periodic_reconciliation_is_off_at_zero_minutes(world: World) -> None:
    world.account.add_product(16, 1, 100)
    await start_bulk_sync(world.ports, world.user_id)
    await world.run_jobs()

    queued = await request_periodic_reconciliations(world.ports, every_minutes=0)

    assert queued == []
    assert len(world.queue.enqueued) == 1

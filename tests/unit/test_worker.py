"""The worker's jobs over the in-memory adapters: retry rule, give-up, job table, crons."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from arq.connections import RedisSettings
from arq.worker import Retry
from redis.exceptions import ConnectionError as RedisConnectionError

from brx_app.http.present import task_state
from brx_app.jobs import JOBS, give_up_job, run_job
from brx_app.worker import (
    ARQ_MAX_TRIES,
    PLANS,
    Lifecycle,
    build_workers,
    job_function,
    parse_queues,
)
from brx_domain.errors import DependencyUnavailable, MarketplaceUnavailable, MarketplaceValidation
from brx_domain.inventory import ItemPatch
from brx_domain.jobs import JobName, Priority
from brx_domain.ports import WebhookDelivery
from brx_domain.retry import RetryRule
from brx_domain.sync import OperationStatus, OperationType, SyncOperation, SyncStatus
from brx_domain.usecases.common import requeue_pending
from brx_domain.usecases.inventory import update_item
from brx_domain.usecases.periodic import (
    purge_old_webhook_deliveries,
    request_periodic_reconciliations,
)
from brx_domain.usecases.sync import start_bulk_sync
from tests.contracts.fixtures import done_webhook_operation
from tests.unit.world import World

RULE = RetryRule(base=2, cap=300, horizon=3600)


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


def _ctx(world: World, job_id: str, job_try: int = 1, age: float = 0.0) -> dict[str, Any]:
    enqueued = datetime.now(UTC) - timedelta(seconds=age)
    return {
        "ports": world.ports,
        "redis": FakeRedis(),
        "job_id": job_id,
        "job_try": job_try,
        "enqueue_time": enqueued,
    }


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


def test_every_queue_retries_for_hours_and_arq_never_counts_tries_out() -> None:
    assert all(plan.retry.horizon >= 3600 for plan in PLANS.values())
    assert job_function(JobName.PUSH_UPDATE, retry=RULE).max_tries == ARQ_MAX_TRIES


def test_queues_are_chosen_by_short_names() -> None:
    assert parse_queues("all") == list(Priority)
    assert parse_queues("high, bulk") == [Priority.HIGH, Priority.BULK]
    with pytest.raises(ValueError):
        parse_queues("urgent")


async def test_a_job_completes_its_operation_and_releases_its_lease(world: World) -> None:
    task_id = await _queued_update(world)
    ctx = _ctx(world, task_id)

    outcome = await job_function(JobName.PUSH_UPDATE, retry=RULE).coroutine(
        ctx, operation_id=task_id
    )

    assert outcome == "done"
    assert world.operation(task_id).status is OperationStatus.COMPLETED
    assert ctx["redis"].keys == {}


async def test_a_transient_failure_asks_arq_to_retry_and_shows_retry(world: World) -> None:
    task_id = await _queued_update(world)
    world.account.fail_next(MarketplaceUnavailable("503"))

    with pytest.raises(Retry):
        await job_function(JobName.PUSH_UPDATE, retry=RULE).coroutine(
            _ctx(world, task_id), operation_id=task_id
        )

    assert task_state(world.operation(task_id))[0] == "RETRY"


async def test_a_transient_failure_past_the_horizon_ends_the_operation_failed_with_its_reason(
    world: World,
) -> None:
    task_id = await _queued_update(world)
    world.account.fail_next(MarketplaceUnavailable("CardTrader answered 503"))

    outcome = await job_function(JobName.PUSH_UPDATE, retry=RULE).coroutine(
        _ctx(world, task_id, job_try=40, age=3599), operation_id=task_id
    )

    operation = world.operation(task_id)
    assert outcome == "gave up"
    assert operation.status is OperationStatus.FAILED
    assert str(operation.metadata["error"]).endswith(" (gave up after its last retry)")
    assert "503" in str(operation.metadata["error"])


async def test_a_store_outage_is_retried_however_many_tries_it_took(world: World) -> None:
    task_id = await _queued_update(world)
    world.account.fail_next(DependencyUnavailable("the card catalogue is unavailable"))

    with pytest.raises(Retry):
        await job_function(JobName.PUSH_UPDATE, retry=RULE).coroutine(
            _ctx(world, task_id, job_try=500, age=60), operation_id=task_id
        )

    assert world.operation(task_id).status is OperationStatus.PENDING


async def test_a_refused_push_ends_failed_at_the_first_try(world: World) -> None:
    task_id = await _queued_update(world)
    world.account.fail_next(MarketplaceValidation("quantity: too large"))

    await job_function(JobName.PUSH_UPDATE, retry=RULE).coroutine(
        _ctx(world, task_id), operation_id=task_id
    )

    operation = world.operation(task_id)
    assert operation.status is OperationStatus.FAILED
    assert "too large" in str(operation.metadata["error"])


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


async def test_each_job_run_logs_one_line_with_its_operation_user_outcome_and_duration(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    task_id = await _queued_update(world)

    with caplog.at_level(logging.INFO, logger="brx.worker"):
        await job_function(JobName.PUSH_UPDATE, retry=RULE).coroutine(
            _ctx(world, task_id), operation_id=task_id
        )

    (line,) = [r for r in caplog.records if getattr(r, "operation_id", None) == task_id]
    assert (line.job, line.outcome, line.status) == ("push_update", "done", "completed")  # type: ignore[attr-defined]
    assert line.user_id == str(world.user_id)  # type: ignore[attr-defined]
    assert line.duration_ms >= 0  # type: ignore[attr-defined]


async def test_the_job_log_line_carries_the_request_id_of_the_call_that_queued_it(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    (item,) = await world.seed(world.account.add_product(16, 5, 100))
    change = await update_item(
        world.ports, world.user_id, item.id, ItemPatch(quantity=3), request_id="req-42"
    )
    world.queue.pop_all()
    assert change.task_id is not None

    with caplog.at_level(logging.INFO, logger="brx.worker"):
        await job_function(JobName.PUSH_UPDATE, retry=RULE).coroutine(
            _ctx(world, change.task_id), operation_id=change.task_id
        )

    (line,) = [r for r in caplog.records if getattr(r, "operation_id", None) == change.task_id]
    assert line.request_id == "req-42"  # type: ignore[attr-defined]


async def test_a_pending_operation_stored_before_jobs_were_typed_still_runs(world: World) -> None:
    """The JSON of a row written by the untyped outbox: a Redis key as `queue`, no request id,
    the product id as a number."""
    (item,) = await world.seed(world.account.add_product(16, 5, 100))
    legacy = {
        "job": {
            "name": "push_delete",
            "queue": "brx:high",
            "args": {
                "item_id": item.id,
                "external_stock_id": int(str(item.external_stock_id)),
                "blueprint_id": item.blueprint_id,
            },
        }
    }
    old = world.clock.now() - timedelta(minutes=5)
    operation = SyncOperation("legacy-op", world.user_id, OperationType.DELETE, metadata=legacy,
                              created_at=old)  # fmt: skip
    async with world.ports.uow() as uow:
        await uow.operations.add(operation)
        await uow.commit()

    assert await requeue_pending(world.ports) == 1
    (queued,) = world.queue.pop_all()
    await run_job(world.ports, queued.job, queued.job_id)

    assert (queued.job, queued.priority) == ("push_delete", Priority.HIGH)
    async with world.ports.uow() as uow:
        done = await uow.operations.get("legacy-op")
    assert done is not None and done.status is OperationStatus.COMPLETED
    assert int(str(item.external_stock_id)) not in world.account.products


async def test_webhook_deliveries_older_than_the_window_are_purged(world: World) -> None:
    now = world.clock.now()
    max_age = world.ports.settings.webhook_max_age_seconds
    async with world.ports.uow() as uow:
        for delivery_id, age in (("old", max_age + 60), ("fresh", max_age - 60)):
            received = now - timedelta(seconds=age)
            delivery = WebhookDelivery(delivery_id, world.user_id, received, {}, "live")
            await uow.webhooks.commit_if_new(delivery, done_webhook_operation(world.user_id))

    purged = await purge_old_webhook_deliveries(world.ports)

    async with world.ports.uow() as uow:
        kept = [await uow.webhooks.get(world.user_id, d) for d in ("old", "fresh")]
    assert purged == 1
    assert kept[0] is None and kept[1] is not None


class _RedisGoneMidPoll:
    """A pool whose pipeline fails as Redis does when it goes away during a poll."""

    def pipeline(self, transaction: bool = True) -> Any:
        return self

    async def __aenter__(self) -> Any:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def watch(self, *keys: str) -> None:
        raise RedisConnectionError("Connection closed by server.")


async def test_a_redis_error_while_starting_a_job_gives_the_job_slot_back() -> None:
    lifecycle = Lifecycle(None, namespace="t:", periodic_minutes=0)  # type: ignore[arg-type]
    bulk = build_workers(lifecycle, [Priority.BULK], redis_settings=RedisSettings())[0]
    bulk._pool = _RedisGoneMidPoll()  # type: ignore[assignment]
    free = bulk.sem._value

    for _ in range(3):  # three outages that each struck during a poll
        with pytest.raises(RedisConnectionError):
            await bulk.start_jobs([b"a-queued-job"])

    assert (bulk.job_counter, bulk.sem._value) == (0, free)

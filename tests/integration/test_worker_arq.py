"""The arq worker on real Redis and Postgres (CardTrader played by the in-memory fake): jobs
queued through Redis run, duplicates collapse, transient failures retry, and jobs orphaned by
a killed worker are freed and run again."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
import redis.asyncio as aioredis
from arq.connections import RedisSettings
from arq.constants import in_progress_key_prefix
from cryptography.fernet import Fernet
from dependency_injector import providers

from brx_adapters.memory import MemoryMarketplaceGateway
from brx_adapters.queue import queue_key
from brx_adapters.queue.leases import reap
from brx_app.config import load_config
from brx_app.container import Container, build_container
from brx_app.worker import Lifecycle, build_workers
from brx_app.worker_run import serve
from brx_domain.errors import MarketplaceUnavailable
from brx_domain.inventory import ItemPatch
from brx_domain.jobs import Priority
from brx_domain.ports import TaskQueue
from brx_domain.sync import OperationStatus, OperationType, SyncOperation, SyncStatus
from brx_domain.usecases.common import Ports, requeue_pending
from brx_domain.usecases.inventory import update_item
from brx_domain.usecases.sync import start_bulk_sync
from brx_domain.usecases.users import register_user

pytestmark = pytest.mark.integration

TOKEN = "arq-token"


@pytest.fixture
def gateway() -> MemoryMarketplaceGateway:
    gateway = MemoryMarketplaceGateway()
    account = gateway.add_account(TOKEN)
    for number in range(120):
        account.add_product(16 + number % 9, 1 + number % 5, 100 + number)
    return gateway


@pytest.fixture
async def container(
    postgres_url: str, redis_url: str, redis_prefix: str, gateway: MemoryMarketplaceGateway
) -> AsyncIterator[Container]:
    """The production wiring in this test's queue namespace, CardTrader played by the fake."""
    config = load_config(
        ENVIRONMENT="test", DATABASE_URL=postgres_url, REDIS_URL=redis_url,
        FERNET_KEY=Fernet.generate_key().decode(), SYNC_CHUNK_SIZE="100",
        BRX_QUEUE_NAMESPACE=redis_prefix,
    )  # fmt: skip
    container = build_container(config)
    container.marketplace.override(providers.Object(gateway))
    yield container
    await container.runtime().close()


@pytest.fixture
def ports(container: Container) -> Ports:
    return container.ports()


@pytest.fixture
def queue(container: Container) -> TaskQueue:
    return container.queue()


RunWorkers = Callable[..., Awaitable[Lifecycle]]


def _shared(ports: Ports) -> Callable[[], Awaitable[tuple[Ports, Callable[[], Awaitable[None]]]]]:
    """A workers' ports factory handing out the test's own ports, which it does not close."""

    async def make() -> tuple[Ports, Callable[[], Awaitable[None]]]:
        async def close() -> None:
            return None

        return ports, close

    return make


@pytest.fixture
def run_workers(ports: Ports, redis_url: str, redis_prefix: str) -> RunWorkers:
    """Run burst workers for every queue until the queues are empty."""

    async def run(**options: Any) -> Lifecycle:
        lifecycle = Lifecycle(_shared(ports), namespace=redis_prefix, periodic_minutes=0)
        workers = build_workers(
            lifecycle,
            list(Priority),
            redis_settings=RedisSettings.from_dsn(redis_url),
            burst=True,
            poll_delay=0.05,
            **options,
        )
        await asyncio.wait_for(serve(workers, lifecycle, burst=True, grace=5), 60)
        return lifecycle

    return run


async def _user(ports: Ports) -> uuid.UUID:
    user_id = uuid.uuid4()
    await register_user(ports, user_id, TOKEN)
    return user_id


async def _operation_status(ports: Ports, operation_id: str) -> OperationStatus:
    async with ports.uow() as uow:
        operation = await uow.operations.get(operation_id)
    assert operation is not None
    return operation.status


async def test_a_bulk_sync_queued_through_redis_is_run_by_the_worker(
    ports: Ports, queue: TaskQueue, run_workers: RunWorkers
) -> None:
    user_id = await _user(ports)
    operation = await start_bulk_sync(ports, user_id)
    depth_before = await queue.depth()

    await run_workers()

    async with ports.uow() as uow:
        settings = await uow.settings.get(user_id)
        count = await uow.items.count(user_id)
    assert depth_before == {"brx:high": 0, "brx:bulk": 1, "brx:default": 0}
    assert await queue.depth() == {"brx:high": 0, "brx:bulk": 0, "brx:default": 0}
    assert await _operation_status(ports, operation.operation_id) is OperationStatus.COMPLETED
    assert settings is not None and settings.sync_status is SyncStatus.ACTIVE
    assert count == 120


def _exports_held_until(gateway: MemoryMarketplaceGateway, together: int) -> None:
    """Every export waits until `together` of them have begun: bulk syncs that can only end
    when that many run at once."""
    account = gateway.for_token(TOKEN)
    export, begun, everyone = account.export_products, [0], asyncio.Event()

    async def held(**options: Any) -> Any:
        begun[0] += 1
        if begun[0] >= together:
            everyone.set()
        await asyncio.wait_for(everyone.wait(), 30)
        return await export(**options)

    account.export_products = held  # type: ignore[method-assign]


async def _bulk_workers(ports: Ports, redis_url: str, redis_prefix: str, count: int) -> list[Any]:
    """`count` burst workers of the bulk queue, as `count` worker processes would run it, until
    the queue is empty; each worker is returned with its arq counters."""

    processes = []
    for _ in range(count):
        lifecycle = Lifecycle(_shared(ports), namespace=redis_prefix, periodic_minutes=0)
        workers = build_workers(
            lifecycle, [Priority.BULK], redis_settings=RedisSettings.from_dsn(redis_url),
            burst=True, poll_delay=0.05,
        )  # fmt: skip
        processes.append((workers, lifecycle))
    await asyncio.wait_for(
        asyncio.gather(*(serve(w, lc, burst=True, grace=5) for w, lc in processes)), 60
    )
    return [workers[0] for workers, _ in processes]


@pytest.mark.parametrize("queued_before", [0.0, 1.5], ids=["queued-meanwhile", "a-backlog"])
async def test_two_bulk_syncs_queued_together_run_on_two_workers(
    ports: Ports,
    gateway: MemoryMarketplaceGateway,
    redis_url: str,
    redis_prefix: str,
    queued_before: float,
) -> None:
    """Also when they were queued before any worker polled (a restart, a backlog): the wait
    counts from when a worker first saw them, not from when they were queued."""
    _exports_held_until(gateway, together=2)
    users = [await _user(ports) for _ in range(2)]
    operations = [await start_bulk_sync(ports, user_id) for user_id in users]
    await asyncio.sleep(queued_before)

    first, second = await _bulk_workers(ports, redis_url, redis_prefix, count=2)

    assert (first.jobs_complete, second.jobs_complete) == (1, 1)
    for operation in operations:
        assert await _operation_status(ports, operation.operation_id) is OperationStatus.COMPLETED


async def test_one_worker_alone_still_runs_two_bulk_syncs_at_once(
    ports: Ports, gateway: MemoryMarketplaceGateway, redis_url: str, redis_prefix: str
) -> None:
    _exports_held_until(gateway, together=2)  # the second joins after the spread wait
    users = [await _user(ports) for _ in range(2)]
    operations = [await start_bulk_sync(ports, user_id) for user_id in users]

    (alone,) = await _bulk_workers(ports, redis_url, redis_prefix, count=1)

    assert alone.jobs_complete == 2
    for operation in operations:
        assert await _operation_status(ports, operation.operation_id) is OperationStatus.COMPLETED


async def test_sending_one_operation_twice_queues_it_once(queue: TaskQueue) -> None:
    job_id = f"op-{uuid.uuid4()}"
    first = await queue.enqueue("push_update", job_id=job_id, priority=Priority.HIGH)
    second = await queue.enqueue("push_update", job_id=job_id, priority=Priority.HIGH)

    assert (first, second) == (True, False)
    assert (await queue.depth())["brx:high"] == 1


async def test_a_push_that_fails_transiently_is_retried_by_arq_and_completes(
    ports: Ports, gateway: MemoryMarketplaceGateway, run_workers: RunWorkers
) -> None:
    user_id = await _user(ports)
    await start_bulk_sync(ports, user_id)
    await run_workers()
    async with ports.uow() as uow:
        (item,), _ = await uow.items.list(user_id, 1, 0)
    gateway.for_token(TOKEN).fail_next(MarketplaceUnavailable("503"))

    change = await update_item(ports, user_id, item.id, ItemPatch(quantity=42))
    await run_workers()

    assert change.task_id is not None
    assert await _operation_status(ports, change.task_id) is OperationStatus.COMPLETED
    remote = gateway.for_token(TOKEN).products[int(str(item.external_stock_id))]
    assert remote.quantity == 42


async def test_a_pending_row_of_the_untyped_outbox_is_re_sent_and_run_from_postgres(
    ports: Ports, gateway: MemoryMarketplaceGateway, run_workers: RunWorkers
) -> None:
    """A push queued before job arguments were typed: its JSONB names a Redis key as the
    queue and has no request id. The outbox re-sends it through Redis and the worker runs it."""
    user_id = await _user(ports)
    await start_bulk_sync(ports, user_id)
    await run_workers()
    async with ports.uow() as uow:
        (item,), _ = await uow.items.list(user_id, 1, 0)
        await uow.items.save(replace(item, quantity=9))
        legacy = {"job": {"name": "push_update", "queue": "brx:high", "args": {"item_id": item.id}}}
        created = ports.clock.now() - timedelta(minutes=5)
        operation_id = "legacy-" + uuid.uuid4().hex
        await uow.operations.add(SyncOperation(
            operation_id, user_id, OperationType.UPDATE, metadata=legacy, created_at=created
        ))  # fmt: skip
        await uow.commit()

    assert await requeue_pending(ports) >= 1  # the outbox is global: other tests' rows too
    await run_workers()

    assert await _operation_status(ports, operation_id) is OperationStatus.COMPLETED
    assert gateway.for_token(TOKEN).products[int(str(item.external_stock_id))].quantity == 9


async def test_a_job_orphaned_by_a_killed_worker_is_freed_and_run_again(
    ports: Ports,
    queue: TaskQueue,
    redis_client: aioredis.Redis[Any],
    redis_prefix: str,
    run_workers: RunWorkers,
) -> None:
    user_id = await _user(ports)
    operation = await start_bulk_sync(ports, user_id)
    # what a SIGKILLed worker leaves: the job still queued, marked in progress, with no lease
    in_progress = in_progress_key_prefix + operation.operation_id
    await redis_client.set(in_progress, b"1", px=3_610_000)  # marked just now
    still_held = await reap(
        redis_client,
        queue_key(Priority.BULK, redis_prefix),
        in_progress_seconds=3610,
        namespace=redis_prefix,
    )
    await redis_client.pexpire(in_progress, 3_000_000)  # marked ten minutes ago

    await run_workers()

    assert still_held == []  # within the grace period a mark is never taken away
    assert await _operation_status(ports, operation.operation_id) is OperationStatus.COMPLETED
    assert await redis_client.exists(in_progress) == 0

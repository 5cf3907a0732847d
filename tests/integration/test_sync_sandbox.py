"""The whole sync path on the production wiring (`build_container`): the CardTrader sandbox over
HTTP, Postgres, Redis (queue and rate limits), the MariaDB catalogue, and arq workers, in this
process or as a `brx-sync worker` process that gets killed mid-sync."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from arq.connections import RedisSettings
from cryptography.fernet import Fernet

from brx_app.config import load_config
from brx_app.container import build_container
from brx_app.worker import Lifecycle, build_workers, serve
from brx_domain.sync import OperationStatus, SyncOperation, SyncStatus
from brx_domain.usecases.common import Ports, QueueName
from brx_domain.usecases.sync import start_bulk_sync
from brx_domain.usecases.users import register_user
from tests.integration.fixtures_mysql import HOST, PASSWORD, PORT, USER, CatalogueDatabase
from tests.integration.fixtures_sandbox import SandboxHandle

pytestmark = pytest.mark.integration

Inventory = dict[str, tuple[int, int, int, str, str]]  # blueprint, qty, price, card, expansion


@dataclasses.dataclass
class Stack:
    sandbox: SandboxHandle
    ports: Ports
    env: dict[str, str]
    known: set[int]
    redis_url: str
    namespace: str
    user_id: uuid.UUID = dataclasses.field(default_factory=uuid.uuid4)

    def expected(self) -> Inventory:
        """What a sync must leave: every exported product whose blueprint the shop knows."""
        return {
            str(p["id"]): (
                p["blueprint_id"],
                p["quantity"],
                p["price_cents"],
                p["name_en"],
                p["expansion"]["name_en"],
            )
            for p in self.sandbox.export()
            if p["blueprint_id"] in self.known
        }

    async def inventory(self) -> Inventory:
        async with self.ports.uow() as uow:
            items, _ = await uow.items.list(self.user_id, 100_000, 0)
        return {
            str(i.external_stock_id): (
                i.blueprint_id,
                i.quantity,
                i.price_cents,
                i.card_name,
                i.expansion_name,
            )
            for i in items
        }

    async def operation(self, operation_id: str) -> SyncOperation:
        async with self.ports.uow() as uow:
            found = await uow.operations.get(operation_id)
        assert found is not None
        return found

    async def status(self) -> SyncStatus:
        async with self.ports.uow() as uow:
            settings = await uow.settings.get(self.user_id)
        assert settings is not None
        return settings.sync_status

    async def run_workers(self) -> None:
        """arq workers of every queue in this process, until the queues are empty."""

        async def make() -> tuple[Ports, Callable[[], Awaitable[None]]]:
            async def keep_open() -> None:
                return None

            return self.ports, keep_open

        lifecycle = Lifecycle(make, namespace=self.namespace, periodic_minutes=0)
        workers = build_workers(
            lifecycle, list(QueueName), redis_settings=RedisSettings.from_dsn(self.redis_url),
            burst=True, poll_delay=0.05,
        )  # fmt: skip
        await asyncio.wait_for(serve(workers, lifecycle, burst=True, grace=5), 120)


@pytest.fixture
async def stack_factory(
    sandbox_factory: Callable[..., SandboxHandle],
    catalogue_factory: Callable[..., CatalogueDatabase],
    postgres_url: str,
    redis_url: str,
    redis_prefix: str,
) -> AsyncIterator[Callable[..., Awaitable[Stack]]]:
    closers: list[Callable[[], Awaitable[Any]]] = []

    async def make(products: int, chunk_size: int = 1000, **faults: Any) -> Stack:
        token = f"tok-{uuid.uuid4().hex[:8]}"
        sandbox = sandbox_factory(products=products, tokens=[token], seed=21, **faults)
        blueprints = sorted({p["blueprint_id"] for p in sandbox.export()})
        known = {b for b in blueprints if b % 10 != 3}  # about a tenth is not in the catalogue
        unknown = set(blueprints) - known
        catalogue = catalogue_factory(
            {"cards_prints": sorted(known)[::2], "pk_prints": sorted(known)[1::2],
             "op_prints": sorted(unknown)[:50]}
        )  # fmt: skip
        env = {
            "ENVIRONMENT": "test", "DATABASE_URL": postgres_url, "REDIS_URL": redis_url,
            "MYSQL_HOST": HOST, "MYSQL_PORT": str(PORT), "MYSQL_USER": USER,
            "MYSQL_PASSWORD": PASSWORD, "MYSQL_DATABASE": catalogue.name,
            "CARDTRADER_API_BASE_URL": sandbox.base_url,
            "FERNET_KEY": Fernet.generate_key().decode(),
            "SYNC_CHUNK_SIZE": str(chunk_size), "BRX_QUEUE_NAMESPACE": redis_prefix,
        }  # fmt: skip
        container = build_container(load_config(**env))
        closers.append(container.runtime().close)
        ports = container.ports()
        stack = Stack(sandbox, ports, env, known, redis_url, redis_prefix)
        await register_user(ports, stack.user_id, token)
        return stack

    yield make
    for close in closers:
        await close()


Factory = Callable[..., Awaitable[Stack]]


async def test_a_5000_product_sync_over_http_imports_what_the_catalogue_knows(
    stack_factory: Factory,
) -> None:
    stack = await stack_factory(5000)

    operation = await start_bulk_sync(stack.ports, stack.user_id)
    await stack.run_workers()

    done = await stack.operation(operation.operation_id)
    expected = stack.expected()
    assert done.status is OperationStatus.COMPLETED
    assert done.progress.total_products == 5000
    assert done.progress.skipped == 5000 - len(expected) > 0
    assert (done.progress.created, done.progress.progress_percent) == (len(expected), 100)
    assert await stack.status() is SyncStatus.ACTIVE
    assert await stack.inventory() == expected


async def test_a_re_sync_converges_exactly_after_the_sandbox_changes_and_deletes_products(
    stack_factory: Factory,
) -> None:
    stack = await stack_factory(5000)
    await start_bulk_sync(stack.ports, stack.user_id)
    await stack.run_workers()
    stack.sandbox.mutate(change_quantity=300, change_price=300, delete=400, add=150)

    again = await start_bulk_sync(stack.ports, stack.user_id)
    await stack.run_workers()

    done = await stack.operation(again.operation_id)
    assert done.status is OperationStatus.COMPLETED
    assert done.progress.deleted > 0 and done.progress.updated > 0 and done.progress.created > 0
    assert await stack.inventory() == stack.expected()
    assert await stack.status() is SyncStatus.ACTIVE


async def test_a_429_storm_during_the_sync_is_ridden_out(stack_factory: Factory) -> None:
    stack = await stack_factory(2000)
    stack.sandbox.set_faults(storm_seconds=3, retry_after="seconds")

    operation = await start_bulk_sync(stack.ports, stack.user_id)
    await stack.run_workers()

    assert (await stack.operation(operation.operation_id)).status is OperationStatus.COMPLETED
    assert await stack.inventory() == stack.expected()


def _worker(stack: Stack) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "brx_app.cli", "worker", "--queues", "bulk"],
        env={**os.environ, **stack.env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def _wait_for(check: Callable[[], Awaitable[bool]], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not await check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_a_worker_killed_mid_sync_and_restarted_ends_like_an_uninterrupted_run(
    stack_factory: Factory,
) -> None:
    stack = await stack_factory(20_000, chunk_size=100)
    operation = await start_bulk_sync(stack.ports, stack.user_id)
    first = _worker(stack)
    try:

        async def some_chunks_written() -> bool:
            return (await stack.operation(operation.operation_id)).progress.processed_chunks >= 5

        await _wait_for(some_chunks_written, 60)
        first.send_signal(signal.SIGKILL)
    finally:
        first.wait(10)
    interrupted = await stack.operation(operation.operation_id)
    second = _worker(stack)
    try:

        async def finished() -> bool:
            return (await stack.operation(operation.operation_id)).status is not (
                OperationStatus.PENDING
            )

        await _wait_for(finished, 90)
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(40) == 0  # a graceful stop

    done = await stack.operation(operation.operation_id)
    assert interrupted.status is OperationStatus.PENDING
    assert interrupted.progress.processed < 20_000
    assert done.status is OperationStatus.COMPLETED
    assert done.progress.processed == 20_000 and done.progress.progress_percent == 100
    assert await stack.status() is SyncStatus.ACTIVE
    assert await stack.inventory() == stack.expected()

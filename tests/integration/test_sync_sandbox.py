"""The whole sync path on the production wiring (`build_container`): the CardTrader sandbox over
HTTP, Postgres, Redis (queue and rate limits), the MariaDB catalogue, and arq workers, in this
process or as a `brx-sync worker` process that gets killed mid-sync."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from brx_domain.sync import OperationStatus, SyncStatus
from brx_domain.usecases.sync import start_bulk_sync
from tests.integration.fixtures_stack import Factory, Stack
from tests.processes import Process, brx_sync, wait_for

pytestmark = pytest.mark.integration


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


def _worker(stack: Stack, logs: Path) -> Process:
    worker = brx_sync("worker", ["worker", "--queues", "bulk"], {**os.environ, **stack.env}, logs)
    return worker.start()


async def test_a_worker_killed_mid_sync_and_restarted_ends_like_an_uninterrupted_run(
    stack_factory: Factory, tmp_path: Path
) -> None:
    stack = await stack_factory(20_000, chunk_size=100)
    operation = await start_bulk_sync(stack.ports, stack.user_id)
    first = _worker(stack, tmp_path)
    try:

        async def some_chunks_written() -> bool:
            return (await stack.operation(operation.operation_id)).progress.processed_chunks >= 5

        await wait_for(some_chunks_written, 60, "5 chunks written")
    finally:
        first.kill()
    interrupted = await stack.operation(operation.operation_id)
    second = first.restarted()
    try:

        async def finished() -> bool:
            return (await stack.operation(operation.operation_id)).status is not (
                OperationStatus.PENDING
            )

        await wait_for(finished, 150, "the sync run again to its end")
    finally:
        code = second.stop(40)
    assert code == 0, second.output()[-3000:]  # a graceful stop

    done = await stack.operation(operation.operation_id)
    assert interrupted.status is OperationStatus.PENDING
    assert interrupted.progress.processed < 20_000
    assert done.status is OperationStatus.COMPLETED
    assert done.progress.processed == 20_000 and done.progress.progress_percent == 100
    assert await stack.status() is SyncStatus.ACTIVE
    assert await stack.inventory() == stack.expected()

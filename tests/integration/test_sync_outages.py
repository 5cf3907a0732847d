"""A dependency that goes away mid-sync is waited out: the sync job retries (the one retry
rule, `brx_domain.retry`), the user stays `initial_sync` meanwhile, and once the dependency is
back the sync ends `completed` with the same inventory as an uninterrupted run. Production
wiring over the real services; each outage is made on a path of this test's own (a proxy in
front of MariaDB, a Redis server of the test's own), never by stopping a shared server.

`BRX_TEST_OUTAGE_SECONDS` (default 20) sets how long the dependency stays away."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from brx_domain.inventory import ItemPatch
from brx_domain.retry import RetryRule
from brx_domain.sync import OperationStatus, SyncStatus
from brx_domain.usecases.inventory import update_item
from brx_domain.usecases.sync import start_bulk_sync
from tests.integration.fixtures_mysql import HOST, PORT
from tests.integration.fixtures_stack import Factory
from tests.integration.tcp_proxy import TcpProxy
from tests.processes import RedisServer, brx_sync, wait_for

pytestmark = pytest.mark.integration

OUTAGE_SECONDS = float(os.environ.get("BRX_TEST_OUTAGE_SECONDS", "20"))
QUICK = RetryRule(base=0.5, cap=2.0, horizon=600)  # production's backoff, shortened


async def test_a_catalogue_outage_mid_sync_is_waited_out_and_the_sync_completes(
    stack_factory: Factory,
) -> None:
    proxy = TcpProxy(HOST, PORT, delay=0.08)  # ~80 ms per lookup: the sync takes seconds
    await proxy.start()
    stack = await stack_factory(
        5000, chunk_size=100, mysql_port=proxy.port, env={"CATALOGUE_CACHE_SECONDS": "0"}
    )
    operation = await start_bulk_sync(stack.ports, stack.user_id)
    op_id = operation.operation_id
    workers = asyncio.create_task(stack.run_workers(retry=QUICK, seconds=OUTAGE_SECONDS + 120))
    try:

        async def some_chunks_written() -> bool:
            return (await stack.operation(op_id)).progress.processed_chunks >= 3

        await wait_for(some_chunks_written, 60, "3 chunks written")
        await proxy.cut()

        async def retrying() -> bool:
            return bool((await stack.operation(op_id)).metadata.get("retrying"))

        await wait_for(retrying, 30, "the sync to retry")
        await asyncio.sleep(OUTAGE_SECONDS)
        during = (await stack.operation(op_id), await stack.status())
        await proxy.start()
        await workers
    finally:
        workers.cancel()
        await proxy.cut()

    done = await stack.operation(op_id)
    assert during[0].status is OperationStatus.PENDING
    assert "catalogue is unavailable" in str(during[0].metadata["last_error"])
    assert during[1] is SyncStatus.INITIAL_SYNC
    assert done.status is OperationStatus.COMPLETED, done.metadata.get("error")
    assert int(done.metadata["attempts"]) >= 2
    assert done.progress.processed == 5000 and done.progress.progress_percent == 100
    assert await stack.status() is SyncStatus.ACTIVE
    assert await stack.inventory() == stack.expected()


async def test_the_worker_outlives_a_redis_outage_mid_sync_and_sends_what_it_missed(
    stack_factory: Factory, own_redis: RedisServer, tmp_path: Path
) -> None:
    stack = await stack_factory(5000, chunk_size=100, queue_redis_url=own_redis.url)
    operation = await start_bulk_sync(stack.ports, stack.user_id)
    op_id = operation.operation_id
    worker = brx_sync("worker", ["worker"], {**os.environ, **stack.env}, tmp_path).start()
    try:

        async def some_chunks_written() -> bool:
            return (await stack.operation(op_id)).progress.processed_chunks >= 3

        await wait_for(some_chunks_written, 60, "3 chunks written")
        own_redis.kill()
        async with stack.ports.uow() as uow:
            (item,), _ = await uow.items.list(stack.user_id, 1, 0)
        edit = await update_item(stack.ports, stack.user_id, item.id, ItemPatch(quantity=77))
        await asyncio.sleep(OUTAGE_SECONDS)
        alive_through_outage = worker.alive()
        edit_during = await stack.operation(str(edit.task_id))
        own_redis.start()
        back = time.monotonic()

        async def edit_landed() -> bool:
            return (await stack.operation(str(edit.task_id))).status is OperationStatus.COMPLETED

        await wait_for(edit_landed, 60, "the edit to land")
        landed_after = time.monotonic() - back

        async def sync_ended() -> bool:
            return (await stack.operation(op_id)).status is not OperationStatus.PENDING

        await wait_for(sync_ended, 120, "the sync to end")
    finally:
        code = worker.stop(40)
        errors = worker.output()

    remote = {str(p["id"]): p["quantity"] for p in stack.sandbox.export()}
    assert alive_through_outage, errors[-2000:]
    assert code == 0, errors[-2000:]
    assert "Traceback" not in errors, errors[-2000:]  # e.g. aiomysql's "Event loop is closed"
    assert edit.task_id is not None and edit_during.status is OperationStatus.PENDING
    assert landed_after < 10  # "within seconds": a reconnect wait (<= 2.4 s) and one re-send
    assert remote[str(item.external_stock_id)] == 77
    assert (await stack.operation(op_id)).status is OperationStatus.COMPLETED
    assert await stack.status() is SyncStatus.ACTIVE
    assert await stack.inventory() == stack.expected()

"""A dependency that goes away mid-sync is waited out: the sync job retries (the one retry
rule, `brx_domain.retry`), the user stays `initial_sync` meanwhile, and once the dependency is
back the sync ends `completed` with the same inventory as an uninterrupted run. Production
wiring over the real services; each outage is made on a path of this test's own (a proxy in
front of MariaDB, a Redis server of the test's own), never by stopping a shared server.

`BRX_TEST_OUTAGE_SECONDS` (default 20) sets how long the dependency stays away."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable

import pytest

from brx_domain.inventory import ItemPatch
from brx_domain.retry import RetryRule
from brx_domain.sync import OperationStatus, SyncStatus
from brx_domain.usecases.inventory import update_item
from brx_domain.usecases.sync import start_bulk_sync
from tests.integration.fixtures_mysql import HOST, PORT
from tests.integration.fixtures_redis import OwnRedis
from tests.integration.fixtures_stack import Factory
from tests.integration.tcp_proxy import TcpProxy

pytestmark = pytest.mark.integration

OUTAGE_SECONDS = float(os.environ.get("BRX_TEST_OUTAGE_SECONDS", "20"))
QUICK = RetryRule(base=0.5, cap=2.0, horizon=600)  # production's backoff, shortened


async def wait_until(check: Callable[[], Awaitable[bool]], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not await check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


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

        await wait_until(some_chunks_written, 60)
        await proxy.cut()

        async def retrying() -> bool:
            return bool((await stack.operation(op_id)).metadata.get("retrying"))

        await wait_until(retrying, 30)
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


def worker_process(env: dict[str, str]) -> subprocess.Popen[bytes]:
    """`brx-sync worker` for every queue, as production runs it; stderr kept for the checks."""
    return subprocess.Popen(
        [sys.executable, "-m", "brx_app.cli", "worker"],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


async def test_the_worker_outlives_a_redis_outage_mid_sync_and_sends_what_it_missed(
    stack_factory: Factory, own_redis: OwnRedis
) -> None:
    stack = await stack_factory(5000, chunk_size=100, queue_redis_url=own_redis.url)
    operation = await start_bulk_sync(stack.ports, stack.user_id)
    op_id = operation.operation_id
    worker = worker_process(stack.env)
    try:

        async def some_chunks_written() -> bool:
            return (await stack.operation(op_id)).progress.processed_chunks >= 3

        await wait_until(some_chunks_written, 60)
        own_redis.kill()
        async with stack.ports.uow() as uow:
            (item,), _ = await uow.items.list(stack.user_id, 1, 0)
        edit = await update_item(stack.ports, stack.user_id, item.id, ItemPatch(quantity=77))
        await asyncio.sleep(OUTAGE_SECONDS)
        alive_through_outage = worker.poll() is None
        edit_during = await stack.operation(str(edit.task_id))
        own_redis.start()
        back = time.monotonic()

        async def edit_landed() -> bool:
            return (await stack.operation(str(edit.task_id))).status is OperationStatus.COMPLETED

        await wait_until(edit_landed, 60)
        landed_after = time.monotonic() - back

        async def sync_ended() -> bool:
            return (await stack.operation(op_id)).status is not OperationStatus.PENDING

        await wait_until(sync_ended, 120)
    finally:
        worker.send_signal(signal.SIGTERM)
        code = worker.wait(40)
        errors = worker.stderr.read().decode() if worker.stderr else ""

    remote = {str(p["id"]): p["quantity"] for p in stack.sandbox.export()}
    assert alive_through_outage, errors[-2000:]
    assert code == 0, errors[-2000:]
    assert "Traceback" not in errors, errors[-2000:]  # e.g. aiomysql's "Event loop is closed"
    assert edit.task_id is not None and edit_during.status is OperationStatus.PENDING
    assert landed_after < 20  # "within seconds": a reconnect wait (<= 10 s) and one re-send
    assert remote[str(item.external_stock_id)] == 77
    assert (await stack.operation(op_id)).status is OperationStatus.COMPLETED
    assert await stack.status() is SyncStatus.ACTIVE
    assert await stack.inventory() == stack.expected()

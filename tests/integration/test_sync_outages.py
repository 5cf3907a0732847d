"""A dependency that goes away mid-sync is waited out: the sync job retries (the one retry
rule, `brx_domain.retry`), the user stays `initial_sync` meanwhile, and once the dependency is
back the sync ends `completed` with the same inventory as an uninterrupted run. Production
wiring over the real services; each outage is made on a path of this test's own (a proxy in
front of MariaDB), never by stopping a shared server.

`BRX_TEST_OUTAGE_SECONDS` (default 20) sets how long the dependency stays away."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable

import pytest

from brx_domain.retry import RetryRule
from brx_domain.sync import OperationStatus, SyncStatus
from brx_domain.usecases.sync import start_bulk_sync
from tests.integration.fixtures_mysql import HOST, PORT
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

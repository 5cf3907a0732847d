"""An open circuit defers a job instead of spending its tries: an edit pushed while CardTrader
answers 5xx again and again lands once CardTrader recovers, however many failures that took
within the retry horizon; one past the horizon ends `failed` with CardTrader's own error.

Real arq worker on Redis and Postgres, the CardTrader client over HTTP against the sandbox with
its `fail_next` fault (the next n requests answer 502). The breaker's cool-down and the
backoffs are shortened so a dozen failures take seconds; their rule is production's."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from arq.connections import RedisSettings
from cryptography.fernet import Fernet
from sqlalchemy.ext.asyncio import AsyncEngine

from brx_adapters.cardtrader import CardTraderGateway, RetryPolicy
from brx_adapters.crypto import FernetCipher
from brx_adapters.memory import MemoryCatalogue, MemoryRateLimiter
from brx_adapters.postgres import PostgresProductLocks, PostgresUnitOfWorkFactory
from brx_adapters.queue import ArqTaskQueue
from brx_adapters.system import SystemClock, UuidIds
from brx_app.worker import Lifecycle, build_workers
from brx_app.worker_run import serve
from brx_domain.inventory import ItemPatch
from brx_domain.jobs import Priority
from brx_domain.retry import RetryRule
from brx_domain.sync import OperationStatus, SyncOperation
from brx_domain.usecases.common import Ports
from brx_domain.usecases.inventory import update_item
from brx_domain.usecases.sync import start_bulk_sync
from brx_domain.usecases.users import register_user
from tests.integration.fixtures_sandbox import SandboxFactory, SandboxHandle

pytestmark = pytest.mark.integration

TOKEN = "breaker-token"
QUICK = RetryRule(base=0.2, cap=1.0, horizon=600)


@pytest.fixture
def sandbox(sandbox_factory: SandboxFactory) -> SandboxHandle:
    return sandbox_factory(products=20, tokens=[TOKEN], seed=5)


@pytest.fixture
async def ports(
    sandbox: SandboxHandle,
    engine: AsyncEngine,
    uow_factory: PostgresUnitOfWorkFactory,
    redis_url: str,
    redis_prefix: str,
) -> AsyncIterator[Ports]:
    clock = SystemClock()
    http = httpx.AsyncClient(timeout=10)
    queue = ArqTaskQueue.from_url(redis_url, namespace=redis_prefix)
    gateway = CardTraderGateway(
        http,
        base_url=sandbox.base_url,
        limiter=MemoryRateLimiter(clock),
        policy=RetryPolicy(base=0.05, cap=0.2, total=5),
        breaker_cooldown=1.0,
    )
    yield Ports(
        uow=uow_factory,
        queue=queue,
        clock=clock,
        ids=UuidIds(),
        cipher=FernetCipher([Fernet.generate_key().decode()]),
        marketplace=gateway,
        catalogue=MemoryCatalogue(None),
        locks=PostgresProductLocks(engine),
    )
    await queue.close()
    await http.aclose()


RunWorkers = Callable[[RetryRule], Awaitable[None]]


@pytest.fixture
def run_workers(ports: Ports, redis_url: str, redis_prefix: str) -> RunWorkers:
    """Burst workers of every queue until the queues are empty (a deferred job still counts)."""

    async def run(rule: RetryRule) -> None:
        async def make() -> tuple[Ports, Callable[[], Awaitable[None]]]:
            async def keep_open() -> None:
                return None

            return ports, keep_open

        lifecycle = Lifecycle(make, namespace=redis_prefix, periodic_minutes=0)
        workers = build_workers(
            lifecycle, list(Priority), redis_settings=RedisSettings.from_dsn(redis_url),
            burst=True, poll_delay=0.05, retry=rule,
        )  # fmt: skip
        await asyncio.wait_for(serve(workers, lifecycle, burst=True, grace=5), 120)

    return run


async def _edit_with_failures(
    ports: Ports, sandbox: SandboxHandle, run_workers: RunWorkers, failures: int, rule: RetryRule
) -> tuple[SyncOperation, int, int]:
    """(the edit's operation, its CardTrader product id, the quantity CardTrader ended with)."""
    user_id = uuid.uuid4()
    await register_user(ports, user_id, TOKEN)
    await start_bulk_sync(ports, user_id)
    await run_workers(QUICK)
    async with ports.uow() as uow:
        (item,), _ = await uow.items.list(user_id, 1, 0)
    sandbox.set_faults(fail_next=failures)

    change = await update_item(ports, user_id, item.id, ItemPatch(quantity=item.quantity + 40))
    await run_workers(rule)

    async with ports.uow() as uow:
        operation = await uow.operations.get(str(change.task_id))
    assert operation is not None
    sandbox.set_faults(fail_next=0)  # CardTrader recovers (if it had not yet), to be read
    remote = {p["id"]: p["quantity"] for p in sandbox.export()}
    product_id = int(str(item.external_stock_id))
    return operation, item.quantity + 40, remote[product_id]


@pytest.mark.parametrize("failures", [8, 12])
async def test_an_edit_lands_once_cardtrader_recovers_from_consecutive_5xx(
    ports: Ports, sandbox: SandboxHandle, run_workers: RunWorkers, failures: int
) -> None:
    operation, wanted, remote = await _edit_with_failures(
        ports, sandbox, run_workers, failures, QUICK
    )

    assert operation.status is OperationStatus.COMPLETED, operation.metadata.get("error")
    assert remote == wanted
    assert int(operation.metadata["attempts"]) > 3  # deferred by the open circuit, not spent


async def test_an_edit_past_the_horizon_ends_failed_with_cardtraders_error(
    ports: Ports, sandbox: SandboxHandle, run_workers: RunWorkers
) -> None:
    operation, wanted, remote = await _edit_with_failures(
        ports, sandbox, run_workers, 10_000, RetryRule(base=0.2, cap=0.5, horizon=3)
    )

    assert operation.status is OperationStatus.FAILED
    assert "answered 502" in str(operation.metadata["error"])  # the sandbox's failure, not ours
    assert remote != wanted

"""The production wiring (`build_container`) over the real services, for tests of whole paths:
the CardTrader sandbox over HTTP, Postgres, Redis (queue and rate limits), the MariaDB
catalogue, and arq workers run in this process. `stack_factory(products, chunk_size=...,
mysql_port=..., queue_redis_url=..., env=...)` builds one per test; the ports let an outage
test point the catalogue through a proxy it cuts, or Redis at a server of its own."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from arq.connections import RedisSettings
from cryptography.fernet import Fernet

from brx_app.config import load_config
from brx_app.container import build_container
from brx_app.worker import Lifecycle, build_workers
from brx_app.worker_run import serve
from brx_domain.jobs import Priority
from brx_domain.retry import RetryRule
from brx_domain.sync import SyncOperation, SyncStatus
from brx_domain.usecases.common import Ports
from brx_domain.usecases.users import register_user
from tests.integration.fixtures_mysql import HOST, PASSWORD, PORT, USER, CatalogueDatabase
from tests.integration.fixtures_sandbox import SandboxHandle

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

    async def run_workers(self, retry: RetryRule | None = None, seconds: float = 120) -> None:
        """arq workers of every queue in this process, until the queues are empty (a job
        deferred for a retry is still queued)."""

        async def make() -> tuple[Ports, Callable[[], Awaitable[None]]]:
            async def keep_open() -> None:
                return None

            return self.ports, keep_open

        lifecycle = Lifecycle(make, namespace=self.namespace, periodic_minutes=0)
        workers = build_workers(
            lifecycle, list(Priority), redis_settings=RedisSettings.from_dsn(self.redis_url),
            burst=True, poll_delay=0.05, retry=retry,
        )  # fmt: skip
        await asyncio.wait_for(serve(workers, lifecycle, burst=True, grace=5), seconds)


@pytest.fixture
async def stack_factory(
    sandbox_factory: Callable[..., SandboxHandle],
    catalogue_factory: Callable[..., CatalogueDatabase],
    postgres_url: str,
    redis_url: str,
    redis_prefix: str,
) -> AsyncIterator[Callable[..., Awaitable[Stack]]]:
    closers: list[Callable[[], Awaitable[Any]]] = []

    async def make(
        products: int,
        chunk_size: int = 1000,
        *,
        mysql_port: int = PORT,
        queue_redis_url: str | None = None,
        env: dict[str, str] | None = None,
        **faults: Any,
    ) -> Stack:
        own_redis = queue_redis_url or redis_url
        token = f"tok-{uuid.uuid4().hex[:8]}"
        sandbox = sandbox_factory(products=products, tokens=[token], seed=21, **faults)
        blueprints = sorted({p["blueprint_id"] for p in sandbox.export()})
        known = {b for b in blueprints if b % 10 != 3}  # about a tenth is not in the catalogue
        unknown = set(blueprints) - known
        catalogue = catalogue_factory(
            {"cards_prints": sorted(known)[::2], "pk_prints": sorted(known)[1::2],
             "op_prints": sorted(unknown)[:50]}
        )  # fmt: skip
        settings = {
            "ENVIRONMENT": "test", "DATABASE_URL": postgres_url, "REDIS_URL": own_redis,
            "MYSQL_HOST": HOST, "MYSQL_PORT": str(mysql_port), "MYSQL_USER": USER,
            "MYSQL_PASSWORD": PASSWORD, "MYSQL_DATABASE": catalogue.name,
            "CARDTRADER_API_BASE_URL": sandbox.base_url,
            "FERNET_KEY": Fernet.generate_key().decode(),
            "SYNC_CHUNK_SIZE": str(chunk_size), "BRX_QUEUE_NAMESPACE": redis_prefix,
            "WORKER_METRICS_PORT": "0",  # worker processes of parallel runs share this host
            **(env or {}),
        }  # fmt: skip
        container = build_container(load_config(**settings))
        closers.append(container.runtime().close)
        ports = container.ports()
        stack = Stack(sandbox, ports, settings, known, own_redis, redis_prefix)
        await register_user(ports, stack.user_id, token)
        return stack

    yield make
    for close in closers:
        await close()


Factory = Callable[..., Awaitable[Stack]]

"""Bulk sync and reconciliation on real Postgres with the MariaDB catalogue (CardTrader played
by the in-memory fake; the sandbox-over-HTTP tests are in test_sync_sandbox.py)."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator, Callable, Collection
from dataclasses import replace

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from brx_adapters.crypto import FernetCipher
from brx_adapters.memory import MemoryMarketplaceGateway, MemoryProductLocks, MemoryTaskQueue
from brx_adapters.postgres import PostgresUnitOfWorkFactory
from brx_adapters.system import SystemClock, UuidIds
from brx_app.jobs import run_job
from brx_domain.errors import SyncInProgress
from brx_domain.inventory import Properties
from brx_domain.ports import BlueprintCatalogue
from brx_domain.sync import OperationStatus, SyncStatus
from brx_domain.usecases.common import Ports, Settings
from brx_domain.usecases.sync import request_reconciliation, start_bulk_sync
from brx_domain.usecases.users import register_user
from tests.integration.fixtures_mysql import CatalogueDatabase

pytestmark = pytest.mark.integration

TOKEN = "pg-sync-token"
KNOWN = list(range(1000, 1400))  # blueprints in the catalogue
UNKNOWN = list(range(5000, 5050))  # blueprints the shop does not sell
OP_PRINTS = list(range(7000, 7010))  # One Piece: in the catalogue database, never imported


class Watched:
    """The catalogue, noting the operation's progress each time a chunk asks it."""

    def __init__(self, inner: BlueprintCatalogue) -> None:
        self.inner = inner
        self.before_chunk: list[Callable[[], object]] = []

    async def known(self, blueprint_ids: Collection[int]) -> set[int]:
        for hook in self.before_chunk:
            await hook()  # type: ignore[misc]
        return await self.inner.known(blueprint_ids)


@pytest.fixture
async def catalogue(catalogue_factory: Callable[..., CatalogueDatabase]) -> AsyncIterator[Watched]:
    database = catalogue_factory(
        {"cards_prints": KNOWN[:200], "pk_prints": KNOWN[200:], "op_prints": OP_PRINTS}
    )
    mysql = database.catalogue()
    yield Watched(mysql)
    await mysql.close()


@pytest.fixture
def gateway() -> MemoryMarketplaceGateway:
    gateway = MemoryMarketplaceGateway()
    account = gateway.add_account(TOKEN)
    rng = random.Random(5)
    blueprints = KNOWN * 11 + UNKNOWN * 8 + OP_PRINTS * 10  # 4400 + 400 + 100 = 4900 ...
    blueprints += KNOWN[:100]  # ... + 100 = 5000 products
    for blueprint_id in blueprints:
        props = Properties.trusted({"condition": "Near Mint", "mtg_language": "en"})
        account.add_product(blueprint_id, rng.randint(1, 9), rng.randint(5, 5000), props)
    return gateway


@pytest.fixture
async def ports(
    uow_factory: PostgresUnitOfWorkFactory, gateway: MemoryMarketplaceGateway, catalogue: Watched
) -> Ports:
    return Ports(
        uow=uow_factory,
        queue=MemoryTaskQueue(),
        clock=SystemClock(),
        ids=UuidIds(),
        cipher=FernetCipher([Fernet.generate_key().decode()]),
        marketplace=gateway,
        catalogue=catalogue,
        locks=MemoryProductLocks(),
        settings=Settings(chunk_size=1000),
    )


async def _user(ports: Ports) -> uuid.UUID:
    user_id = uuid.uuid4()
    await register_user(ports, user_id, TOKEN)
    return user_id


async def _run_queued(ports: Ports) -> None:
    assert isinstance(ports.queue, MemoryTaskQueue)
    while jobs := ports.queue.pop_all():
        for job in jobs:
            await run_job(ports, job.job, job.job_id)


async def _inventory(ports: Ports, user_id: uuid.UUID) -> dict[str, tuple[int, int, int]]:
    async with ports.uow() as uow:
        items, _ = await uow.items.list(user_id, 10_000, 0)
    return {str(i.external_stock_id): (i.blueprint_id, i.quantity, i.price_cents) for i in items}


def _expected(gateway: MemoryMarketplaceGateway) -> dict[str, tuple[int, int, int]]:
    account = gateway.for_token(TOKEN)
    return {
        str(p.id): (p.blueprint_id, p.quantity, p.price_cents)
        for p in account.products.values()
        if p.blueprint_id in KNOWN
    }


async def test_a_5000_product_sync_imports_what_the_catalogue_knows_with_rising_progress(
    ports: Ports, gateway: MemoryMarketplaceGateway, catalogue: Watched
) -> None:
    user_id = await _user(ports)
    operation = await start_bulk_sync(ports, user_id)
    percents: list[int] = []

    async def note() -> None:
        async with ports.uow() as uow:
            current = await uow.operations.get(operation.operation_id)
        assert current is not None
        percents.append(current.progress.progress_percent)

    catalogue.before_chunk.append(note)
    await _run_queued(ports)

    async with ports.uow() as uow:
        done = await uow.operations.get(operation.operation_id)
        settings = await uow.settings.get(user_id)
    assert done is not None and settings is not None
    progress = done.progress
    assert done.status is OperationStatus.COMPLETED
    assert (progress.total_products, progress.created, progress.skipped) == (5000, 4500, 500)
    assert progress.progress_percent == 100 and progress.processed_chunks == 5
    assert percents == sorted(percents) and len(percents) == 5
    assert settings.sync_status is SyncStatus.ACTIVE and settings.last_sync_at is not None
    assert await _inventory(ports, user_id) == _expected(gateway)


async def test_a_re_sync_converges_exactly_after_changes_and_deletions(
    ports: Ports, gateway: MemoryMarketplaceGateway
) -> None:
    user_id = await _user(ports)
    await start_bulk_sync(ports, user_id)
    await _run_queued(ports)
    account = gateway.for_token(TOKEN)
    products = sorted(account.products.values(), key=lambda p: p.id)
    for product in products[:300]:
        account.products[product.id] = replace(product, quantity=product.quantity + 1)
    for product in products[300:500]:
        del account.products[product.id]

    again = await start_bulk_sync(ports, user_id)
    await _run_queued(ports)

    async with ports.uow() as uow:
        done = await uow.operations.get(again.operation_id)
    assert done is not None and done.status is OperationStatus.COMPLETED
    changed = sum(1 for p in products[:300] if p.blueprint_id in KNOWN)
    gone = sum(1 for p in products[300:500] if p.blueprint_id in KNOWN)
    assert (done.progress.updated, done.progress.deleted, done.progress.created) == (
        changed,
        gone,
        0,
    )
    assert await _inventory(ports, user_id) == _expected(gateway)


async def test_a_dry_run_reconciliation_counts_the_plan_and_changes_nothing(
    ports: Ports, gateway: MemoryMarketplaceGateway
) -> None:
    user_id = await _user(ports)
    await start_bulk_sync(ports, user_id)
    await _run_queued(ports)
    before = await _inventory(ports, user_id)
    account = gateway.for_token(TOKEN)
    first = min(
        (p for p in account.products.values() if p.blueprint_id in KNOWN), key=lambda p: p.id
    )
    account.products[first.id] = replace(first, price_cents=first.price_cents + 1)
    account.add_product(KNOWN[0], 2, 300)

    operation = await request_reconciliation(ports, user_id, dry_run=True)
    await _run_queued(ports)

    async with ports.uow() as uow:
        done = await uow.operations.get(operation.operation_id)
    assert done is not None
    assert (done.progress.created, done.progress.updated) == (1, 1)
    assert await _inventory(ports, user_id) == before


async def test_concurrent_starts_run_one_sync(ports: Ports) -> None:
    user_id = await _user(ports)

    outcomes = await asyncio.gather(
        *(start_bulk_sync(ports, user_id) for _ in range(8)), return_exceptions=True
    )

    started = [o for o in outcomes if not isinstance(o, BaseException)]
    refused = [o for o in outcomes if isinstance(o, SyncInProgress)]
    assert (len(started), len(refused)) == (1, 7)


async def test_a_large_import_leaves_the_planner_statistics_of_what_it_wrote(
    ports: Ports, engine: AsyncEngine
) -> None:
    """Without ANALYZE the planner keeps the row count it had before the import (autovacuum,
    which would catch up some time later, is off for the table here)."""
    user_id = await _user(ports)
    statistics = text(
        "SELECT c.reltuples, (SELECT count(*) FROM user_inventory_items) FROM pg_class c "
        "WHERE c.relname = 'user_inventory_items'"
    )
    async with engine.begin() as conn:
        await conn.execute(text("ALTER TABLE user_inventory_items SET (autovacuum_enabled = off)"))
    try:
        await start_bulk_sync(ports, user_id)
        await _run_queued(ports)
        async with engine.connect() as conn:
            planned, actual = (await conn.execute(statistics)).one()
    finally:
        async with engine.begin() as conn:
            await conn.execute(text("ALTER TABLE user_inventory_items RESET (autovacuum_enabled)"))
    assert actual >= 4500 and planned == actual

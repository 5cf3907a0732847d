"""Driver errors arrive as the domain's errors, as the ports promise."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from brx_adapters.postgres import PostgresProductLocks, PostgresUnitOfWorkFactory, create_engine
from brx_adapters.postgres.engine import async_url
from brx_domain.errors import Conflict, DependencyUnavailable, InvalidInput
from brx_domain.inventory import InventoryItem, Properties
from brx_domain.retry import RetryRule

pytestmark = pytest.mark.integration


def item(quantity: int = 2) -> InventoryItem:
    return InventoryItem(0, uuid.uuid4(), 16, quantity, 100, Properties(), external_stock_id="77")


async def test_adding_the_same_cardtrader_product_twice_is_a_conflict(
    uow_factory: PostgresUnitOfWorkFactory,
) -> None:
    first = item()
    async with uow_factory() as uow:
        await uow.items.add(first)
        with pytest.raises(Conflict):
            await uow.items.add(first)


async def test_a_negative_quantity_is_invalid_input_naming_the_field(
    uow_factory: PostgresUnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        stored = await uow.items.add(item())
        with pytest.raises(InvalidInput) as raised:
            await uow.items.save(replace(stored, quantity=-1))

    assert raised.value.field == "quantity"


async def test_an_unreachable_database_is_dependency_unavailable() -> None:
    engine = create_engine("postgresql://postgres@127.0.0.1:1/none", pool_size=1, max_overflow=0)
    try:
        with pytest.raises(DependencyUnavailable):
            async with PostgresUnitOfWorkFactory(engine)() as uow:
                await uow.items.count(uuid.uuid4())
    finally:
        await engine.dispose()


async def test_a_pool_with_no_connection_free_in_time_is_a_transient_error(
    postgres_url: str,
) -> None:
    """The 429 storm's lost decrements: with every connection of a process's pool held (push
    jobs holding a product lock, each waiting for one more), SQLAlchemy's checkout times out
    with its own `TimeoutError`. That is a busy store, so a unit of work and a product lock
    raise DependencyUnavailable and the job is retried; raw, the retry rule gave up at once."""
    engine = create_async_engine(
        async_url(postgres_url), pool_size=1, max_overflow=0, pool_timeout=0.2
    )
    try:
        async with engine.connect():  # the pool's only connection, held
            with pytest.raises(DependencyUnavailable) as in_uow:
                async with PostgresUnitOfWorkFactory(engine)() as uow:
                    await uow.items.count(uuid.uuid4())
            with pytest.raises(DependencyUnavailable) as in_lock:
                async with PostgresProductLocks(engine).hold("user:1", 5):
                    pytest.fail("the lock was taken without a connection")
        async with PostgresProductLocks(engine).hold("user:1", 5):  # free again: it works
            pass
    finally:
        await engine.dispose()

    for raised in (in_uow.value, in_lock.value):
        assert RetryRule().next_delay(raised, 1, 0.0) is not None, raised

"""Driver errors arrive as the domain's errors, as the ports promise."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest

from brx_adapters.postgres import PostgresUnitOfWorkFactory, create_engine
from brx_domain.errors import Conflict, DependencyUnavailable, InvalidInput
from brx_domain.inventory import InventoryItem, Properties

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

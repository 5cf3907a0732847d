"""The per-user item count that the unfiltered inventory page shows as its total (migration
0005): exact after imports, re-syncs, deletes, the erasure, rollbacks, hand-written statements
and concurrent writers, because the database keeps it in the transactions that change items.
(The migration's count of the items already there: test_postgres_schema.)"""

from __future__ import annotations

import asyncio
import random
import uuid
from uuid import UUID

import asyncpg
import pytest

from brx_adapters.postgres import PostgresUnitOfWorkFactory
from brx_domain.listing import InventoryQuery, InventorySort
from tests.contracts.fixtures import add_items, at, new_item, product

pytestmark = pytest.mark.integration


async def totals(
    uow_factory: PostgresUnitOfWorkFactory, url: str, user: UUID
) -> tuple[int, int, int, int]:
    """(the plain page's total, a sorted unfiltered page's total, the kept count, the rows
    counted): the pages read the kept count, so all four agree only while it is exact."""
    by_price = InventoryQuery(sort=InventorySort.PRICE_DESC)
    async with uow_factory() as uow:
        _, plain = await uow.items.list(user, 1, 0)
        _, sorted_total = await uow.items.list(user, 1, 0, by_price)
        counted = await uow.items.count(user)
    return plain, sorted_total, await kept_row(url, user) or 0, counted


async def kept_row(url: str, user: UUID) -> int | None:
    conn = await asyncpg.connect(url)
    try:
        value = await conn.fetchval(
            "SELECT items FROM user_inventory_counts WHERE user_id = $1", user
        )
    finally:
        await conn.close()
    return None if value is None else int(value)


async def test_the_total_follows_imports_resyncs_deletes_and_the_erasure(
    uow_factory: PostgresUnitOfWorkFactory, postgres_url: str
) -> None:
    user, other = uuid.uuid4(), uuid.uuid4()
    await add_items(uow_factory, new_item(other, external_stock_id="x"))
    async with uow_factory() as uow:  # a first import
        await uow.items.upsert_products(
            user, [product(n) for n in range(1, 301)], operation_id="op-1", now=at(0)
        )
        await uow.commit()
    assert await totals(uow_factory, postgres_url, user) == (300, 300, 300, 300)

    async with uow_factory() as uow:  # a re-sync: 10 changed, 50 new, 300 unchanged or updated
        chunk = [product(n, quantity=9 if n <= 10 else 4) for n in range(1, 351)]
        await uow.items.upsert_products(user, chunk, operation_id="op-2", now=at(10))
        listed = await uow.items.listed_page(user, after=None, limit=1000)
        exported = {str(n) for n in range(21, 351)}
        absent = [item_id for _, external, item_id in listed if external not in exported]
        removed = await uow.items.remove_many(user, absent)  # the 20 no longer exported
        await uow.commit()
    assert removed == 20
    assert await totals(uow_factory, postgres_url, user) == (330, 330, 330, 330)

    async with uow_factory() as uow:
        [first] = (await uow.items.list(user, 1, 0))[0]
        await uow.items.remove(user, first.id)
        await uow.items.add(new_item(user, external_stock_id="hand-made"))
        await uow.items.add(new_item(user, external_stock_id="another"))
        await uow.commit()
    assert await totals(uow_factory, postgres_url, user) == (331, 331, 331, 331)

    async with uow_factory() as uow:
        await uow.erasure.erase_user(user)
        await uow.commit()
    assert await totals(uow_factory, postgres_url, user) == (0, 0, 0, 0)
    assert await kept_row(postgres_url, user) is None  # an erased user leaves no count behind
    assert await totals(uow_factory, postgres_url, other) == (1, 1, 1, 1)


async def test_a_first_load_inserted_as_new_rows_keeps_the_total_exact(
    uow_factory: PostgresUnitOfWorkFactory, postgres_url: str
) -> None:
    """`all_new` chunks go into the items by a plain INSERT (no ON CONFLICT): one refused (a
    key stored meanwhile) and written again by the general path counts nothing twice, and one
    rolled back counts nothing."""
    user = uuid.uuid4()
    async with uow_factory() as uow:
        await uow.items.upsert_products(
            user, [product(n) for n in range(1, 301)], operation_id="op-1", now=at(0),
            all_new=True,
        )  # fmt: skip
        await uow.commit()
    assert await totals(uow_factory, postgres_url, user) == (300, 300, 300, 300)

    async with uow_factory() as uow:
        await uow.items.upsert_products(
            user, [product(n) for n in range(301, 351)], operation_id="op-2", now=at(5),
            all_new=True,
        )  # fmt: skip
        await uow.rollback()
    assert await totals(uow_factory, postgres_url, user) == (300, 300, 300, 300)

    async with uow_factory() as uow:  # 300 is stored: refused, then the general path
        await uow.items.upsert_products(
            user, [product(n) for n in range(300, 351)], operation_id="op-3", now=at(10),
            all_new=True,
        )  # fmt: skip
        await uow.commit()
    assert await totals(uow_factory, postgres_url, user) == (350, 350, 350, 350)


async def test_a_rolled_back_import_changes_no_total(
    uow_factory: PostgresUnitOfWorkFactory, postgres_url: str
) -> None:
    user = uuid.uuid4()
    await add_items(uow_factory, new_item(user, external_stock_id="kept"))
    async with uow_factory() as uow:
        await uow.items.upsert_products(
            user, [product(n) for n in range(1, 51)], operation_id="op", now=at(0)
        )
        _, inside = await uow.items.list(user, 1, 0)
        await uow.rollback()

    assert inside == 51  # the unit of work sees its own writes
    assert await totals(uow_factory, postgres_url, user) == (1, 1, 1, 1)


async def test_concurrent_writers_of_one_user_keep_the_total_exact(
    uow_factory: PostgresUnitOfWorkFactory, postgres_url: str
) -> None:
    user = uuid.uuid4()
    seeded = await add_items(
        uow_factory, *(new_item(user, external_stock_id=f"s{n}") for n in range(40))
    )
    rng = random.Random(13)
    victims = [item.id for item in seeded]
    rng.shuffle(victims)

    async def importer(turn: int) -> None:
        async with uow_factory() as uow:
            first = 1000 + turn * 100
            chunk = [product(n) for n in range(first, first + 25)]
            await uow.items.upsert_products(user, chunk, operation_id=f"op-{turn}", now=at(turn))
            await asyncio.sleep(rng.random() / 100)  # holds its transaction a while
            await uow.commit()

    async def deleter(ids: list[int]) -> None:
        async with uow_factory() as uow:
            await uow.items.remove_many(user, ids)
            await uow.commit()

    async def adder(turn: int) -> None:
        async with uow_factory() as uow:
            await uow.items.add(new_item(user, external_stock_id=f"a{turn}"))
            if turn % 3 == 0:
                await uow.rollback()
            else:
                await uow.commit()

    await asyncio.gather(
        *(importer(t) for t in range(6)),
        *(deleter(victims[n : n + 5]) for n in range(0, 30, 5)),
        *(adder(t) for t in range(9)),
    )

    # 40 seeded - 30 deleted + 6 x 25 imported + 6 of 9 added (every third rolled back)
    assert await totals(uow_factory, postgres_url, user) == (166, 166, 166, 166)


async def test_hand_written_statements_keep_the_total_exact(
    uow_factory: PostgresUnitOfWorkFactory, postgres_url: str
) -> None:
    user, other = uuid.uuid4(), uuid.uuid4()
    conn = await asyncpg.connect(postgres_url)
    try:
        await conn.execute(
            "INSERT INTO user_inventory_items (user_id, blueprint_id, quantity, price_cents)"
            " SELECT $1, n, 1, 10 FROM generate_series(1, 12) AS n",
            user,
        )
        await conn.execute(
            "UPDATE user_inventory_items SET user_id = $2 WHERE user_id = $1 AND blueprint_id <= 4",
            user,
            other,
        )
        await conn.execute("UPDATE user_inventory_items SET quantity = 3 WHERE user_id = $1", user)
        await conn.execute(
            "DELETE FROM user_inventory_items WHERE user_id = $1 AND blueprint_id = 12", user
        )
    finally:
        await conn.close()

    assert await totals(uow_factory, postgres_url, user) == (7, 7, 7, 7)
    assert await totals(uow_factory, postgres_url, other) == (4, 4, 4, 4)

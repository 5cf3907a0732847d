"""The COPY-based bulk upsert: honest counts, unchanged rows never rewritten, a ledger entry
for every quantity change, dry runs that write nothing, and set-based removal."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg
import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from brx_adapters.postgres import PostgresUnitOfWorkFactory, bulk, create_engine
from brx_domain.inventory import Properties
from brx_domain.sync import RemoteProduct, UpsertCounts

pytestmark = pytest.mark.integration

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def products(count: int, *, start: int = 1, quantity: int = 3) -> list[RemoteProduct]:
    return [
        RemoteProduct(
            id=start + n,
            blueprint_id=1000 + n % 7,
            quantity=quantity,
            price_cents=100 + n,
            properties=Properties.trusted({"condition": "Near Mint", "mtg_foil": n % 2 == 0}),
            description=f"card {n}",
        )
        for n in range(count)
    ]


async def upsert(
    uow_factory: PostgresUnitOfWorkFactory,
    user_id: UUID,
    chunk: list[RemoteProduct],
    *,
    operation_id: str = "op-1",
    dry_run: bool = False,
) -> UpsertCounts:
    async with uow_factory() as uow:
        counts = await uow.items.upsert_products(
            user_id, chunk, operation_id=operation_id, now=NOW, dry_run=dry_run
        )
        await uow.commit()
    return counts


async def row_versions(postgres_url: str, user_id: UUID) -> dict[str, str]:
    """external_stock_id -> xmin/xmax: a rewritten row gets a new xmin, a locked one an xmax."""
    conn = await asyncpg.connect(postgres_url)
    try:
        rows = await conn.fetch(
            "SELECT external_stock_id, xmin::text || '/' || xmax::text AS v"
            " FROM user_inventory_items"
            " WHERE user_id = $1",
            user_id,
        )
    finally:
        await conn.close()
    return {r["external_stock_id"]: r["v"] for r in rows}


async def ledger_of(postgres_url: str, operation_id: str) -> list[tuple[int, int]]:
    conn = await asyncpg.connect(postgres_url)
    try:
        rows = await conn.fetch(
            "SELECT delta, quantity_after FROM stock_ledger WHERE operation_id = $1"
            " AND reason = 'sync' ORDER BY id",
            operation_id,
        )
    finally:
        await conn.close()
    return [(r["delta"], r["quantity_after"]) for r in rows]


async def test_first_load_creates_every_product_with_a_ledger_entry_each(
    uow_factory: PostgresUnitOfWorkFactory, postgres_url: str
) -> None:
    user_id = uuid.uuid4()

    counts = await upsert(uow_factory, user_id, products(50), operation_id="first")

    assert counts == UpsertCounts(created=50, updated=0, unchanged=0)
    assert await ledger_of(postgres_url, "first") == [(3, 3)] * 50
    async with uow_factory() as uow:
        assert await uow.items.count(user_id) == 50


async def test_resync_rewrites_only_changed_rows_and_never_locks_the_others(
    uow_factory: PostgresUnitOfWorkFactory, postgres_url: str
) -> None:
    user_id = uuid.uuid4()
    chunk = products(20)
    await upsert(uow_factory, user_id, chunk)
    before = await row_versions(postgres_url, user_id)
    changed = [replace(p, quantity=1) if p.id <= 3 else p for p in chunk]
    changed[10] = replace(changed[10], price_cents=9999)

    counts = await upsert(uow_factory, user_id, changed, operation_id="resync")

    assert counts == UpsertCounts(created=0, updated=4, unchanged=16)
    after = await row_versions(postgres_url, user_id)
    rewritten = {key for key in before if before[key] != after[key]}
    assert rewritten == {"1", "2", "3", str(changed[10].id)}
    assert await ledger_of(postgres_url, "resync") == [(-2, 1)] * 3


async def test_resync_with_identical_products_counts_all_unchanged(
    uow_factory: PostgresUnitOfWorkFactory,
) -> None:
    user_id = uuid.uuid4()
    await upsert(uow_factory, user_id, products(10))

    counts = await upsert(uow_factory, user_id, products(10))

    assert counts == UpsertCounts(created=0, updated=0, unchanged=10)


async def test_a_property_change_alone_is_an_update(
    uow_factory: PostgresUnitOfWorkFactory,
) -> None:
    user_id = uuid.uuid4()
    chunk = products(2)
    await upsert(uow_factory, user_id, chunk)
    foil = Properties.trusted({**chunk[0].properties.to_dict(), "mtg_foil": True, "signed": True})

    counts = await upsert(uow_factory, user_id, [replace(chunk[0], properties=foil), chunk[1]])

    assert counts == UpsertCounts(created=0, updated=1, unchanged=1)
    async with uow_factory() as uow:
        item = await uow.items.get_by_external_id(user_id, chunk[0].external_stock_id)
    assert item is not None and item.properties == foil


async def test_dry_run_counts_without_writing(
    uow_factory: PostgresUnitOfWorkFactory, postgres_url: str
) -> None:
    user_id = uuid.uuid4()
    await upsert(uow_factory, user_id, products(5))
    chunk = [replace(p, quantity=9) for p in products(5)] + products(3, start=100)

    counts = await upsert(uow_factory, user_id, chunk, operation_id="dry", dry_run=True)

    assert counts == UpsertCounts(created=3, updated=5, unchanged=0)
    async with uow_factory() as uow:
        assert await uow.items.count(user_id) == 5
    assert await ledger_of(postgres_url, "dry") == []


async def test_a_product_listed_twice_in_a_chunk_is_stored_once_last_copy_winning(
    uow_factory: PostgresUnitOfWorkFactory,
) -> None:
    user_id = uuid.uuid4()
    first = products(1)[0]

    counts = await upsert(uow_factory, user_id, [first, replace(first, quantity=8)])

    assert counts == UpsertCounts(created=1, updated=0, unchanged=0)
    async with uow_factory() as uow:
        item = await uow.items.get_by_external_id(user_id, first.external_stock_id)
    assert item is not None and item.quantity == 8


async def test_two_chunks_in_one_unit_of_work_are_both_imported(
    uow_factory: PostgresUnitOfWorkFactory,
) -> None:
    user_id = uuid.uuid4()

    async with uow_factory() as uow:
        a = await uow.items.upsert_products(user_id, products(4), operation_id="x", now=NOW)
        b = await uow.items.upsert_products(
            user_id, products(4, start=50), operation_id="x", now=NOW
        )
        await uow.commit()

    assert a.created == b.created == 4
    async with uow_factory() as uow:
        assert await uow.items.count(user_id) == 8


async def test_listed_items_are_paged_by_the_unique_key_and_removed_in_one_statement(
    uow_factory: PostgresUnitOfWorkFactory,
) -> None:
    user_id = uuid.uuid4()
    chunk = products(10)
    await upsert(uow_factory, user_id, chunk)
    await upsert(uow_factory, uuid.uuid4(), chunk)  # another shop with the same products

    async with uow_factory() as uow:
        first = await uow.items.listed_page(user_id, after=None, limit=4)
        rest = await uow.items.listed_page(user_id, after=first[-1][:2], limit=10)
        one_blueprint = await uow.items.listed_page(
            user_id, after=None, limit=10, blueprint_id=1003
        )
        removed = await uow.items.remove_many(user_id, [key[2] for key in first[:3]])
        await uow.commit()

    assert len(first) == 4 and len(rest) == 6
    assert {key[1] for key in first + rest} == {p.external_stock_id for p in chunk}
    assert first + rest == sorted(first + rest)
    assert [key[1] for key in one_blueprint] == [chunk[3].external_stock_id]  # 1000 + n % 7
    assert removed == 3
    async with uow_factory() as uow:
        assert await uow.items.count(user_id) == 7
        assert await uow.items.get_by_external_id(user_id, first[0][1]) is None


async def test_a_listed_page_reads_one_range_of_the_unique_index_never_the_whole_inventory(
    uow_factory: PostgresUnitOfWorkFactory, postgres_url: str
) -> None:
    """The removal phase pages a million-item inventory: each page must be an index range
    bounded by its LIMIT (no sort of the user's rows, no scan of them)."""
    user_id = uuid.uuid4()
    await upsert(uow_factory, user_id, products(50))
    conn = await asyncpg.connect(postgres_url)
    try:
        await conn.execute("ANALYZE user_inventory_items")
        await conn.execute("SET enable_seqscan = off")  # a tiny table: seq scans win otherwise
        plan = await conn.fetchval(
            "EXPLAIN (ANALYZE, FORMAT JSON) " + bulk._LISTED_AFTER.text.replace(":user_id", "$1")
            .replace(":low", "$2").replace(":high", "$3").replace(":after_blueprint", "$4")
            .replace(":after_id", "$5").replace(":limit", "$6"),
            user_id, -(2**31), 2**31 - 1, 1002, "3", 5,
        )  # fmt: skip
    finally:
        await conn.close()
    limit = json.loads(plan)[0]["Plan"]
    scan = limit["Plans"][0]
    assert (limit["Node Type"], scan["Node Type"]) == ("Limit", "Index Scan")
    assert scan["Index Name"] in (
        "user_inventory_items_user_id_blueprint_id_external_stock_id_key",
        "idx_inventory_user_blueprint_external",  # the same key, indexed twice
    )
    assert "ROW(blueprint_id" in scan["Index Cond"]  # the page starts inside the index
    assert scan["Actual Rows"] == 5  # and stops at the LIMIT: no sort, nothing read beyond


async def test_listing_pages_in_id_order_with_the_full_count(
    uow_factory: PostgresUnitOfWorkFactory,
) -> None:
    user_id = uuid.uuid4()
    await upsert(uow_factory, user_id, products(25))

    async with uow_factory() as uow:
        first, total = await uow.items.list(user_id, 10, 0)
        last, _ = await uow.items.list(user_id, 10, 20)

    assert total == 25
    assert [i.id for i in first] == sorted(i.id for i in first)
    assert len(last) == 5 and last[0].id > first[-1].id


async def test_a_rolled_back_chunk_leaves_nothing_behind_for_the_next_one(
    postgres_url: str,
) -> None:
    engine = create_engine(postgres_url, pool_size=1, max_overflow=0)  # one reused connection
    uow_factory = PostgresUnitOfWorkFactory(engine)
    user_id = uuid.uuid4()
    try:
        async with uow_factory() as uow:
            await uow.items.upsert_products(user_id, products(6), operation_id="lost", now=NOW)
            # no commit: rolled back

        counts = await upsert(uow_factory, user_id, products(2, start=500))

        async with uow_factory() as uow:
            stored = await uow.items.count(user_id)
    finally:
        await engine.dispose()
    assert counts == UpsertCounts(created=2, updated=0, unchanged=0)
    assert stored == 2


async def test_holds_are_evaluated_only_over_the_rows_a_chunk_locked(
    uow_factory: PostgresUnitOfWorkFactory, engine: AsyncEngine
) -> None:
    """A first load's chunks lock nothing (every product is new), so they skip the holds
    statement; a re-sync chunk with a change evaluates it (and leaves held rows alone)."""
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    user_id = uuid.uuid4()
    event.listen(engine.sync_engine, "before_cursor_execute", seen)
    try:
        async with uow_factory() as uow:
            first = await uow.items.upsert_products(
                user_id, products(6), operation_id="op-1", now=NOW, hold_since=NOW
            )
            await uow.commit()
        holds_on_first_load = sum("WITH pushes" in s for s in statements)
        async with uow_factory() as uow:
            again = await uow.items.upsert_products(
                user_id, products(6, quantity=5), operation_id="op-2", now=NOW, hold_since=NOW
            )
            await uow.commit()
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", seen)

    assert (first.created, holds_on_first_load) == (6, 0)
    assert (again.updated, sum("WITH pushes" in s for s in statements)) == (6, 1)


def upserts_seen(engine: AsyncEngine) -> tuple[list[str], Any]:
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", seen)
    return statements, seen


def general_writes(statements: list[str]) -> int:
    """How many chunks went the general way (its first statement after the stage: the probe
    pass that marks new and changed rows)."""
    return sum("SET item_id = p.id" in s for s in statements)


async def test_an_all_new_chunk_is_inserted_without_the_upsert_with_the_same_ledger(
    uow_factory: PostgresUnitOfWorkFactory, engine: AsyncEngine, postgres_url: str
) -> None:
    """No lock probe and no INSERT ... ON CONFLICT: the ledger's rows those of the general
    path."""
    user_id, other = uuid.uuid4(), uuid.uuid4()
    chunk = [*products(5), *products(2, start=90, quantity=0)]
    statements, seen = upserts_seen(engine)
    try:
        async with uow_factory() as uow:
            counts = await uow.items.upsert_products(
                user_id, chunk, operation_id="op-new", now=NOW, all_new=True
            )
            await uow.commit()
        copied = general_writes(statements)
        await upsert(uow_factory, other, chunk, operation_id="op-plain")
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", seen)

    assert (counts, copied, general_writes(statements)) == (UpsertCounts(created=7), 0, 1)
    assert await ledger_of(postgres_url, "op-new") == await ledger_of(postgres_url, "op-plain")
    assert await ledger_of(postgres_url, "op-new") == [(3, 3)] * 5


async def test_an_all_new_chunk_racing_a_writer_of_one_of_its_keys_gives_way(
    uow_factory: PostgresUnitOfWorkFactory, engine: AsyncEngine, postgres_url: str
) -> None:
    """A shop create of one of the chunk's keys, not yet committed when the quick INSERT
    reaches it: the INSERT waits for it, the unique violation rolls the quick write back to its
    savepoint, and the general path updates that row and creates the others."""
    user_id = uuid.uuid4()
    chunk = products(6)
    racer = await asyncpg.connect(postgres_url)
    statements, seen = upserts_seen(engine)
    try:
        writing = racer.transaction()
        await writing.start()
        await racer.execute(
            "INSERT INTO user_inventory_items (user_id, blueprint_id, external_stock_id,"
            " quantity, price_cents) VALUES ($1, $2, $3, 1, 5)",
            user_id, chunk[3].blueprint_id, chunk[3].external_stock_id,
        )  # fmt: skip

        async def import_chunk() -> UpsertCounts:
            async with uow_factory() as uow:
                counts = await uow.items.upsert_products(
                    user_id, chunk, operation_id="op-race", now=NOW, all_new=True
                )
                await uow.commit()
            return counts

        importing = asyncio.create_task(import_chunk())
        waiting = (
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event = 'transactionid'"
        )
        watcher = await asyncpg.connect(postgres_url)  # outside a transaction: fresh figures
        try:
            while not await watcher.fetchval(waiting):
                assert not importing.done()
                await asyncio.sleep(0.01)
        finally:
            await watcher.close()
        await writing.commit()
        counts = await importing
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", seen)
        await racer.close()

    async with uow_factory() as uow:
        raced = await uow.items.get_by_external_id(user_id, chunk[3].external_stock_id)
        total = await uow.items.count(user_id)
    assert (counts, general_writes(statements)) == (UpsertCounts(created=5, updated=1), 1)
    assert raced is not None and (raced.quantity, raced.price_cents, total) == (3, 103, 6)
    assert sorted(await ledger_of(postgres_url, "op-race")) == [(2, 3)] + [(3, 3)] * 5

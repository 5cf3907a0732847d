"""Stock changes on the real Postgres under real concurrency: never oversell, never below
zero, and the ledger explains every unit."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import asyncpg
import pytest

from brx_adapters.postgres import PostgresUnitOfWorkFactory
from brx_domain.inventory import InventoryItem, LedgerEntry, Properties, StockReason
from brx_domain.sync import RemoteProduct

pytestmark = pytest.mark.integration

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


async def stocked_item(uow_factory: PostgresUnitOfWorkFactory, quantity: int) -> InventoryItem:
    user_id = uuid.uuid4()
    async with uow_factory() as uow:
        item = await uow.items.add(
            InventoryItem(0, user_id, 16, quantity, 250, Properties(), external_stock_id="9001")
        )
        await uow.commit()
    return item


async def purchase_one(uow_factory: PostgresUnitOfWorkFactory, item: InventoryItem) -> bool:
    """What `purchase_item` does with the store: take, write the ledger, commit, together."""
    async with uow_factory() as uow:
        remaining = await uow.items.take(item.user_id, item.id, 1)
        if remaining is None:
            return False
        entry = LedgerEntry(
            item.user_id, item.id, -1, StockReason.PURCHASE, str(uuid.uuid4()), NOW, remaining
        )
        await uow.ledger.add([entry])
        await uow.commit()
    return True


async def ledger_sum(postgres_url: str, item_id: int) -> tuple[int, int]:
    conn = await asyncpg.connect(postgres_url)
    try:
        row = await conn.fetchrow(
            "SELECT COALESCE(SUM(delta), 0) AS total, COUNT(*) AS n FROM stock_ledger"
            " WHERE item_id = $1",
            item_id,
        )
    finally:
        await conn.close()
    assert row is not None
    return int(row["total"]), int(row["n"])


async def test_concurrent_purchases_never_oversell(
    uow_factory: PostgresUnitOfWorkFactory, postgres_url: str
) -> None:
    item = await stocked_item(uow_factory, quantity=5)

    outcomes = await asyncio.gather(*(purchase_one(uow_factory, item) for _ in range(100)))

    assert outcomes.count(True) == 5
    async with uow_factory() as uow:
        after = await uow.items.get(item.user_id, item.id)
    assert after is not None and after.quantity == 0
    assert await ledger_sum(postgres_url, item.id) == (-5, 5)


async def test_concurrent_webhook_decrements_clamp_at_zero_and_report_what_they_applied(
    uow_factory: PostgresUnitOfWorkFactory,
) -> None:
    item = await stocked_item(uow_factory, quantity=5)

    async def decrement() -> int:
        async with uow_factory() as uow:
            change = await uow.items.adjust_by_external_id(item.user_id, "9001", -2)
            await uow.commit()
        assert change is not None
        return change[1]

    applied = await asyncio.gather(*(decrement() for _ in range(10)))

    assert sum(applied) == -5
    assert sorted(applied) == [-2, -2, -1] + [0] * 7
    async with uow_factory() as uow:
        after = await uow.items.get(item.user_id, item.id)
    assert after is not None and after.quantity == 0


async def test_a_rolled_back_purchase_leaves_stock_and_ledger_untouched(
    uow_factory: PostgresUnitOfWorkFactory, postgres_url: str
) -> None:
    item = await stocked_item(uow_factory, quantity=3)

    async with uow_factory() as uow:
        await uow.items.take(item.user_id, item.id, 2)
        await uow.ledger.add(
            [LedgerEntry(item.user_id, item.id, -2, StockReason.PURCHASE, "op", NOW, 1)]
        )  # no commit

    async with uow_factory() as uow:
        after = await uow.items.get(item.user_id, item.id)
    assert after is not None and after.quantity == 3
    assert await ledger_sum(postgres_url, item.id) == (0, 0)


async def _blocked_on_a_lock(postgres_url: str) -> None:
    """Until some session of this database waits for a row lock (no sleeping on a guess)."""
    conn = await asyncpg.connect(postgres_url)
    try:
        for _ in range(500):
            waiting = await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if waiting:
                return
            await asyncio.sleep(0.01)
    finally:
        await conn.close()
    raise AssertionError("the sync never waited for the purchase's row lock")


async def test_a_sync_delta_is_the_change_applied_when_a_purchase_commits_meanwhile(
    uow_factory: PostgresUnitOfWorkFactory, postgres_url: str
) -> None:
    """The purchase holds the row (uncommitted) while the sync's chunk is written; the ledger
    must still sum to the quantity (it read the pre-purchase snapshot: 2 for 3)."""
    item = await stocked_item(uow_factory, 5)
    seed = LedgerEntry(item.user_id, item.id, 5, StockReason.SYNC, "seed", NOW, 5)
    async with uow_factory() as uow:
        await uow.ledger.add([seed])
        await uow.commit()
    remote = RemoteProduct(9001, 16, 3, 250, Properties())

    async def sync_chunk() -> None:
        async with uow_factory() as uow:
            await uow.items.upsert_products(item.user_id, [remote], operation_id="sync", now=NOW)
            await uow.commit()

    async with uow_factory() as purchase:
        assert await purchase.items.take(item.user_id, item.id, 1) == 4
        entry = LedgerEntry(item.user_id, item.id, -1, StockReason.PURCHASE, "buy", NOW, 4)
        await purchase.ledger.add([entry])
        syncing = asyncio.create_task(sync_chunk())
        await _blocked_on_a_lock(postgres_url)
        await purchase.commit()
    await syncing

    async with uow_factory() as uow:
        now = await uow.items.get(item.user_id, item.id)
    assert now is not None and now.quantity == 3
    assert (await ledger_sum(postgres_url, item.id))[0] == 3


async def test_a_row_that_matched_the_chunk_and_is_bought_meanwhile_keeps_the_purchase(
    uow_factory: PostgresUnitOfWorkFactory, postgres_url: str
) -> None:
    """CardTrader lists 5 and so does the shop, so the sync neither locks nor rewrites the
    row: its chunk commits while a purchase (5 -> 4, uncommitted) holds the row, without
    waiting for it. The purchase, newer than the export, stands: rewriting the row to 5 would
    leave a quantity its ledger does not sum to."""
    item = await stocked_item(uow_factory, 5)
    seed = LedgerEntry(item.user_id, item.id, 5, StockReason.SYNC, "seed", NOW, 5)
    async with uow_factory() as uow:
        await uow.ledger.add([seed])
        await uow.commit()
    remote = RemoteProduct(9001, 16, 5, item.price_cents, item.properties)

    async with uow_factory() as purchase:
        assert await purchase.items.take(item.user_id, item.id, 1) == 4
        entry = LedgerEntry(item.user_id, item.id, -1, StockReason.PURCHASE, "buy", NOW, 4)
        await purchase.ledger.add([entry])
        async with uow_factory() as uow:  # times out if it waits for the row
            counts = await asyncio.wait_for(
                uow.items.upsert_products(item.user_id, [remote], operation_id="sync", now=NOW),
                timeout=30,
            )
            await uow.commit()
        await purchase.commit()

    async with uow_factory() as uow:
        now = await uow.items.get(item.user_id, item.id)
    assert counts.unchanged == 1
    assert now is not None
    assert (await ledger_sum(postgres_url, item.id))[0] == now.quantity == 4

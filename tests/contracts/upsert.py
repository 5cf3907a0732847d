"""Contract of `InventoryRepository.upsert_products`: the set-based import of one chunk."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any
from uuid import UUID

from brx_domain.inventory import StockReason
from brx_domain.ports import UnitOfWorkFactory
from brx_domain.sync import RemoteProduct, UpsertCounts
from tests.contracts.fixtures import at, product


async def test_upsert_counts_created_updated_and_unchanged(
    uow_factory: UnitOfWorkFactory, fresh_user: UUID
) -> None:
    async with uow_factory() as uow:
        first = await uow.items.upsert_products(
            fresh_user, [product(1), product(2)], operation_id="op-a", now=at(0)
        )
        await uow.commit()
    async with uow_factory() as uow:
        second = await uow.items.upsert_products(
            fresh_user,
            [product(1), product(2, quantity=9), product(3)],
            operation_id="op-b",
            now=at(10),
        )
        await uow.commit()

    assert (first.created, first.updated, first.unchanged) == (2, 0, 0)
    assert (second.created, second.updated, second.unchanged) == (1, 1, 1)


async def test_upsert_does_not_rewrite_unchanged_rows(
    uow_factory: UnitOfWorkFactory, fresh_user: UUID
) -> None:
    async with uow_factory() as uow:
        await uow.items.upsert_products(fresh_user, [product(1)], operation_id="a", now=at(0))
        await uow.commit()
    async with uow_factory() as uow:
        before = await uow.items.get_by_external_id(fresh_user, "1")
        await uow.items.upsert_products(fresh_user, [product(1)], operation_id="b", now=at(60))
        await uow.commit()
    async with uow_factory() as uow:
        after = await uow.items.get_by_external_id(fresh_user, "1")

    assert before is not None and after is not None
    assert after.updated_at == before.updated_at


async def test_upsert_records_every_quantity_change_in_the_ledger(
    uow_factory: UnitOfWorkFactory, fresh_user: UUID
) -> None:
    async with uow_factory() as uow:
        await uow.items.upsert_products(
            fresh_user, [product(1, quantity=4)], operation_id="a", now=at(0)
        )
        await uow.commit()
    async with uow_factory() as uow:
        await uow.items.upsert_products(
            fresh_user, [product(1, quantity=1)], operation_id="b", now=at(5)
        )
        await uow.commit()
    async with uow_factory() as uow:
        item = await uow.items.get_by_external_id(fresh_user, "1")
        assert item is not None
        history = await uow.ledger.history(fresh_user, item.id, 10, 0)

    assert [(e.delta, e.reason, e.operation_id) for e in history] == [
        (-3, StockReason.SYNC, "b"),
        (4, StockReason.SYNC, "a"),
    ]


async def test_upsert_dry_run_only_counts(uow_factory: UnitOfWorkFactory, fresh_user: UUID) -> None:
    async with uow_factory() as uow:
        counts = await uow.items.upsert_products(
            fresh_user, [product(1)], operation_id="a", now=at(0), dry_run=True
        )
        await uow.commit()
    async with uow_factory() as uow:
        total = await uow.items.count(fresh_user)

    assert counts.created == 1
    assert total == 0


async def test_upsert_counts_a_product_listed_twice_in_a_chunk_once(
    uow_factory: UnitOfWorkFactory, fresh_user: UUID
) -> None:
    async with uow_factory() as uow:
        counts = await uow.items.upsert_products(
            fresh_user,
            [product(1, quantity=2), product(1, quantity=5)],
            operation_id="a",
            now=at(0),
        )
        await uow.commit()
        found = await uow.items.get_by_external_id(fresh_user, "1")

    assert counts.total == 1
    assert found is not None and found.quantity == 5


def first_load_chunk() -> list[RemoteProduct]:
    """New keys with what a chunk may hold: names, an empty stock, one product twice."""
    return [
        replace(product(1, quantity=3), card_name="Lotus", expansion_name="Alpha"),
        product(2, quantity=0),
        replace(product(3, blueprint_id=17, price_cents=90), description="mint", graded=True),
        product(4, quantity=1),
        product(4, quantity=6),  # listed twice: the last copy wins
    ]


async def import_chunk(
    uow_factory: UnitOfWorkFactory, user_id: UUID, chunk: Sequence[RemoteProduct], **kw: Any
) -> UpsertCounts:
    async with uow_factory() as uow:
        counts = await uow.items.upsert_products(
            user_id, chunk, operation_id="op", now=at(30), **kw
        )
        await uow.commit()
    return counts


async def stored(uow_factory: UnitOfWorkFactory, user_id: UUID) -> list[tuple[Any, ...]]:
    """The user's items and their ledgers, without what names the user or the row."""
    async with uow_factory() as uow:
        items, total = await uow.items.list(user_id, 100, 0)
        assert total == await uow.items.count(user_id) == len(items)
        rows = []
        for item in items:
            history = await uow.ledger.history(user_id, item.id, 10, 0)
            entries = [(e.delta, e.reason, e.operation_id, e.at, e.quantity_after) for e in history]
            rows.append((replace(item, id=0, user_id=UUID(int=0)), entries))
    return sorted(rows, key=lambda row: row[0].external_stock_id or "")


async def test_an_all_new_chunk_is_stored_as_without_the_hint(
    uow_factory: UnitOfWorkFactory, fresh_user: UUID, other_user: UUID
) -> None:
    hinted = await import_chunk(uow_factory, fresh_user, first_load_chunk(), all_new=True)
    plain = await import_chunk(uow_factory, other_user, first_load_chunk())

    assert hinted == plain == UpsertCounts(created=4)
    assert await stored(uow_factory, fresh_user) == await stored(uow_factory, other_user)


async def test_an_all_new_chunk_whose_key_was_stored_meanwhile_is_imported_as_usual(
    uow_factory: UnitOfWorkFactory, fresh_user: UUID, other_user: UUID
) -> None:
    """The hint was wrong (a webhook or a shop create stored a key after the import decided):
    nothing is lost or doubled, the counts are those of the general path."""
    for user in (fresh_user, other_user):
        await import_chunk(uow_factory, user, [product(3, blueprint_id=17, quantity=2)])
    hinted = await import_chunk(uow_factory, fresh_user, first_load_chunk(), all_new=True)
    plain = await import_chunk(uow_factory, other_user, first_load_chunk())

    assert hinted == plain == UpsertCounts(created=3, updated=1)
    assert await stored(uow_factory, fresh_user) == await stored(uow_factory, other_user)


async def test_a_refused_all_new_chunk_keeps_what_its_transaction_wrote_before(
    uow_factory: UnitOfWorkFactory, fresh_user: UUID
) -> None:
    async with uow_factory() as uow:
        first = await uow.items.upsert_products(
            fresh_user, [product(1)], operation_id="a", now=at(0), all_new=True
        )
        second = await uow.items.upsert_products(
            fresh_user, [product(1, quantity=7), product(2)], operation_id="b", now=at(5),
            all_new=True,
        )  # fmt: skip
        await uow.commit()
    async with uow_factory() as uow:
        one = await uow.items.get_by_external_id(fresh_user, "1")
        total = await uow.items.count(fresh_user)

    assert (first, second) == (UpsertCounts(created=1), UpsertCounts(created=1, updated=1))
    assert one is not None and (one.quantity, total) == (7, 2)


async def test_an_all_new_dry_run_only_counts(
    uow_factory: UnitOfWorkFactory, fresh_user: UUID
) -> None:
    counts = await import_chunk(
        uow_factory, fresh_user, first_load_chunk(), dry_run=True, all_new=True
    )
    async with uow_factory() as uow:
        total = await uow.items.count(fresh_user)

    assert (counts, total) == (UpsertCounts(created=4), 0)


__all__ = [name for name in dir() if name.startswith("test_")]

"""Contract of `InventoryRepository.upsert_products`: the set-based import of one chunk."""

from __future__ import annotations

from uuid import UUID

from brx_domain.inventory import StockReason
from brx_domain.ports import UnitOfWorkFactory
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


__all__ = [name for name in dir() if name.startswith("test_")]

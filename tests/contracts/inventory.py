"""Contract of `InventoryRepository` and `LedgerRepository`, over the ports only."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from uuid import UUID

from brx_domain.inventory import LedgerEntry, Properties, StockReason
from brx_domain.ports import UnitOfWorkFactory
from tests.contracts.fixtures import add_items, at, new_item


async def test_add_assigns_an_id_and_get_returns_the_item(
    uow_factory: UnitOfWorkFactory, fresh_user: UUID
) -> None:
    (item,) = await add_items(uow_factory, new_item(fresh_user, external_stock_id="101"))

    async with uow_factory() as uow:
        found = await uow.items.get(fresh_user, item.id)

    assert item.id > 0
    assert found is not None
    assert (found.blueprint_id, found.quantity, found.external_stock_id) == (16, 4, "101")
    assert found.properties == Properties.trusted({"condition": "Near Mint", "mtg_language": "it"})


async def test_items_of_one_user_are_invisible_to_another(
    uow_factory: UnitOfWorkFactory, fresh_user: UUID, other_user: UUID
) -> None:
    (item,) = await add_items(uow_factory, new_item(fresh_user, external_stock_id="7"))

    async with uow_factory() as uow:
        assert await uow.items.get(other_user, item.id) is None
        assert await uow.items.get_by_external_id(other_user, "7") is None
        assert await uow.items.remove(other_user, item.id) is None
        assert await uow.items.take(other_user, item.id, 1) is None
        assert await uow.items.list(other_user, 10, 0) == ([], 0)


async def test_get_by_external_id_finds_the_cardtrader_product(
    uow_factory: UnitOfWorkFactory, fresh_user: UUID
) -> None:
    await add_items(uow_factory, new_item(fresh_user, external_stock_id="555"))

    async with uow_factory() as uow:
        found = await uow.items.get_by_external_id(fresh_user, "555")
        missing = await uow.items.get_by_external_id(fresh_user, "556")

    assert found is not None and found.external_stock_id == "555"
    assert missing is None


async def test_list_pages_in_id_order_with_the_total(
    uow_factory: UnitOfWorkFactory, fresh_user: UUID
) -> None:
    stored = await add_items(
        uow_factory, *[new_item(fresh_user, external_stock_id=str(n)) for n in range(5)]
    )

    async with uow_factory() as uow:
        first, total = await uow.items.list(fresh_user, 2, 0)
        rest, _ = await uow.items.list(fresh_user, 10, 2)
        count = await uow.items.count(fresh_user)

    ids = sorted(item.id for item in stored)
    assert [i.id for i in first] + [i.id for i in rest] == ids
    assert total == count == 5


async def test_save_writes_every_editable_field(
    uow_factory: UnitOfWorkFactory, fresh_user: UUID
) -> None:
    (item,) = await add_items(uow_factory, new_item(fresh_user, external_stock_id="1"))
    edited = replace(
        item,
        quantity=9,
        price_cents=199,
        properties=Properties.trusted({"condition": "Played", "signed": True}),
        description="signed by the artist",
        user_data_field="shelf 3",
        graded=True,
    )

    async with uow_factory() as uow:
        await uow.items.save(edited)
        await uow.commit()
    async with uow_factory() as uow:
        found = await uow.items.get(fresh_user, item.id)

    assert found is not None
    assert (found.quantity, found.price_cents, found.description) == (
        9,
        199,
        "signed by the artist",
    )
    assert (found.user_data_field, found.graded) == ("shelf 3", True)
    assert found.properties == edited.properties


async def test_remove_returns_the_item_once(
    uow_factory: UnitOfWorkFactory, fresh_user: UUID
) -> None:
    (item,) = await add_items(uow_factory, new_item(fresh_user))

    async with uow_factory() as uow:
        first = await uow.items.remove(fresh_user, item.id)
        second = await uow.items.remove(fresh_user, item.id)
        await uow.commit()

    assert first is not None and first.id == item.id
    assert second is None


async def test_take_subtracts_and_returns_the_remaining_quantity(
    uow_factory: UnitOfWorkFactory, fresh_user: UUID
) -> None:
    (item,) = await add_items(uow_factory, new_item(fresh_user, quantity=5))

    async with uow_factory() as uow:
        remaining = await uow.items.take(fresh_user, item.id, 3)
        short = await uow.items.take(fresh_user, item.id, 3)
        await uow.commit()
    async with uow_factory() as uow:
        found = await uow.items.get(fresh_user, item.id)

    assert (remaining, short) == (2, None)
    assert found is not None and found.quantity == 2


async def test_take_never_oversells_under_100_concurrent_tasks(
    uow_factory: UnitOfWorkFactory, fresh_user: UUID
) -> None:
    (item,) = await add_items(uow_factory, new_item(fresh_user, quantity=37))

    async def buy_one() -> int | None:
        async with uow_factory() as uow:
            remaining = await uow.items.take(fresh_user, item.id, 1)
            await uow.commit()
        return remaining

    results = await asyncio.gather(*[buy_one() for _ in range(100)])
    async with uow_factory() as uow:
        found = await uow.items.get(fresh_user, item.id)

    sold = [r for r in results if r is not None]
    assert len(sold) == 37
    assert sorted(sold) == list(range(37))  # each unit sold exactly once
    assert found is not None and found.quantity == 0


async def test_adjust_by_external_id_clamps_at_zero_and_reports_the_applied_delta(
    uow_factory: UnitOfWorkFactory, fresh_user: UUID
) -> None:
    await add_items(uow_factory, new_item(fresh_user, quantity=3, external_stock_id="42"))

    async with uow_factory() as uow:
        up = await uow.items.adjust_by_external_id(fresh_user, "42", 2)
        down = await uow.items.adjust_by_external_id(fresh_user, "42", -10)
        unknown = await uow.items.adjust_by_external_id(fresh_user, "43", -1)
        await uow.commit()

    assert up is not None and (up[0].quantity, up[1]) == (5, 2)
    assert down is not None and (down[0].quantity, down[1]) == (0, -5)
    assert unknown is None


async def test_listed_page_visits_each_listed_item_once_in_key_order_and_bounded_pages(
    uow_factory: UnitOfWorkFactory, fresh_user: UUID, other_user: UUID
) -> None:
    items = [
        new_item(fresh_user, blueprint_id=16 + n % 3, external_stock_id=f"{n}") for n in range(7)
    ]
    listed = await add_items(uow_factory, *items)
    await add_items(
        uow_factory,
        new_item(fresh_user, external_stock_id=None),  # unlisted: never paged
        new_item(other_user, external_stock_id="1"),
    )

    pages: list[list[tuple[int, str, int]]] = []
    async with uow_factory() as uow:
        after: tuple[int, str] | None = None
        while page := await uow.items.listed_page(fresh_user, after=after, limit=3):
            pages.append(page)
            after = page[-1][:2]
        one_blueprint = await uow.items.listed_page(
            fresh_user, after=None, limit=10, blueprint_id=17
        )

    keys = [key for page in pages for key in page]
    assert [len(page) for page in pages] == [3, 3, 1]
    assert keys == sorted(keys)  # each page starts after the previous one's last key
    assert sorted(key[2] for key in keys) == sorted(item.id for item in listed)
    assert {(b, e, i) for b, e, i in keys} == {
        (item.blueprint_id, item.external_stock_id, item.id) for item in listed
    }
    assert [key[1] for key in one_blueprint] == sorted(str(n) for n in range(7) if 16 + n % 3 == 17)


async def test_remove_many_removes_only_the_users_own_items(
    uow_factory: UnitOfWorkFactory, fresh_user: UUID, other_user: UUID
) -> None:
    mine_a, mine_b = await add_items(uow_factory, new_item(fresh_user), new_item(fresh_user))
    (theirs,) = await add_items(uow_factory, new_item(other_user))

    async with uow_factory() as uow:
        removed = await uow.items.remove_many(fresh_user, [mine_a.id, mine_b.id, theirs.id])
        await uow.commit()
    async with uow_factory() as uow:
        still_theirs = await uow.items.get(other_user, theirs.id)

    assert removed == 2
    assert still_theirs is not None


async def test_ledger_history_is_newest_first_and_pages(
    uow_factory: UnitOfWorkFactory, fresh_user: UUID
) -> None:
    (item,) = await add_items(uow_factory, new_item(fresh_user))
    entries = [
        LedgerEntry(fresh_user, item.id, delta, StockReason.EDIT, f"op-{n}", at(n), None)
        for n, delta in enumerate([5, -1, -2])
    ]

    async with uow_factory() as uow:
        await uow.ledger.add(entries)
        await uow.commit()
    async with uow_factory() as uow:
        page1 = await uow.ledger.history(fresh_user, item.id, 2, 0)
        page2 = await uow.ledger.history(fresh_user, item.id, 2, 2)

    assert [e.operation_id for e in page1 + page2] == ["op-2", "op-1", "op-0"]
    assert [e.delta for e in page1] == [-2, -1]


__all__ = [name for name in dir() if name.startswith("test_")]

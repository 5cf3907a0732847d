"""Contract of card names and the filtered, sorted inventory page (`InventoryRepository.list`
with an `InventoryQuery`): what each filter selects, the order of each sort, the total."""

from __future__ import annotations

from dataclasses import replace
from uuid import UUID

import pytest

from brx_domain.inventory import InventoryItem, Properties
from brx_domain.listing import InventoryQuery, InventorySort
from brx_domain.ports import UnitOfWorkFactory
from tests.contracts.fixtures import add_items, at, new_item, product

# (name, expansion, blueprint, quantity, price, external id, properties)
SHELF = [
    ("Tranquil Cove", "Core Set 2020", 16, 4, 25, "101", {"condition": "Near Mint"}),
    ("tranquil cove", "Core Set 2021", 16, 0, 30, "102", {"condition": "Played"}),
    ("Lightning Bolt", "Magic 2010", 17, 2, 150, "103", {"mtg_language": "it"}),
    ("Æther Vial", "Darksteel", 18, 1, 900, None, {"mtg_language": "jp"}),
    ("100% Pure_Luck", "Unhinged", 19, 0, 5, None, {"pokemon_language": "it"}),
    (None, None, 20, 3, 25, "104", {"condition": "Near Mint", "language": "it"}),
    ("Bolt Bend", "War of the Spark", 21, 7, 60, "105", {"condition": "Mint"}),
]


async def _shelf(uow_factory: UnitOfWorkFactory, user: UUID) -> list[InventoryItem]:
    items = [
        replace(
            new_item(user, blueprint_id=bp, quantity=qty, price_cents=price, external_stock_id=ext),
            properties=Properties.trusted(props),
            card_name=name,
            expansion_name=expansion,
        )
        for name, expansion, bp, qty, price, ext, props in SHELF
    ]
    return await add_items(uow_factory, *items)


async def _names(
    uow_factory: UnitOfWorkFactory, user: UUID, query: InventoryQuery, limit: int = 100
) -> tuple[list[str | None], int]:
    async with uow_factory() as uow:
        page, total = await uow.items.list(user, limit, 0, query)
    return [item.card_name for item in page], total


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (InventoryQuery(q="cove"), ["Tranquil Cove", "tranquil cove"]),
        (InventoryQuery(q="bolt"), ["Lightning Bolt", "Bolt Bend"]),
        (InventoryQuery(q="æther"), ["Æther Vial"]),
        (InventoryQuery(q="100%"), ["100% Pure_Luck"]),  # % and _ are literal, not wildcards
        (InventoryQuery(q="l_c"), []),  # as a wildcard _ would match "l c" of "tranquil cove"
        (InventoryQuery(q="l%v"), []),
        (InventoryQuery(q="0% p"), ["100% Pure_Luck"]),
        (InventoryQuery(blueprint_id=17), ["Lightning Bolt"]),
        (InventoryQuery(external_stock_id="104"), [None]),
        (InventoryQuery(condition="Near Mint"), ["Tranquil Cove", None]),
        (InventoryQuery(language="it"), ["Lightning Bolt", "100% Pure_Luck", None]),
        (InventoryQuery(out_of_stock=True), ["tranquil cove", "100% Pure_Luck"]),
        (InventoryQuery(unlisted=True), ["Æther Vial", "100% Pure_Luck"]),
        (
            InventoryQuery(unlisted=False, out_of_stock=False, q="o"),
            ["Tranquil Cove", "Lightning Bolt", "Bolt Bend"],
        ),
        (InventoryQuery(q="cove", condition="Played"), ["tranquil cove"]),
    ],
)
async def test_each_filter_selects_its_items_and_the_total_counts_them(
    uow_factory: UnitOfWorkFactory, fresh_user: UUID, query: InventoryQuery, expected: list[str]
) -> None:
    await _shelf(uow_factory, fresh_user)

    names, total = await _names(uow_factory, fresh_user, query, limit=2)
    all_names, _ = await _names(uow_factory, fresh_user, query)

    assert all_names == expected
    assert names == expected[:2]
    assert total == len(expected)


async def test_an_items_language_is_its_first_language_key_holding_a_string(
    uow_factory: UnitOfWorkFactory, fresh_user: UUID
) -> None:
    shelf = [
        ("Opt", {"mtg_language": 5, "pokemon_language": "jp", "language": "it"}),
        ("Duress", {"mtg_language": None, "language": "jp"}),
        ("Shock", {"mtg_language": "en", "language": "jp"}),
        ("Ponder", {"language": ["jp"]}),
    ]
    await add_items(
        uow_factory,
        *(
            replace(new_item(fresh_user), properties=Properties.trusted(props), card_name=name)
            for name, props in shelf
        ),
    )

    assert await _names(uow_factory, fresh_user, InventoryQuery(language="jp")) == (
        ["Opt", "Duress"], 2)  # fmt: skip
    assert await _names(uow_factory, fresh_user, InventoryQuery(language="it")) == ([], 0)
    assert await _names(uow_factory, fresh_user, InventoryQuery(language="en")) == (["Shock"], 1)


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        (
            InventorySort.NAME,
            ["100% Pure_Luck", "Bolt Bend", "Lightning Bolt", "Tranquil Cove", "tranquil cove",
             "Æther Vial", None],
        ),
        (
            InventorySort.NAME_DESC,
            [None, "Æther Vial", "tranquil cove", "Tranquil Cove", "Lightning Bolt", "Bolt Bend",
             "100% Pure_Luck"],
        ),
        (
            InventorySort.PRICE,
            ["100% Pure_Luck", "Tranquil Cove", None, "tranquil cove", "Bolt Bend",
             "Lightning Bolt", "Æther Vial"],
        ),
        (
            InventorySort.QUANTITY_DESC,
            ["Bolt Bend", "Tranquil Cove", None, "Lightning Bolt", "Æther Vial",
             "100% Pure_Luck", "tranquil cove"],
        ),
    ],
)  # fmt: skip
async def test_each_sort_orders_the_whole_inventory_with_ties_broken_by_id(
    uow_factory: UnitOfWorkFactory, fresh_user: UUID, sort: InventorySort, expected: list[str]
) -> None:
    await _shelf(uow_factory, fresh_user)

    names, total = await _names(uow_factory, fresh_user, InventoryQuery(sort=sort))

    assert names == expected
    assert total == len(SHELF)


@pytest.mark.parametrize("sort", list(InventorySort))
async def test_pages_of_a_sorted_filter_follow_the_domain_order_without_gaps(
    uow_factory: UnitOfWorkFactory, fresh_user: UUID, sort: InventorySort
) -> None:
    stored = await _shelf(uow_factory, fresh_user)
    query = InventoryQuery(q="l", sort=sort)
    expected = sorted(
        (item for item in stored if query.matches(item)),
        key=query.sort_key,
        reverse=sort.descending,
    )

    pages = []
    async with uow_factory() as uow:
        for offset in range(0, 8, 2):
            page, total = await uow.items.list(fresh_user, 2, offset, query)
            pages += page

    assert [item.id for item in pages] == [item.id for item in expected]
    assert total == len(expected) == 6


@pytest.mark.parametrize("sort", list(InventorySort))
async def test_a_filter_without_a_name_search_keeps_each_sort_order_and_its_unnamed_items(
    uow_factory: UnitOfWorkFactory, fresh_user: UUID, sort: InventorySort
) -> None:
    stored = await _shelf(uow_factory, fresh_user)
    query = InventoryQuery(language="it", sort=sort)  # one of its three matches has no name
    expected = sorted(
        (item for item in stored if query.matches(item)),
        key=query.sort_key,
        reverse=sort.descending,
    )

    async with uow_factory() as uow:
        first, total = await uow.items.list(fresh_user, 2, 0, query)
        rest, _ = await uow.items.list(fresh_user, 2, 2, query)
        beyond, beyond_total = await uow.items.list(fresh_user, 2, 9, query)

    assert [item.id for item in first + rest] == [item.id for item in expected]
    assert (total, beyond, beyond_total) == (3, [], 3)


async def test_filters_never_show_another_users_items(
    uow_factory: UnitOfWorkFactory, fresh_user: UUID, other_user: UUID
) -> None:
    await _shelf(uow_factory, fresh_user)

    assert await _names(uow_factory, other_user, InventoryQuery(q="cove")) == ([], 0)


async def test_import_sets_the_names_and_an_answer_without_names_keeps_them(
    uow_factory: UnitOfWorkFactory, fresh_user: UUID
) -> None:
    named = replace(product(1), card_name="Tranquil Cove", expansion_name="Core Set 2020")
    async with uow_factory() as uow:
        first = await uow.items.upsert_products(fresh_user, [named], operation_id="a", now=at(0))
        await uow.commit()
    async with uow_factory() as uow:  # same product, its answer without names, new quantity
        second = await uow.items.upsert_products(
            fresh_user, [product(1, quantity=9)], operation_id="b", now=at(5)
        )
        unnamed = await uow.items.upsert_products(
            fresh_user, [product(1, quantity=9)], operation_id="c", now=at(6)
        )
        await uow.commit()
    async with uow_factory() as uow:
        item = await uow.items.get_by_external_id(fresh_user, "1")

    assert item is not None
    assert (item.card_name, item.expansion_name, item.quantity) == (
        "Tranquil Cove",
        "Core Set 2020",
        9,
    )
    assert (first.created, second.updated, unnamed.unchanged) == (1, 1, 1)


@pytest.mark.parametrize("dry_run", [True, False])
async def test_a_renamed_card_counts_as_updated_and_takes_the_new_name(
    uow_factory: UnitOfWorkFactory, fresh_user: UUID, dry_run: bool
) -> None:
    old = replace(product(1), card_name="Tranquil Cove", expansion_name=None)
    new = replace(old, card_name="Tranquil Cove (Retro)", expansion_name="Core Set 2020")
    async with uow_factory() as uow:
        await uow.items.upsert_products(fresh_user, [old], operation_id="a", now=at(0))
        await uow.commit()
    async with uow_factory() as uow:
        counts = await uow.items.upsert_products(
            fresh_user, [new], operation_id="b", now=at(5), dry_run=dry_run
        )
        await uow.commit()
    async with uow_factory() as uow:
        item = await uow.items.get_by_external_id(fresh_user, "1")

    assert (counts.updated, counts.unchanged) == (1, 0)
    assert item is not None
    assert item.card_name == ("Tranquil Cove" if dry_run else "Tranquil Cove (Retro)")
    assert item.expansion_name == (None if dry_run else "Core Set 2020")


async def test_save_never_writes_the_names(
    uow_factory: UnitOfWorkFactory, fresh_user: UUID
) -> None:
    item = (await _shelf(uow_factory, fresh_user))[0]
    async with uow_factory() as uow:  # names are CardTrader's: not an editable field
        await uow.items.save(replace(item, quantity=1, card_name=None, expansion_name="x"))
        await uow.commit()
    async with uow_factory() as uow:
        after = await uow.items.get(fresh_user, item.id)

    assert after is not None
    assert (after.card_name, after.expansion_name, after.quantity) == (
        "Tranquil Cove",
        "Core Set 2020",
        1,
    )

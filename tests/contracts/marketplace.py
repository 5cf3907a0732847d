"""Contract of the `Marketplace` port (one seller's CardTrader), per CARDTRADER_API.md.

Use: `from tests.contracts.marketplace import *` and define a `marketplace` fixture (a
`Marketplace` whose account the tests may write to). Override `free_blueprint_id` when the
account only accepts certain blueprints.
"""

from __future__ import annotations

import random
import re

import pytest

from brx_domain.errors import MarketplaceNotFound
from brx_domain.inventory import Properties
from brx_domain.ports import Marketplace, ProductDraft
from brx_domain.sync import RemoteProduct


@pytest.fixture
def free_blueprint_id() -> int:
    """A blueprint the account is unlikely to sell already, so tests do not collide."""
    return random.randint(900_000, 999_999)


def _draft(blueprint_id: int, quantity: int = 3, price_cents: int = 150) -> ProductDraft:
    return ProductDraft(
        blueprint_id,
        quantity,
        price_cents,
        Properties.trusted({"condition": "Near Mint", "mtg_language": "en"}),
        description="contract test",
    )


async def _exported(marketplace: Marketplace, blueprint_id: int) -> list[RemoteProduct]:
    export = await marketplace.export_products(blueprint_id=blueprint_id)
    return [p async for p in export]


async def test_info_reports_a_32_character_hex_shared_secret(marketplace: Marketplace) -> None:
    info = await marketplace.info()

    assert re.fullmatch(r"[0-9a-f]{32}", info.shared_secret)


async def test_a_created_product_is_exported_with_its_fields(
    marketplace: Marketplace, free_blueprint_id: int
) -> None:
    created = await marketplace.create_product(_draft(free_blueprint_id))

    exported = await _exported(marketplace, free_blueprint_id)

    assert [(p.id, p.quantity, p.price_cents) for p in exported] == [(created.id, 3, 150)]
    assert exported[0].properties.condition == "Near Mint"


async def test_export_expected_total_is_exact_once_read(
    marketplace: Marketplace, free_blueprint_id: int
) -> None:
    await marketplace.create_product(_draft(free_blueprint_id))
    export = await marketplace.export_products(blueprint_id=free_blueprint_id)

    products = [p async for p in export]

    assert export.expected_total == len(products) == 1


async def test_an_export_reports_its_download_before_its_products(
    marketplace: Marketplace, free_blueprint_id: int
) -> None:
    await marketplace.create_product(_draft(free_blueprint_id))
    reported: list[int] = []

    async def downloaded(size: int) -> None:
        reported.append(size)

    export = await marketplace.export_products(
        blueprint_id=free_blueprint_id, on_download=downloaded
    )
    before_reading = list(reported)
    products = [p async for p in export]

    assert len(products) == 1
    assert before_reading == reported and reported == sorted(reported) and reported[-1] > 0


async def test_creating_an_identical_product_increments_it(
    marketplace: Marketplace, free_blueprint_id: int
) -> None:
    first = await marketplace.create_product(_draft(free_blueprint_id, quantity=2))
    second = await marketplace.create_product(_draft(free_blueprint_id, quantity=2))

    exported = await _exported(marketplace, free_blueprint_id)

    assert second.id == first.id
    assert [p.quantity for p in exported] == [4]


async def test_update_replaces_quantity_and_price(
    marketplace: Marketplace, free_blueprint_id: int
) -> None:
    created = await marketplace.create_product(_draft(free_blueprint_id))

    updated = await marketplace.update_product(
        created.id, _draft(free_blueprint_id, quantity=7, price_cents=999)
    )

    assert (updated.id, updated.quantity, updated.price_cents) == (created.id, 7, 999)


async def test_updating_a_missing_product_raises_not_found(
    marketplace: Marketplace, free_blueprint_id: int
) -> None:
    created = await marketplace.create_product(_draft(free_blueprint_id))
    await marketplace.delete_product(created.id)

    with pytest.raises(MarketplaceNotFound):
        await marketplace.update_product(created.id, _draft(free_blueprint_id))


async def test_delete_answers_true_then_false_once_gone(
    marketplace: Marketplace, free_blueprint_id: int
) -> None:
    created = await marketplace.create_product(_draft(free_blueprint_id))

    first = await marketplace.delete_product(created.id)
    second = await marketplace.delete_product(created.id)

    assert (first, second) == (True, False)
    assert await _exported(marketplace, free_blueprint_id) == []


async def test_increment_adds_and_subtracts(
    marketplace: Marketplace, free_blueprint_id: int
) -> None:
    created = await marketplace.create_product(_draft(free_blueprint_id, quantity=3))

    up = await marketplace.increment_quantity(created.id, 2)
    down = await marketplace.increment_quantity(created.id, -4)

    assert up is not None and up.quantity == 5
    assert down is not None and down.quantity == 1


async def test_increment_to_zero_deletes_the_product(
    marketplace: Marketplace, free_blueprint_id: int
) -> None:
    created = await marketplace.create_product(_draft(free_blueprint_id, quantity=2))

    gone = await marketplace.increment_quantity(created.id, -2)

    assert gone is None
    assert await _exported(marketplace, free_blueprint_id) == []
    assert await marketplace.find_product(created.id, blueprint_id=free_blueprint_id) is None


async def test_increment_is_not_idempotent_each_call_applies(
    marketplace: Marketplace, free_blueprint_id: int
) -> None:
    """Why the at-most-once rule lives above the port: two sends take twice."""
    created = await marketplace.create_product(_draft(free_blueprint_id, quantity=5))

    await marketplace.increment_quantity(created.id, -2)
    await marketplace.increment_quantity(created.id, -2)

    found = await marketplace.find_product(created.id, blueprint_id=free_blueprint_id)
    assert found is not None and found.quantity == 1


async def test_find_product_reads_the_listed_quantity(
    marketplace: Marketplace, free_blueprint_id: int
) -> None:
    created = await marketplace.create_product(_draft(free_blueprint_id, quantity=4))

    found = await marketplace.find_product(created.id, blueprint_id=free_blueprint_id)

    assert found is not None and (found.id, found.quantity) == (created.id, 4)


async def test_incrementing_a_missing_product_raises_not_found_or_answers_none(
    marketplace: Marketplace, free_blueprint_id: int
) -> None:
    created = await marketplace.create_product(_draft(free_blueprint_id))
    await marketplace.delete_product(created.id)

    try:
        result = await marketplace.increment_quantity(created.id, 1)
    except MarketplaceNotFound:
        result = None

    assert result is None
    assert await _exported(marketplace, free_blueprint_id) == []


__all__ = ["free_blueprint_id"] + [name for name in dir() if name.startswith("test_")]

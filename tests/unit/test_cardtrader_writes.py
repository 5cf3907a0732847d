"""Non-idempotent writes (create, increment) are applied at most once, even when an answer
is lost."""

from __future__ import annotations

import json

import pytest

from brx_domain.errors import MarketplaceOutcomeUnknown
from brx_domain.inventory import Properties
from brx_domain.ports import ProductDraft
from tests.unit.test_cardtrader_fakes import TOKEN, Fault, harness, product


def draft(quantity: int = 2, **props: object) -> ProductDraft:
    properties = Properties.trusted({"condition": "Near Mint", "mtg_language": "it", **props})
    return ProductDraft(blueprint_id=16, quantity=quantity, price_cents=25, properties=properties)


async def test_create_sends_price_in_currency_units_and_drops_read_only_and_false_foil() -> None:
    h = harness()

    await h.gateway.for_token(TOKEN).create_product(draft(mtg_foil=False, mtg_rarity="Common"))

    sent = json.loads(next(r for r in h.server.requests if r.method == "POST").content)
    assert sent["price"] == 0.25
    assert sent["properties"] == {"condition": "Near Mint", "mtg_language": "it"}


async def test_create_keeps_a_true_foil_flag() -> None:
    h = harness()

    created = await h.gateway.for_token(TOKEN).create_product(draft(mtg_foil=True))

    assert created.properties.values["mtg_foil"] is True


async def test_a_create_whose_answer_was_lost_is_not_sent_again() -> None:
    h = harness()
    h.server.faults.append(Fault("POST /products", "apply_then_timeout"))

    created = await h.gateway.for_token(TOKEN).create_product(draft(quantity=2))

    assert created.quantity == 2
    assert h.server.count("POST /products") == 1
    assert [p["quantity"] for p in h.server.products.values()] == [2]


async def test_a_create_into_an_existing_product_after_a_lost_answer_adds_only_once() -> None:
    h = harness([product(1, quantity=4)])
    h.server.faults.append(Fault("POST /products", "apply_then_timeout"))

    created = await h.gateway.for_token(TOKEN).create_product(draft(quantity=2))

    assert created.id == 1 and h.server.products[1]["quantity"] == 6


async def test_a_create_that_failed_before_applying_is_sent_again() -> None:
    h = harness()
    h.server.faults.append(Fault("POST /products", "502"))

    created = await h.gateway.for_token(TOKEN).create_product(draft(quantity=2))

    assert created.quantity == 2 and h.server.count("POST /products") == 2


async def test_a_create_refused_with_429_is_simply_retried() -> None:
    h = harness()
    h.server.faults.append(Fault("POST /products", "429"))

    await h.gateway.for_token(TOKEN).create_product(draft(quantity=2))

    assert [p["quantity"] for p in h.server.products.values()] == [2]


async def test_increment_sends_the_delta_and_returns_the_product() -> None:
    h = harness([product(1, quantity=4)])

    after = await h.gateway.for_token(TOKEN).increment_quantity(1, -1)

    assert after is not None and after.quantity == 3


async def test_an_increment_to_zero_returns_none_because_cardtrader_deletes_the_product() -> None:
    h = harness([product(1, quantity=2)])

    after = await h.gateway.for_token(TOKEN).increment_quantity(1, -2)

    assert after is None and 1 not in h.server.products


async def test_an_increment_whose_answer_was_lost_is_reported_unknown_and_never_resent() -> None:
    h = harness([product(1, quantity=4)])
    h.server.faults.append(Fault(r"POST /products/1/increment", "apply_then_timeout"))

    with pytest.raises(MarketplaceOutcomeUnknown):
        await h.gateway.for_token(TOKEN).increment_quantity(1, -1)

    assert h.server.products[1]["quantity"] == 3
    assert h.server.count(r"POST /products/1/increment") == 1


async def test_an_increment_answered_500_is_unknown_too_and_not_retried() -> None:
    h = harness([product(1, quantity=4)])
    h.server.faults.append(Fault(r"POST /products/1/increment", "500"))

    with pytest.raises(MarketplaceOutcomeUnknown):
        await h.gateway.for_token(TOKEN).increment_quantity(1, -1)

    assert h.server.count(r"POST /products/1/increment") == 1


async def test_find_product_reads_one_product_of_the_blueprint() -> None:
    h = harness([product(1, quantity=4), product(2, quantity=7)])
    market = h.gateway.for_token(TOKEN)

    found = await market.find_product(2, blueprint_id=16)
    missing = await market.find_product(3, blueprint_id=16)

    assert found is not None and found.quantity == 7
    assert missing is None

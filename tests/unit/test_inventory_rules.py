"""The inventory rules and vocabulary, one example each (input shapes: tests/unit/http)."""

from __future__ import annotations

import dataclasses
import uuid

import pytest

from brx_domain.errors import InsufficientStock, NotListedOnCardTrader
from brx_domain.inventory import (
    CONDITION_SPELLINGS,
    LANGUAGE_SPELLINGS,
    InventoryItem,
    ItemPatch,
    Properties,
    check_purchase,
)

ITEM = InventoryItem(1, uuid.uuid4(), 16, 3, 25, external_stock_id="101")


def test_an_item_built_as_stored_is_the_item_and_as_frozen() -> None:
    values = {f.name: getattr(ITEM, f.name) for f in dataclasses.fields(InventoryItem)}
    stored = InventoryItem.stored(**values)
    assert stored == ITEM
    assert dataclasses.replace(stored, quantity=4) == dataclasses.replace(ITEM, quantity=4)
    with pytest.raises(dataclasses.FrozenInstanceError):
        stored.quantity = 4  # type: ignore[misc]
    del values["card_name"]
    with pytest.raises(TypeError, match="all 14 fields"):
        InventoryItem.stored(**values)


@pytest.mark.parametrize(
    ("spelling", "expected"),
    [("NM", "Near Mint"), ("near-mint", "Near Mint"), ("lp", "Slightly Played"), ("dmg", "Poor")],
)
def test_condition_aliases_map_to_cardtrader_spelling(spelling: str, expected: str) -> None:
    assert CONDITION_SPELLINGS[spelling] == expected


@pytest.mark.parametrize(
    ("spelling", "expected"), [("ja", "jp"), ("KO", "kr"), ("zh_cn", "zh-CN"), ("Italian", "it")]
)
def test_language_aliases_map_to_cardtrader_codes(spelling: str, expected: str) -> None:
    assert LANGUAGE_SPELLINGS[spelling] == expected


@pytest.mark.parametrize("spelling", ["Pristine", "nm ", "n m", "nEaR mInT", ""])
def test_the_condition_vocabulary_is_a_closed_list(spelling: str) -> None:
    assert spelling not in CONDITION_SPELLINGS


def test_merging_properties_keeps_keys_the_patch_does_not_mention() -> None:
    stored = Properties.trusted({"condition": "Near Mint", "mtg_language": "it", "mtg_rarity": "R"})

    merged = stored.merged(Properties.trusted({"condition": "Slightly Played"}))

    assert merged.to_dict() == {
        "condition": "Slightly Played",
        "mtg_language": "it",
        "mtg_rarity": "R",
    }


def test_a_patch_changes_only_what_it_mentions() -> None:
    patched = ItemPatch(price_cents=99).applied_to(ITEM)

    assert (patched.price_cents, patched.quantity, patched.external_stock_id) == (99, 3, "101")


def test_buying_more_than_in_stock_is_insufficient_stock_naming_the_field() -> None:
    with pytest.raises(InsufficientStock) as raised:
        check_purchase(ITEM, 4)

    assert raised.value.details["field"] == "purchaseQuantity"
    assert "requested 4 but only 3 available" in raised.value.message


def test_buying_an_unlisted_item_is_a_conflict() -> None:
    unlisted = InventoryItem(2, ITEM.user_id, 16, 3, 25)

    with pytest.raises(NotListedOnCardTrader):
        check_purchase(unlisted, 1)


def test_buying_what_is_in_stock_passes_the_rules() -> None:
    assert check_purchase(ITEM, 3) is None  # no rule broken

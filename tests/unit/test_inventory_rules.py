"""The inventory rules, one example each, and their error messages naming the field."""

from __future__ import annotations

import uuid

import pytest

from brx_domain.errors import InsufficientStock, InvalidInput, NotListedOnCardTrader
from brx_domain.inventory import (
    InventoryItem,
    ItemPatch,
    Properties,
    check_purchase,
    normalize_condition,
    normalize_language,
    parse_purchase_quantity,
)

ITEM = InventoryItem(1, uuid.uuid4(), 16, 3, 25, external_stock_id="101")


@pytest.mark.parametrize(
    ("spelling", "expected"),
    [("NM", "Near Mint"), ("near-mint", "Near Mint"), ("lp", "Slightly Played"), ("dmg", "Poor")],
)
def test_condition_aliases_map_to_cardtrader_spelling(spelling: str, expected: str) -> None:
    assert normalize_condition(spelling) == expected


@pytest.mark.parametrize(
    ("spelling", "expected"), [("ja", "jp"), ("KO", "kr"), ("zh_cn", "zh-CN"), ("Italian", "it")]
)
def test_language_aliases_map_to_cardtrader_codes(spelling: str, expected: str) -> None:
    assert normalize_language(spelling) == expected


def test_an_unknown_condition_names_its_field() -> None:
    with pytest.raises(InvalidInput, match=r"properties\.condition: unknown condition") as raised:
        Properties.parse({"condition": "Pristine"})

    assert raised.value.field == "properties.condition"


def test_an_unknown_language_names_its_field() -> None:
    with pytest.raises(InvalidInput) as raised:
        Properties.parse({"mtg_language": "klingon"})

    assert raised.value.field == "properties.mtg_language"


def test_a_flag_that_is_not_boolean_names_its_field() -> None:
    with pytest.raises(InvalidInput) as raised:
        Properties.parse({"mtg_foil": "yes please"})

    assert raised.value.field == "properties.mtg_foil"


def test_nested_property_values_are_refused() -> None:
    with pytest.raises(InvalidInput, match="must be a scalar"):
        Properties.parse({"extra": {"nested": 1}})


def test_properties_must_be_an_object() -> None:
    with pytest.raises(InvalidInput, match="properties: must be an object"):
        Properties.parse(["condition"])


def test_merging_properties_keeps_keys_the_patch_does_not_mention() -> None:
    stored = Properties.trusted({"condition": "Near Mint", "mtg_language": "it", "mtg_rarity": "R"})

    merged = stored.merged(Properties.parse({"condition": "SP"}))

    assert merged.to_dict() == {
        "condition": "Slightly Played",
        "mtg_language": "it",
        "mtg_rarity": "R",
    }


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"quantity": -1}, "quantity"),
        ({"quantity": "3"}, "quantity"),
        ({"price_cents": 1.5}, "price_cents"),
        ({"description": "x" * 2001}, "description"),
        ({"user_data_field": 7}, "user_data_field"),
        ({"graded": "maybe"}, "graded"),
        ({"blueprint_id": 5}, "blueprint_id"),
        ({}, "body"),
    ],
)
def test_a_bad_patch_names_the_offending_field(raw: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        ItemPatch.parse(raw)

    assert raised.value.field == field
    assert raised.value.message.startswith(f"{field}: ")


def test_a_patch_changes_only_what_it_mentions() -> None:
    patched = ItemPatch.parse({"price_cents": 99}).applied_to(ITEM)

    assert (patched.price_cents, patched.quantity, patched.external_stock_id) == (99, 3, "101")


@pytest.mark.parametrize(("raw", "expected"), [({"purchaseQuantity": 2}, 2), ({"quantity": 3}, 3)])
def test_purchase_quantity_accepts_its_alias(raw: dict[str, object], expected: int) -> None:
    assert parse_purchase_quantity(raw) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({}, "purchaseQuantity: is required"),
        ({"purchaseQuantity": 0}, "purchaseQuantity: must be at least 1"),
        ({"purchaseQuantity": True}, "purchaseQuantity: must be an integer"),
    ],
)
def test_a_bad_purchase_quantity_names_the_field(raw: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_purchase_quantity(raw)


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

"""Validation at the edge: every request field is checked once, by the pydantic models, and bad
input is a 400 naming the field with nothing changed (no write, no job queued)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.http.conftest import Api


def _item_path(api: Api, item_id: int) -> str:
    return f"/api/v1/sync/inventory/{api.user_id}/item/{item_id}"


async def _refused(api: Api, result: Any, field: str, item_id: int, before: Any) -> None:
    assert result.status_code == 400, result.text
    assert result.json["error"]["details"]["field"] == field
    assert result.json["error"]["message"].startswith(f"{field}: ")
    assert api.store.items[item_id] == before
    assert api.queue.pop_all() == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"price_cents": None}, "price_cents"),
        ({"quantity": None}, "quantity"),
        ({"description": None}, "description"),
        ({"graded": None}, "graded"),
        ({"properties": None}, "properties"),
        ({"properties": {"mtg_foil": None}}, "properties.mtg_foil"),
        ({"properties": {"condition": None}}, "properties.condition"),
        ({"properties": {"mtg_rarity": None}}, "properties.mtg_rarity"),
        ({}, "body"),
        ({"quantity": -1}, "quantity"),
        ({"quantity": 2**31}, "quantity"),
        ({"quantity": "3"}, "quantity"),
        ({"quantity": True}, "quantity"),
        ({"price_cents": 1.5}, "price_cents"),
        ({"description": "x" * 2001}, "description"),
        ({"user_data_field": 7}, "user_data_field"),
        ({"graded": "maybe"}, "graded"),
        ({"graded": 1}, "graded"),
        ({"blueprint_id": 5}, "blueprint_id"),
        ({"properties": ["condition"]}, "properties"),
        ({"properties": {"condition": "Pristine"}}, "properties.condition"),
        ({"properties": {"mtg_language": "klingon"}}, "properties.mtg_language"),
        ({"properties": {"mtg_foil": "yes please"}}, "properties.mtg_foil"),
        ({"properties": {"extra": {"nested": 1}}}, "properties.extra"),
        ({"properties": {"extra": "x" * 257}}, "properties.extra"),
        ({"properties": {"k" * 65: 1}}, "properties"),
        ({"properties": {f"k{i}": i for i in range(51)}}, "properties"),
    ],
)
async def test_a_bad_edit_is_400_naming_the_field_and_changes_nothing(
    api: Api, body: dict[str, Any], field: str
) -> None:
    item_id = await api.add_item(5)
    before = api.store.items[item_id]

    result = await api.conductor.simulate_put(
        _item_path(api, item_id), json=body, headers=api.auth()
    )

    await _refused(api, result, field, item_id, before)


async def test_an_empty_put_body_is_400_naming_the_body(api: Api) -> None:
    item_id = await api.add_item(5)
    before = api.store.items[item_id]

    result = await api.conductor.simulate_put(
        _item_path(api, item_id),
        body=b"",
        headers={**api.auth(), "Content-Type": "application/json"},
    )

    await _refused(api, result, "body", item_id, before)
    assert "nothing to update" in result.json["error"]["message"]


async def test_aliases_are_stored_in_cardtrader_spelling_and_other_keys_kept(api: Api) -> None:
    item_id = await api.add_item(5)

    result = await api.conductor.simulate_put(
        _item_path(api, item_id),
        json={"properties": {"condition": "NM", "mtg_language": "Japanese", "mtg_foil": True}},
        headers=api.auth(),
    )

    assert result.status_code == 200
    assert api.store.items[item_id].properties.to_dict() == {
        "condition": "Near Mint",
        "mtg_language": "jp",
        "mtg_foil": True,
    }


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"purchaseQuantity": 0},
        {"purchaseQuantity": None},
        {"purchaseQuantity": True},
        {"purchaseQuantity": 2**31},
        {"quantity": 1.5},
        {"purchaseQuantity": 1, "quantity": 1},
        {"purchaseQuantity": 1, "note": "gift"},
    ],
)
async def test_a_bad_purchase_is_400_naming_the_field_and_sells_nothing(
    api: Api, body: dict[str, Any]
) -> None:
    item_id = await api.add_item(3)
    before = api.store.items[item_id]

    result = await api.conductor.simulate_post(
        f"/api/v1/sync/purchase/{api.user_id}/item/{item_id}", json=body, headers=api.auth()
    )

    expected = next(iter(body), "purchaseQuantity") if len(body) == 1 else "purchaseQuantity"
    if "note" in body:
        expected = "note"
    await _refused(api, result, expected, item_id, before)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "1001"}, "limit"),
        ({"offset": "-1"}, "offset"),
        ({"offset": "\x00"}, "offset"),
        ({"order": "id"}, "order"),
        ({"sort": "colour"}, "sort"),
        ({"q": "tranquil\x00"}, "q"),
        ({"external_stock_id": "\x00"}, "external_stock_id"),
        ({"condition": "nEaR mInT"}, "condition"),
    ],
)
async def test_a_bad_page_is_400_naming_its_parameter(
    api: Api, params: dict[str, str], field: str
) -> None:
    result = await api.conductor.simulate_get(
        f"/api/v1/sync/inventory/{api.user_id}", params=params, headers=api.auth()
    )

    assert result.status_code == 400
    assert result.json["error"]["details"]["field"] == field

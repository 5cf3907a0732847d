"""Inventory, purchase and history endpoints: shapes of the seed and the purchase semantics."""

from __future__ import annotations

import asyncio

from brx_app.http.responses import (
    HistoryOut,
    InventoryOut,
    ItemDeleted,
    ItemOut,
    ItemUpdated,
    Purchased,
)
from tests.unit.http.conftest import Api


def _purchase_path(api: Api, item_id: int) -> str:
    return f"/api/v1/sync/purchase/{api.user_id}/item/{item_id}"


async def test_inventory_pages_are_stable_and_in_the_seed_shape(api: Api) -> None:
    ids = [await api.add_item(i + 1) for i in range(5)]
    first = await api.conductor.simulate_get(
        f"/api/v1/sync/inventory/{api.user_id}", params={"limit": 2}, headers=api.auth()
    )
    second = await api.conductor.simulate_get(
        f"/api/v1/sync/inventory/{api.user_id}",
        params={"limit": 2, "offset": 2},
        headers=api.auth(),
    )
    page = InventoryOut.model_validate(first.json)
    assert page.total == 5
    assert [i["id"] for i in first.json["items"] + second.json["items"]] == ids[:4]
    assert set(first.json["items"][0]) == set(ItemOut.model_fields)


async def test_limit_outside_1_to_1000_is_400_naming_limit(api: Api) -> None:
    for limit in ("0", "1001", "abc"):
        result = await api.conductor.simulate_get(
            f"/api/v1/sync/inventory/{api.user_id}", params={"limit": limit}, headers=api.auth()
        )
        assert result.status_code == 400
        assert result.json["error"]["details"]["field"] == "limit"


async def test_the_inventory_is_searched_by_card_name_and_filtered_and_sorted(api: Api) -> None:
    cove = await api.add_item(4, card_name="Tranquil Cove", expansion_name="Core Set 2020")
    bolt = await api.add_item(0, card_name="Lightning Bolt", price_cents=150)
    other = await api.add_item(2, card_name="Bolt Bend", price_cents=60, listed=False)

    async def ids(**params: object) -> tuple[list[int], int]:
        result = await api.conductor.simulate_get(
            f"/api/v1/sync/inventory/{api.user_id}", params=params, headers=api.auth()
        )
        assert result.status_code == 200, result.json
        page = InventoryOut.model_validate(result.json)
        return [item.id for item in page.items], page.total

    first = await api.conductor.simulate_get(
        f"/api/v1/sync/inventory/{api.user_id}", params={"q": "COVE"}, headers=api.auth()
    )
    assert first.json["items"][0]["card_name"] == "Tranquil Cove"
    assert first.json["items"][0]["expansion_name"] == "Core Set 2020"
    assert await ids(q="bolt", sort="-price", limit=1) == ([bolt], 2)
    assert await ids(unlisted="true") == ([other], 1)
    assert await ids(out_of_stock="false", condition="NM", language="EN") == ([cove, other], 2)
    assert await ids(q="  ") == ([cove, bolt, other], 3)  # a blank search is no search


async def test_a_bad_filter_is_400_naming_it_and_lists_nothing(api: Api) -> None:
    await api.add_item(1)
    for name, value in [
        ("q", "x" * 101),
        ("blueprint_id", "0"),
        ("blueprint_id", "seven"),
        ("out_of_stock", "perhaps"),
        ("condition", "Like New"),
        ("language", "klingon"),
        ("sort", "colour"),
        ("external_stock_id", ""),
    ]:
        result = await api.conductor.simulate_get(
            f"/api/v1/sync/inventory/{api.user_id}", params={name: value}, headers=api.auth()
        )
        assert result.status_code == 400, (name, value)
        assert result.json["error"]["details"]["field"] == name
        assert "items" not in result.json


async def test_a_purchase_decrements_atomically_and_confirms_with_cardtrader(api: Api) -> None:
    item_id = await api.add_listed_item(5)
    result = await api.conductor.simulate_post(
        _purchase_path(api, item_id), json={"purchaseQuantity": 2}, headers=api.auth()
    )
    assert result.status_code == 200
    body = Purchased.model_validate(result.json)
    assert (body.quantity_purchased, body.remaining_quantity) == (2, 3)
    assert body.cardtrader_confirmed and not body.cardtrader_sync_queued
    assert api.store.items[item_id].quantity == 3
    product_id = int(str(api.store.items[item_id].external_stock_id))
    assert api.account.products[product_id].quantity == 3
    assert api.queue.pop_all() == []


async def test_a_purchase_by_a_user_without_a_cardtrader_connection_is_404(api: Api) -> None:
    item_id = await api.add_item(5)  # the user has no sync settings
    result = await api.conductor.simulate_post(
        _purchase_path(api, item_id), json={"purchaseQuantity": 2}, headers=api.auth()
    )
    assert result.status_code == 404, result.text
    assert api.store.items[item_id].quantity == 5 and api.queue.pop_all() == []


async def test_quantity_is_accepted_as_an_alias_of_purchase_quantity(api: Api) -> None:
    item_id = await api.add_listed_item(5)
    result = await api.conductor.simulate_post(
        _purchase_path(api, item_id), json={"quantity": 1}, headers=api.auth()
    )
    assert result.json["remaining_quantity"] == 4


async def test_insufficient_stock_is_400_and_changes_nothing(api: Api) -> None:
    item_id = await api.add_item(1)
    result = await api.conductor.simulate_post(
        _purchase_path(api, item_id), json={"purchaseQuantity": 2}, headers=api.auth()
    )
    assert result.status_code == 400
    assert result.json["error"]["code"] == "insufficient_stock"
    assert api.store.items[item_id].quantity == 1


async def test_an_unknown_item_is_404(api: Api) -> None:
    result = await api.conductor.simulate_post(
        _purchase_path(api, 999), json={"purchaseQuantity": 1}, headers=api.auth()
    )
    assert result.status_code == 404


async def test_an_item_not_on_cardtrader_is_409(api: Api) -> None:
    item_id = await api.add_item(3, listed=False)
    result = await api.conductor.simulate_post(
        _purchase_path(api, item_id), json={"purchaseQuantity": 1}, headers=api.auth()
    )
    assert result.status_code == 409
    assert api.store.items[item_id].quantity == 3


async def test_bad_purchase_quantities_are_400_naming_the_field(api: Api) -> None:
    item_id = await api.add_item(3)
    for body in ({}, {"purchaseQuantity": 0}, {"purchaseQuantity": "2"}, {"quantity": -1}):
        result = await api.conductor.simulate_post(
            _purchase_path(api, item_id), json=body, headers=api.auth()
        )
        assert result.status_code == 400, body
        assert result.json["error"]["details"]["field"] in ("purchaseQuantity", "quantity")


async def test_concurrent_purchases_never_oversell(api: Api) -> None:
    item_id = await api.add_listed_item(5)
    results = await asyncio.gather(
        *(
            api.conductor.simulate_post(
                _purchase_path(api, item_id), json={"purchaseQuantity": 1}, headers=api.auth()
            )
            for _ in range(12)
        )
    )
    assert sorted(r.status_code for r in results) == [200] * 5 + [400] * 7
    assert api.store.items[item_id].quantity == 0


async def test_an_edit_merges_properties_and_queues_a_push(api: Api) -> None:
    item_id = await api.add_item(5)
    result = await api.conductor.simulate_put(
        f"/api/v1/sync/inventory/{api.user_id}/item/{item_id}",
        json={"quantity": 7, "properties": {"condition": "Mint"}},
        headers=api.auth(),
    )
    assert result.status_code == 200
    assert ItemUpdated.model_validate(result.json).cardtrader_sync_queued
    assert api.store.items[item_id].properties.to_dict() == {
        "condition": "Mint",
        "mtg_language": "en",
    }
    assert [job.job for job in api.queue.pop_all()] == ["push_update"]


async def test_an_edit_with_bad_values_is_400_naming_the_field(api: Api) -> None:
    item_id = await api.add_item(5)
    path = f"/api/v1/sync/inventory/{api.user_id}/item/{item_id}"
    for body, field in (
        ({"quantity": -1}, "quantity"),
        ({"price_cents": "1"}, "price_cents"),
        ({"properties": {"condition": "Shiny"}}, "properties.condition"),
        ({"id": 3}, "id"),
    ):
        result = await api.conductor.simulate_put(path, json=body, headers=api.auth())
        assert result.status_code == 400, body
        assert result.json["error"]["details"]["field"] == field


async def test_a_non_json_body_is_415_and_malformed_json_is_400(api: Api) -> None:
    item_id = await api.add_item(5)
    path = f"/api/v1/sync/inventory/{api.user_id}/item/{item_id}"
    text = await api.conductor.simulate_put(
        path, body="quantity=1", headers={**api.auth(), "Content-Type": "text/plain"}
    )
    broken = await api.conductor.simulate_put(
        path, body="{", headers={**api.auth(), "Content-Type": "application/json"}
    )
    assert (text.status_code, broken.status_code) == (415, 400)


async def test_a_delete_removes_the_item_and_queues_the_cardtrader_delete(api: Api) -> None:
    item_id = await api.add_item(5)
    result = await api.conductor.simulate_delete(
        f"/api/v1/sync/inventory/{api.user_id}/item/{item_id}", headers=api.auth()
    )
    assert ItemDeleted.model_validate(result.json).cardtrader_sync_queued
    assert item_id not in api.store.items
    assert [job.job for job in api.queue.pop_all()] == ["push_delete"]


async def test_history_explains_every_quantity_change_newest_first(api: Api) -> None:
    item_id = await api.add_listed_item(5)
    await api.conductor.simulate_post(
        _purchase_path(api, item_id), json={"purchaseQuantity": 2}, headers=api.auth()
    )
    await api.conductor.simulate_put(
        f"/api/v1/sync/inventory/{api.user_id}/item/{item_id}",
        json={"quantity": 10},
        headers=api.auth(),
    )
    result = await api.conductor.simulate_get(
        f"/api/v1/sync/inventory/{api.user_id}/item/{item_id}/history", headers=api.auth()
    )
    history = HistoryOut.model_validate(result.json)
    assert [(e.reason, e.delta, e.quantity_after) for e in history.entries] == [
        ("edit", 7, 10),
        ("purchase", -2, 3),
    ]


async def test_a_non_numeric_item_id_is_400_naming_item_id(api: Api) -> None:
    result = await api.conductor.simulate_delete(
        f"/api/v1/sync/inventory/{api.user_id}/item/abc", headers=api.auth()
    )
    assert result.status_code == 400
    assert result.json["error"]["details"]["field"] == "item_id"

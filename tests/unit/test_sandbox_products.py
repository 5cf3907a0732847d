"""Single-product endpoints: shapes, warnings, validation errors, the non-idempotent writes."""

from __future__ import annotations

from typing import Any

from tests.unit.test_sandbox_helpers import Sandbox

ERROR_KEYS = {"error_code", "errors", "extra", "request_id"}


def _new(sb: Sandbox, **extra: Any) -> Any:
    bp = sb.first_magic()["blueprint_id"]
    body = {
        "blueprint_id": bp,
        "price": 1.25,
        "quantity": 2,
        "properties": {"condition": "Played", "mtg_language": "jp"},
        **extra,
    }
    return sb.call("POST", "/products", json=body)


def test_create_answers_result_warnings_and_a_resource_with_price_cents() -> None:
    sb = Sandbox()

    answer = _new(sb)

    resource = answer.json["resource"]
    assert answer.json["result"] == "ok"
    assert answer.json["warnings"] in ({}, [])
    assert resource["price"] == {"cents": 125, "currency": "EUR"}
    assert resource["properties"]["mtg_language"] == "jp"
    assert resource["quantity"] == 2


def test_creating_an_identical_product_increments_its_quantity() -> None:
    sb = Sandbox()

    first = _new(sb).json["resource"]
    second = _new(sb).json["resource"]

    assert second["id"] == first["id"]
    assert second["quantity"] == 4


def test_created_product_appears_in_the_export() -> None:
    sb = Sandbox()

    created = _new(sb).json["resource"]

    exported = {p["id"]: p for p in sb.export()}
    assert exported[created["id"]]["price_cents"] == 125
    assert exported[created["id"]]["properties_hash"]["condition"] == "Played"


def test_missing_blueprint_is_a_missing_parameter_error() -> None:
    answer = Sandbox().call("POST", "/products", json={"price": 1, "quantity": 1})

    assert answer.status_code == 400
    assert set(answer.json) == ERROR_KEYS
    assert answer.json["error_code"] == "missing_parameter"


def test_update_with_read_only_property_warns_and_ignores_it() -> None:
    sb = Sandbox()
    product = sb.first_magic()

    answer = sb.call(
        "PUT",
        f"/products/{product['id']}",
        json={"quantity": 7, "properties": {"mtg_rarity": "Mythic"}},
    )

    assert answer.status_code == 200
    assert answer.json["warnings"] == {
        "properties": {"mtg_rarity": ["Read only property mtg_rarity has been ignored"]}
    }
    assert answer.json["resource"]["quantity"] == 7
    assert "mtg_rarity" not in answer.json["resource"]["properties"]


def test_update_merges_properties_key_by_key() -> None:
    sb = Sandbox()
    product = sb.first_magic()

    sb.call("PUT", f"/products/{product['id']}", json={"properties": {"signed": True}})

    after = next(p for p in sb.export() if p["id"] == product["id"])["properties_hash"]
    assert after["signed"] is True
    assert after["mtg_language"] == product["properties_hash"]["mtg_language"]


def test_strict_mode_turns_property_warnings_into_a_validation_error() -> None:
    sb = Sandbox()
    product = sb.first_magic()

    answer = sb.call(
        "PUT",
        f"/products/{product['id']}",
        json={"properties": {"mtg_rarity": "Rare"}, "error_mode": "strict"},
    )

    assert answer.status_code == 422
    assert answer.json["error_code"] == "validation_error"
    assert "properties.mtg_rarity" in answer.json["errors"]


def test_foil_false_is_refused_with_a_warning() -> None:
    sb = Sandbox()
    product = sb.first_magic()

    answer = sb.call("PUT", f"/products/{product['id']}", json={"properties": {"mtg_foil": False}})

    assert "mtg_foil" in answer.json["warnings"]["properties"]


def test_negative_quantity_is_a_validation_error_with_field_messages() -> None:
    sb = Sandbox()
    product = sb.export()[0]

    answer = sb.call("PUT", f"/products/{product['id']}", json={"quantity": -1})

    assert answer.status_code == 422
    assert answer.json["errors"] == {"quantity": ["must be greater than or equal to 0"]}
    assert answer.json["extra"] == {"message": "Validation failed"}


def test_deleting_twice_answers_not_found_the_second_time() -> None:
    sb = Sandbox()
    product = sb.export()[0]

    first = sb.call("DELETE", f"/products/{product['id']}")
    second = sb.call("DELETE", f"/products/{product['id']}")

    assert first.status_code == 200
    assert second.status_code == 404
    assert set(second.json) == ERROR_KEYS
    assert second.json["error_code"] == "not_found"
    assert product["id"] not in {p["id"] for p in sb.export()}


def test_increment_is_applied_each_time_it_is_called() -> None:
    sb = Sandbox()
    product = sb.export()[0]

    for _ in range(2):
        sb.call("POST", f"/products/{product['id']}/increment", json={"delta_quantity": 3})

    after = next(p for p in sb.export() if p["id"] == product["id"])
    assert after["quantity"] == product["quantity"] + 6


def test_increment_to_zero_or_below_deletes_the_product() -> None:
    sb = Sandbox()
    product = sb.export()[0]

    sb.call(
        "POST",
        f"/products/{product['id']}/increment",
        json={"delta_quantity": -product["quantity"] - 1},
    )

    assert product["id"] not in {p["id"] for p in sb.export()}


def test_export_filters_by_blueprint_and_expansion() -> None:
    sb = Sandbox(products=300)
    product = sb.export()[0]

    by_blueprint = sb.call(
        "GET", "/products/export", params={"blueprint_id": product["blueprint_id"]}
    ).json
    by_expansion = sb.call(
        "GET", "/products/export", params={"expansion_id": product["expansion"]["id"]}
    ).json

    assert {p["blueprint_id"] for p in by_blueprint} == {product["blueprint_id"]}
    assert product["id"] in {p["id"] for p in by_expansion}
    assert {p["expansion"]["id"] for p in by_expansion} == {product["expansion"]["id"]}


def test_each_token_sees_only_its_own_products() -> None:
    sb = Sandbox(products=20, tokens=("t1", "t2"))

    mine = {p["id"] for p in sb.call("GET", "/products/export").json}
    theirs = {p["id"] for p in sb.call("GET", "/products/export", token="t2").json}

    assert len(mine) == len(theirs) == 20
    assert not mine & theirs


def test_missing_bearer_answers_unauthorized() -> None:
    answer = Sandbox().client.simulate_get("/api/v2/products/export")

    assert answer.status_code == 401
    assert answer.json["error_code"] == "unauthorized"


def test_marketplace_lists_offers_of_one_blueprint_cheapest_first() -> None:
    sb = Sandbox()

    answer = sb.call("GET", "/marketplace/products", params={"blueprint_id": 16}).json

    prices = [o["price"]["cents"] for o in answer["16"]]
    assert 3 <= len(prices) <= 8
    assert prices == sorted(prices)

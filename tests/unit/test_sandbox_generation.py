"""Deterministic generation and the documented export shape."""

from __future__ import annotations

from cardtrader_sandbox.catalogue import (
    BLUEPRINT_COUNT,
    CONDITIONS,
    LANGUAGES,
    blueprint,
    blueprint_id_at,
    ids_by_table,
    iter_blueprints,
)
from cardtrader_sandbox.generator import blueprint_ids_for, generate_products
from cardtrader_sandbox.product import export_dict
from cardtrader_sandbox.state import SandboxState, derived_secret
from tests.unit.test_sandbox_helpers import Sandbox

EXPORT_FIELDS = {
    "id",
    "name_en",
    "quantity",
    "price_cents",
    "price_currency",
    "description",
    "game_id",
    "category_id",
    "blueprint_id",
    "properties_hash",
    "user_id",
    "graded",
    "tag",
    "user_data_field",
    "bundle_size",
    "bundled_quantity",
    "uploaded_images",
    "expansion",
}


def test_same_seed_gives_the_same_products() -> None:
    first = Sandbox(products=300).export()
    second = Sandbox(products=300).export()

    assert first == second


def test_another_seed_gives_other_products() -> None:
    one = generate_products(1, 0, 100, first_id=1)
    two = generate_products(2, 0, 100, first_id=1)

    assert [p.blueprint.id for p in one] != [p.blueprint.id for p in two]


def test_every_exported_product_has_every_documented_field() -> None:
    products = Sandbox(products=200).export()

    assert all(set(p) == EXPORT_FIELDS for p in products)
    assert all(set(p["expansion"]) == {"id", "code", "name_en"} for p in products)


def test_graded_and_description_take_every_documented_variant() -> None:
    products = Sandbox(products=500).export()

    graded = {repr(p["graded"]) for p in products}
    descriptions = {p["description"] for p in products}
    assert {"None", "False", "0"} <= graded
    assert {"", None} <= descriptions


def test_magic_properties_use_documented_values_and_string_cmc() -> None:
    products = Sandbox(products=2000).export()

    magic = [p["properties_hash"] for p in products if "mtg_language" in p["properties_hash"]]
    assert {m["condition"] for m in magic} <= set(CONDITIONS)
    assert {"jp", "kr"} <= {m["mtg_language"] for m in magic} <= set(LANGUAGES)
    assert all(isinstance(m["cmc"], str) and isinstance(m["mtg_foil"], bool) for m in magic)
    assert {"mtg_rarity", "collector_number", "signed", "altered"} <= set(magic[0])


def test_several_games_are_generated() -> None:
    products = Sandbox(products=500).export()

    assert {p["game_id"] for p in products} >= {1, 5, 15}


def test_catalogue_lookup_round_trips_every_documented_id() -> None:
    ids = [b.id for b in iter_blueprints()]

    assert ids[:3] == [16, 23, 30]
    assert len(ids) == BLUEPRINT_COUNT
    assert all(blueprint(bid) is not None for bid in ids[::997])
    assert blueprint(17) is None
    assert blueprint(blueprint_id_at(BLUEPRINT_COUNT)) is None


def test_blueprint_ids_for_lists_the_ids_a_seller_exports() -> None:
    products = Sandbox(products=300).export()

    assert {p["blueprint_id"] for p in products} == blueprint_ids_for(3, 0, 300)


def test_shared_secret_is_32_hex_chars_and_stable_per_seed_and_token() -> None:
    state = SandboxState(["a", "b"], products=1, seed=9)

    secrets = [s.shared_secret for s in state.sellers.values()]
    assert secrets == [derived_secret(9, "a"), derived_secret(9, "b")]
    assert all(len(s) == 32 and int(s, 16) >= 0 for s in secrets)
    assert secrets[0] != secrets[1]


def test_a_given_webhook_secret_replaces_the_derived_one() -> None:
    state = SandboxState(["a"], products=1, webhook_secret="f" * 32)

    assert state.sellers["a"].shared_secret == "f" * 32


def test_sellers_get_distinct_product_ids() -> None:
    state = SandboxState(["a", "b"], products=100)

    ids_a = set(state.sellers["a"].inventory.products)
    ids_b = set(state.sellers["b"].inventory.products)
    assert len(ids_a) == len(ids_b) == 100
    assert not ids_a & ids_b


def test_ids_by_table_sorts_blueprints_into_the_shops_catalogue_tables() -> None:
    ids = [blueprint_id_at(i) for i in range(20)] + [17]

    tables = ids_by_table(ids)

    assert len(tables["cards_prints"]) == 14
    assert len(tables["pk_prints"]) == 3
    assert len(tables["op_prints"]) == 1
    assert len(tables["sealed_products"]) == 2
    assert all(17 not in ids for ids in tables.values())


def test_fast_export_rows_equal_the_plain_json_of_every_product() -> None:
    sb = Sandbox(products=400)
    product = sb.first_magic()
    sb.call(
        "PUT",
        f"/products/{product['id']}",
        json={"description": 'carta "rara" \u00e8 ok', "graded": True},
    )
    inv = sb.state.sellers[sb.token].inventory

    exported = sb.export()

    assert exported == [
        export_dict(inv.products[i], inv.user_id, "EUR") for i in sorted(inv.products)
    ]

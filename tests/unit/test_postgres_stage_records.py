"""The COPY records of a chunk: one per natural key, properties as jsonb text."""

from __future__ import annotations

import json

from brx_adapters.postgres.bulk import StagedProducts, stage_records
from brx_domain.inventory import Properties
from brx_domain.sync import RemoteProduct


def test_properties_become_json_text_equal_to_the_properties() -> None:
    props = {"condition": "Near Mint", "mtg_foil": False, "name": "Æther ✨", "cmc": 2.5}
    product = RemoteProduct(1, 16, 2, 300, Properties.trusted(props))

    (record,) = stage_records([product])

    assert json.loads(record[4]) == props


def test_values_orjson_refuses_are_still_encoded() -> None:
    props = {"serial": 123456789012345678901234567890}
    product = RemoteProduct(1, 16, 2, 300, Properties.trusted(props))

    (record,) = stage_records([product])

    assert json.loads(record[4]) == props


def test_a_product_listed_twice_gives_one_record_with_the_last_copy() -> None:
    first, last = RemoteProduct(1, 16, 2, 300), RemoteProduct(1, 16, 5, 300)

    records = stage_records([first, last])

    assert [(r[1], r[2]) for r in records] == [("1", 5)]


def test_a_chunk_prepared_ahead_is_the_same_chunk_with_its_records_built() -> None:
    products = [RemoteProduct(i, 16, i, 100 * i) for i in (1, 2, 1)]

    staged = StagedProducts(products)

    assert list(staged) == products and staged.records == stage_records(products)

"""The export is streamed once and decoded one product at a time, whatever its quirks."""

from __future__ import annotations

import io
import json

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from brx_adapters.cardtrader import RetryPolicy
from brx_adapters.cardtrader.codec import UnexpectedAnswer
from brx_adapters.cardtrader.export import ArrayReader, StreamedExport
from brx_domain.errors import MarketplaceUnavailable
from tests.unit.test_cardtrader_fakes import TOKEN, Fault, harness, product


def read_all(text: str, chunk: int = 7) -> list[object]:
    return list(ArrayReader(io.BytesIO(text.encode()), chunk=chunk))


def test_elements_split_across_tiny_chunks_and_multibyte_characters_decode_whole() -> None:
    items = [{"name": "Æther Vial ✨", "n": 12345}, {"name": "Jace", "n": -1.5e3}, 7, "x"]

    assert read_all(json.dumps(items), chunk=3) == items


def test_an_empty_array_with_whitespace_has_no_elements() -> None:
    assert read_all("  [ \n ]  ") == []


def test_a_number_cut_by_a_chunk_boundary_is_not_read_short() -> None:
    assert read_all("[1234567890, 5]", chunk=4) == [1234567890, 5]


@pytest.mark.parametrize("body", ['[{"id": 1}, {"id"', "[1 2]", "<html></html>"])
def test_a_truncated_or_malformed_body_is_an_error_not_a_short_stock(body: str) -> None:
    with pytest.raises(UnexpectedAnswer):
        read_all(body)


async def test_export_products_yields_every_product_and_ends_with_the_exact_total() -> None:
    h = harness([product(i, blueprint=16 + i % 2) for i in range(1, 1201)])

    export = await h.gateway.for_token(TOKEN).export_products()
    ids = [p.id async for p in export]

    assert ids == list(range(1, 1201)) and export.expected_total == 1200


async def test_the_total_is_an_estimate_while_reading() -> None:
    body = json.dumps([product(i) for i in range(1, 2001)]).encode()
    export = StreamedExport(io.BytesIO(body), len(body))
    estimates = []

    async for p in export:
        if p.id % 500 == 1 and p.id > 1:
            estimates.append(export.expected_total)

    assert all(e is not None and 1800 <= e <= 2200 for e in estimates)
    assert export.expected_total == 2000


async def test_export_filtered_by_blueprint_asks_cardtrader_for_that_blueprint_only() -> None:
    h = harness([product(1, blueprint=16), product(2, blueprint=17)])

    export = await h.gateway.for_token(TOKEN).export_products(blueprint_id=17)

    assert [p.id async for p in export] == [2]
    assert h.server.requests[0].url.params["blueprint_id"] == "17"


async def test_an_export_cut_mid_body_is_downloaded_again() -> None:
    h = harness([product(1), product(2)])
    original = h.server.route

    def cut_once(request: httpx.Request) -> httpx.Response:
        if h.server.count("GET /products/export") == 1:
            return httpx.Response(200, stream=_Broken(b'[{"id": 1, '))
        return original(request)

    h.server.route = cut_once  # type: ignore[method-assign]

    export = await h.gateway.for_token(TOKEN).export_products()

    assert [p.id async for p in export] == [1, 2]
    assert h.server.count("GET /products/export") == 2


async def test_an_html_page_served_as_the_export_is_refused() -> None:
    h = harness([product(1)], policy=RetryPolicy(max_attempts=1))
    h.server.faults.append(Fault("GET /products/export", "html"))

    with pytest.raises(MarketplaceUnavailable):
        await h.gateway.for_token(TOKEN).export_products()


class _Broken(httpx.AsyncByteStream):
    """A body whose connection drops after the first bytes."""

    def __init__(self, first: bytes) -> None:
        self.first = first

    async def __aiter__(self):  # type: ignore[no-untyped-def]
        yield self.first
        raise httpx.ReadError("connection reset by peer")


@pytest.mark.parametrize("chunk", [5, 64, 300, 1 << 20])
def test_commas_and_braces_inside_strings_and_nested_arrays_never_split_an_element(
    chunk: int,
) -> None:
    items = [
        {"id": i, "description": 'a "},{" in text \\ },{', "images": [{"u": "x"}, {"u": "y"}]}
        for i in range(40)
    ]

    assert read_all(json.dumps(items, separators=(",", ":")), chunk=chunk) == items


def test_nan_and_integers_beyond_64_bits_decode_exactly() -> None:
    text = '[{"id": 1, "big": 123456789012345678901234567890}, {"id": 2, "x": NaN}, {"id": 3}]'

    decoded = read_all(text, chunk=1 << 20)

    assert [e["id"] for e in decoded] == [1, 2, 3]  # type: ignore[index]
    assert decoded[0]["big"] == 123456789012345678901234567890  # type: ignore[index]


_EDGES = [2**63 - 1, -(2**63), 2**63, 2**64 - 1, 2**64, -(2**63) - 1, 10**19, -(10**18) * 9]
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from(_EDGES)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text()
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@given(st.lists(st.dictionaries(st.text(max_size=5), _VALUES, max_size=5), max_size=30))
def test_any_export_decodes_to_exactly_what_json_loads_gives(items: list[object]) -> None:
    text = json.dumps(items)  # NaN, infinities and lone surrogates included, as json writes them

    # repr tells 10**19 from 1e19: orjson alone would hand back a float for such integers
    assert (
        repr(read_all(text, chunk=64))
        == repr(read_all(text, chunk=1 << 20))
        == repr(json.loads(text))
    )


def test_batches_hold_only_what_one_read_brought_in() -> None:
    items = [{"id": i, "name": "x" * 50} for i in range(2000)]
    reader = ArrayReader(io.BytesIO(json.dumps(items).encode()), chunk=4096)

    sizes = [len(batch) for batch in reader.batches()]

    assert sum(sizes) == 2000 and max(sizes) < 4096 // 60


def test_a_pretty_printed_export_is_still_decoded_in_slices() -> None:
    items = [{"id": i, "props": {"a": [1, {"b": 2}]}} for i in range(500)]
    reader = ArrayReader(io.BytesIO(json.dumps(items, indent=2).encode()), chunk=8192)

    batches = list(reader.batches())

    assert [e for b in batches for e in b] == items and len(batches) < 100

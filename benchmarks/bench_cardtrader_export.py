"""Parsing a 250,000-product CardTrader export through the client (streamed over an in-process
httpx.MockTransport, spooled once, decoded one product at a time) against plain `json.loads` of
the same bytes, measured in the same run: seconds and peak Python memory (tracemalloc) of each.

The figure that matters is memory: the client must not hold the body twice. Knob:
BRX_BENCH_PRODUCTS (250000).
"""

from __future__ import annotations

import gc
import json
import os
import random
import time
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx

from brx_adapters.cardtrader import CardTraderGateway
from brx_adapters.cardtrader.codec import product_from
from brx_domain.ports import RateDecision

PRODUCTS = int(os.environ.get("BRX_BENCH_PRODUCTS", "250000"))
CHUNK = 64 * 1024


class _Unlimited:
    async def try_acquire(self, key: str, capacity: int, per_seconds: float) -> RateDecision:
        return RateDecision(True, capacity, capacity, 0.0)


class _Chunked(httpx.AsyncByteStream):
    """The body arriving in network-sized pieces, as from a real socket."""

    def __init__(self, body: bytes) -> None:
        self.body = body

    async def __aiter__(self) -> AsyncIterator[bytes]:
        view = memoryview(self.body)
        for start in range(0, len(view), CHUNK):
            yield bytes(view[start : start + CHUNK])


def _body(count: int) -> bytes:
    rng = random.Random(7)
    items = [
        {
            "id": 100_000_000 + i, "name_en": f"Card {i}", "quantity": rng.randint(1, 20),
            "price_cents": rng.randint(5, 50_000), "price_currency": "EUR", "description": "",
            "game_id": 1, "category_id": 1, "blueprint_id": rng.randint(1, 300_000),
            "properties_hash": {"condition": "Near Mint", "mtg_language": "en", "mtg_foil": False,
                                "signed": False, "altered": False, "mtg_rarity": "Common",
                                "collector_number": str(i % 400), "cmc": "2.0",
                                "mtg_card_colors": "U", "tournament_legal": True},
            "user_id": 58213, "graded": None, "tag": None, "user_data_field": f"box {i % 90}",
            "bundle_size": 1, "bundled_quantity": 1, "uploaded_images": [],
            "expansion": {"id": 8, "code": "m20", "name_en": "Core Set 2020"},
        }
        for i in range(count)
    ]  # fmt: skip
    return json.dumps(items).encode()


async def _client_export(body: bytes) -> int:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=_Chunked(body))

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        gateway = CardTraderGateway(http, base_url="https://ct.test/api/v2", limiter=_Unlimited())
        export = await gateway.for_token("bench").export_products()
        count = 0
        async for _ in export:
            count += 1
        return count


async def _plain_loads(body: bytes) -> int:
    return len(json.loads(body))


async def _loads_and_convert(body: bytes) -> int:
    return len([product_from(raw) for raw in json.loads(body)])


async def _measure(run: Callable[[bytes], Awaitable[int]], body: bytes) -> tuple[float, float]:
    """(seconds, peak MiB): timed without tracing, then traced in a second pass."""
    gc.collect()
    started = time.perf_counter()
    count = await run(body)
    seconds = time.perf_counter() - started
    assert count == PRODUCTS, count
    gc.collect()
    tracemalloc.start()
    await run(body)
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return seconds, peak


async def main() -> None:
    body = _body(PRODUCTS)
    print(f"export: {PRODUCTS:,} products, {len(body) / 2**20:.1f} MiB of JSON")
    rows = [
        ("client export (stream, spool, decode one by one)", _client_export),
        ("plain json.loads of the bytes", _plain_loads),
        ("json.loads + RemoteProduct for each", _loads_and_convert),
    ]
    results = {}
    for name, run in rows:
        seconds, peak = await _measure(run, body)
        results[name] = (seconds, peak)
        print(f"{name:52s} {seconds:6.2f} s  {PRODUCTS / seconds:9,.0f} products/s  "
              f"peak {peak:7.1f} MiB")  # fmt: skip
    client, plain = results[rows[0][0]], results[rows[1][0]]
    print(f"client / json.loads: time x{client[0] / plain[0]:.2f}, "
          f"peak memory x{client[1] / plain[1]:.2f}")  # fmt: skip

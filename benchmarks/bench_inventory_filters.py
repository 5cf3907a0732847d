"""A filtered inventory page of a 250,000-item inventory, through the Postgres adapter, next to
a bare count of the user's rows measured in the same run (target: each filter's median within
3x of it). A filtered page carries the exact count of its matches, which is most of its cost:
counting the matches of a broad filter (a fifth of the rows in one condition) reads those rows.
The unfiltered page reads the count the database keeps per user (migration 0005) and is listed
for comparison; it was the reference before, when it counted the user's rows too.

Measured after VACUUM ANALYZE, the state autovacuum leaves a loaded table in: without
statistics the planner misjudges a rare name search (seen: 0.6 s instead of 3 ms).

A fresh migrated database gets 250k named products for the measured user and 50k for a
neighbour (so per-user filtering is real), loaded with the adapter's upsert. Knobs:
BRX_BENCH_ROWS (250000), BRX_BENCH_PG (postgresql://postgres@127.0.0.1:5432),
BRX_BENCH_REPEATS (15).
"""

from __future__ import annotations

import os
import random
import statistics
import time
import uuid
from datetime import UTC, datetime

import asyncpg

from brx_adapters.postgres import PostgresUnitOfWorkFactory, create_engine, upgrade_async
from brx_domain.inventory import Properties
from brx_domain.listing import InventoryQuery, InventorySort
from brx_domain.sync import RemoteProduct

SERVER = os.environ.get("BRX_BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
ROWS = int(os.environ.get("BRX_BENCH_ROWS", "250000"))
REPEATS = int(os.environ.get("BRX_BENCH_REPEATS", "15"))
TARGET_RATIO = 3.0
CONDITIONS = ["Mint", "Near Mint", "Slightly Played", "Moderately Played", "Played"]
LANGUAGES = ["en", "it", "de", "fr", "es", "jp"]
WORDS_A = ["Tranquil", "Lightning", "Ancient", "Shivan", "Serra", "Llanowar", "Dark", "Sol"]
WORDS_B = ["Cove", "Bolt", "Tomb", "Dragon", "Angel", "Elves", "Ritual", "Ring", "Vial"]


def products(count: int, first_id: int, seed: int) -> list[RemoteProduct]:
    """Export-shaped named products (about 1 in 500 out of stock)."""
    rng = random.Random(seed)
    return [
        RemoteProduct(
            id=first_id + n,
            blueprint_id=rng.randint(1, 300_000),
            quantity=0 if rng.random() < 0.002 else rng.randint(1, 12),
            price_cents=rng.randint(5, 50_000),
            properties=Properties.trusted(
                {
                    "condition": rng.choice(CONDITIONS),
                    "mtg_language": rng.choice(LANGUAGES),
                    "mtg_foil": rng.random() < 0.2,
                    "collector_number": str(rng.randint(1, 400)),
                }
            ),
            user_data_field=f"box {rng.randint(1, 80)}",
            card_name=f"{rng.choice(WORDS_A)} {rng.choice(WORDS_B)} {rng.randint(1, 20000)}",
            expansion_name=f"Set {rng.randint(1, 300)}",
        )
        for n in range(count)
    ]


QUERIES = {
    "plain page (kept count)": InventoryQuery(),
    "q=bolt (substring, common)": InventoryQuery(q="bolt"),
    "q=cove 1234 (substring, rare)": InventoryQuery(q="cove 1234"),
    "q=shivan drag, sort=name": InventoryQuery(q="shivan drag", sort=InventorySort.NAME),
    "sort=name": InventoryQuery(sort=InventorySort.NAME),
    "sort=-name": InventoryQuery(sort=InventorySort.NAME_DESC),
    "blueprint_id": InventoryQuery(blueprint_id=4242),
    "external_stock_id": InventoryQuery(external_stock_id="100123456"),
    "out_of_stock": InventoryQuery(out_of_stock=True),
    "unlisted": InventoryQuery(unlisted=True),
    "condition=Played": InventoryQuery(condition="Played"),
    "language=jp": InventoryQuery(language="jp"),
    "condition+language+q": InventoryQuery(q="ring", condition="Mint", language="it"),
    "sort=-price": InventoryQuery(sort=InventorySort.PRICE_DESC),
    "sort=updated": InventoryQuery(sort=InventorySort.UPDATED),
}


async def _load(
    factory: PostgresUnitOfWorkFactory, user: uuid.UUID, rows: list[RemoteProduct]
) -> None:
    for start in range(0, len(rows), 5000):
        async with factory() as uow:
            await uow.items.upsert_products(
                user, rows[start : start + 5000], operation_id="bench", now=datetime.now(UTC)
            )
            await uow.commit()


async def _median_ms(
    factory: PostgresUnitOfWorkFactory, user: uuid.UUID, query: InventoryQuery
) -> tuple[float, int]:
    times, total = [], 0
    for _ in range(REPEATS):
        started = time.perf_counter()
        async with factory() as uow:
            _, total = await uow.items.list(user, 100, 0, query)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), total


async def _count_ms(url: str, user: uuid.UUID) -> float:
    """What an exact total of the user's rows costs on the bare driver."""
    conn = await asyncpg.connect(url)
    try:
        times = []
        for _ in range(REPEATS):
            started = time.perf_counter()
            await conn.fetchval(
                "SELECT count(*) FROM user_inventory_items WHERE user_id = $1", user
            )
            times.append((time.perf_counter() - started) * 1000)
    finally:
        await conn.close()
    return statistics.median(times)


async def main() -> None:
    name = f"brx_bench_filters_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(f"{SERVER}/postgres")
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = f"{SERVER}/{name}"
    engine = create_engine(url, pool_size=2, max_overflow=0)
    try:
        await upgrade_async(url)
        factory = PostgresUnitOfWorkFactory(engine)
        user, neighbour = uuid.uuid4(), uuid.uuid4()
        started = time.perf_counter()
        await _load(factory, user, products(ROWS, 100_000_000, seed=7))
        load_s = time.perf_counter() - started
        await _load(factory, neighbour, products(ROWS // 5, 200_000_000, seed=8))
        conn = await asyncpg.connect(url)
        await conn.execute("VACUUM ANALYZE user_inventory_items")
        trigram = await conn.fetchval("SELECT count(*) FROM pg_extension WHERE extname='pg_trgm'")
        await conn.close()
        print(f"loaded {ROWS} named products in {load_s:.1f} s (pg_trgm: {bool(trigram)})")
        ceiling = await _count_ms(url, user)
        print(f"{'count of the user rows (ceiling)':32s} {ceiling:7.1f} ms")
        worst = 0.0
        for label, query in QUERIES.items():
            ms, total = await _median_ms(factory, user, query)
            worst = max(worst, ms)
            print(f"{label:32s} {ms:7.1f} ms  x{ms / ceiling:5.1f}  total={total}")
        verdict = worst / ceiling <= TARGET_RATIO
        print(
            f"worst {worst:.1f} ms, count {ceiling:.1f} ms: x{worst / ceiling:.1f} "
            f"(target <= {TARGET_RATIO}) {'PASS' if verdict else 'BELOW'}"
        )
    finally:
        await engine.dispose()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()

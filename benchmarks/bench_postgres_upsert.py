"""Bulk upsert of 250,000 products through the Postgres adapter, against a raw asyncpg
COPY + guarded upsert of the same rows measured in the same run (target: ratio <= 1.25).

Two phases: the first load (every row new) and a re-sync with 10% of the rows changed. The
adapter and the raw ceiling each get their own fresh, migrated database with a random name,
dropped at the end. Knobs: BRX_BENCH_ROWS (250000), BRX_BENCH_CHUNKS ("5000,25000"),
BRX_BENCH_PG (postgresql://postgres@127.0.0.1:5432).
"""

from __future__ import annotations

import json
import os
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime

import asyncpg

from brx_adapters.postgres import PostgresUnitOfWorkFactory, create_engine, upgrade_async
from brx_domain.inventory import Properties
from brx_domain.sync import RemoteProduct

SERVER = os.environ.get("BRX_BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
ROWS = int(os.environ.get("BRX_BENCH_ROWS", "250000"))
CHUNKS = [int(c) for c in os.environ.get("BRX_BENCH_CHUNKS", "5000,25000").split(",")]
TARGET = 1.25
CONDITIONS = ["Mint", "Near Mint", "Slightly Played", "Moderately Played", "Played"]
LANGUAGES = ["en", "it", "de", "fr", "es", "jp"]
RARITIES = ["Common", "Uncommon", "Rare", "Mythic"]

RAW_SQL = """
INSERT INTO user_inventory_items AS t (user_id, blueprint_id, external_stock_id, quantity,
    price_cents, properties, description, user_data_field, graded, created_at, updated_at)
SELECT $1, blueprint_id, external_stock_id, quantity, price_cents, properties, description,
    user_data_field, graded, $2, $2 FROM raw_stage
ON CONFLICT (user_id, blueprint_id, external_stock_id) DO UPDATE SET
    quantity = EXCLUDED.quantity, price_cents = EXCLUDED.price_cents,
    properties = EXCLUDED.properties, description = EXCLUDED.description,
    user_data_field = EXCLUDED.user_data_field, graded = EXCLUDED.graded,
    updated_at = EXCLUDED.updated_at
WHERE (t.quantity, t.price_cents, t.properties, t.description, t.user_data_field, t.graded)
    IS DISTINCT FROM (EXCLUDED.quantity, EXCLUDED.price_cents, EXCLUDED.properties,
    EXCLUDED.description, EXCLUDED.user_data_field, EXCLUDED.graded)
"""
RAW_STAGE = """
CREATE TEMP TABLE IF NOT EXISTS raw_stage (blueprint_id INTEGER, external_stock_id TEXT,
    quantity INTEGER, price_cents INTEGER, properties JSONB, description TEXT,
    user_data_field TEXT, graded BOOLEAN) ON COMMIT DELETE ROWS
"""
COLUMNS = [
    "blueprint_id",
    "external_stock_id",
    "quantity",
    "price_cents",
    "properties",
    "description",
    "user_data_field",
    "graded",
]


def generate(count: int, seed: int = 7) -> list[RemoteProduct]:
    """Products shaped like CardTrader's export (properties_hash with its read-only keys)."""
    rng = random.Random(seed)
    return [
        RemoteProduct(
            id=100_000_000 + n,
            blueprint_id=rng.randint(1, 300_000),
            quantity=rng.randint(1, 12),
            price_cents=rng.randint(5, 50_000),
            properties=Properties.trusted(
                {
                    "condition": rng.choice(CONDITIONS),
                    "mtg_language": rng.choice(LANGUAGES),
                    "mtg_foil": rng.random() < 0.2,
                    "signed": False,
                    "altered": False,
                    "mtg_rarity": rng.choice(RARITIES),
                    "collector_number": str(rng.randint(1, 400)),
                    "cmc": f"{rng.randint(0, 9)}.0",
                    "tournament_legal": True,
                }
            ),
            description="" if rng.random() < 0.8 else "light whitening on the back",
            user_data_field=f"box {rng.randint(1, 80)}",
            graded=None,
        )
        for n in range(count)
    ]


def changed(products: list[RemoteProduct], share: float = 0.10) -> list[RemoteProduct]:
    """The same export with `share` of the products re-priced or restocked."""
    rng = random.Random(11)
    picked = set(rng.sample(range(len(products)), int(len(products) * share)))
    return [
        replace(p, quantity=p.quantity + 1, price_cents=p.price_cents + 1) if i in picked else p
        for i, p in enumerate(products)
    ]


def chunks(products: list[RemoteProduct], size: int) -> list[list[RemoteProduct]]:
    return [products[i : i + size] for i in range(0, len(products), size)]


class Adapter:
    """The adapter as the bulk-sync use case drives it: one unit of work per chunk."""

    def __init__(self, url: str, user_id: uuid.UUID) -> None:
        self.engine = create_engine(url, pool_size=2, max_overflow=0)
        self.uow_factory = PostgresUnitOfWorkFactory(self.engine)
        self.user_id = user_id

    async def chunk(self, part: list[RemoteProduct]) -> int:
        async with self.uow_factory() as uow:
            counts = await uow.items.upsert_products(
                self.user_id, part, operation_id="bench", now=datetime.now(UTC)
            )
            await uow.commit()
        return counts.created + counts.updated

    async def close(self) -> None:
        await self.engine.dispose()


class Raw:
    """The ceiling: bare asyncpg, COPY into a temp table, guarded upsert, nothing else."""

    def __init__(self, conn: asyncpg.Connection, user_id: uuid.UUID) -> None:
        self.conn, self.user_id = conn, user_id

    @classmethod
    async def open(cls, url: str, user_id: uuid.UUID) -> Raw:
        conn = await asyncpg.connect(url)
        await conn.execute(RAW_STAGE)
        return cls(conn, user_id)

    async def chunk(self, part: list[RemoteProduct]) -> int:
        records = [
            (
                p.blueprint_id,
                str(p.id),
                p.quantity,
                p.price_cents,
                json.dumps(p.properties.to_dict(), separators=(",", ":")),
                p.description,
                p.user_data_field,
                p.graded,
            )
            for p in part
        ]
        async with self.conn.transaction():
            await self.conn.copy_records_to_table("raw_stage", records=records, columns=COLUMNS)
            status = await self.conn.execute(RAW_SQL, self.user_id, datetime.now(UTC))
        return int(status.split()[-1])

    async def close(self) -> None:
        await self.conn.close()


Chunk = Callable[[list[RemoteProduct]], Awaitable[int]]


async def interleaved(parts: Sequence[list[RemoteProduct]], ours: Chunk, raw: Chunk) -> Timing:
    """Chunk by chunk, alternating which side goes first, so load from other processes on a
    shared machine falls on both sides alike."""
    timing = Timing()
    for index, part in enumerate(parts):
        order = [("ours", ours), ("raw", raw)]
        for side, run in order if index % 2 == 0 else order[::-1]:
            started = time.perf_counter()
            written = await run(part)
            timing.add(side, time.perf_counter() - started, written)
    return timing


class Timing:
    def __init__(self) -> None:
        self.seconds = {"ours": 0.0, "raw": 0.0}
        self.written = {"ours": 0, "raw": 0}

    def add(self, side: str, seconds: float, written: int) -> None:
        self.seconds[side] += seconds
        self.written[side] += written


async def admin(sql: str) -> None:
    conn = await asyncpg.connect(f"{SERVER}/postgres")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def compare(chunk: int, first: list[RemoteProduct], second: list[RemoteProduct]) -> None:
    names = [f"brx_bench_{uuid.uuid4().hex[:10]}" for _ in range(2)]
    for name in names:
        await admin(f'CREATE DATABASE "{name}"')
    try:
        for name in names:
            await upgrade_async(f"{SERVER}/{name}")
        user = uuid.uuid4()
        ours = Adapter(f"{SERVER}/{names[0]}", user)
        raw = await Raw.open(f"{SERVER}/{names[1]}", user)
        try:
            for phase, rows in (("first load", first), ("re-sync 10%", second)):
                timing = await interleaved(chunks(rows, chunk), ours.chunk, raw.chunk)
                report(chunk, phase, len(rows), timing)
        finally:
            await ours.close()
            await raw.close()
    finally:
        for name in names:
            await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def report(chunk: int, phase: str, rows: int, timing: Timing) -> None:
    ours, raw = timing.seconds["ours"], timing.seconds["raw"]
    written = timing.written["ours"]
    assert written == timing.written["raw"], f"adapter wrote {written}, raw {timing.written}"
    ratio = ours / raw
    verdict = "ok" if ratio <= TARGET else "over"
    print(
        f"chunk {chunk:>6} | {phase:<11} | adapter {rows / ours:>8,.0f} rows/s"
        f" | raw {rows / raw:>8,.0f} rows/s | ratio {ratio:.2f} ({verdict}, target {TARGET})"
        f" | rows written {written:,}",
        flush=True,
    )


async def main() -> None:
    print(f"generating {ROWS:,} products ...", flush=True)
    first = generate(ROWS)
    second = changed(first)
    for chunk in CHUNKS:
        await compare(chunk, first, second)

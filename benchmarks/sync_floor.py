"""The floor of a bulk sync: the least this machine needs to get an export into the table.

Stage by stage, each timed on its own: fetch the export over HTTP, parse it with orjson with
the garbage collector off, build the rows, then write them. A first load writes with one COPY
straight into the (empty) `user_inventory_items` of the migrated schema, every index in place;
a re-sync COPYs into a temporary stage and runs one guarded upsert (IS DISTINCT FROM, as the
importer does) over the same staged rows. Products the catalogue does not know are written too,
so the floor does slightly more than the sync it is compared with.

`serial` is the sum of the stages (doing them one after the other); `overlap` is
max(fetch + parse + build, write): what an importer that writes while it parses could approach
with two cores. Not importable by the service: benchmarks only.
"""

from __future__ import annotations

import gc
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import orjson

ITEM_COLUMNS = [
    "user_id", "blueprint_id", "external_stock_id", "quantity", "price_cents", "properties",
    "description", "user_data_field", "graded", "card_name", "expansion_name", "created_at",
    "updated_at",
]  # fmt: skip
SYNCED = "quantity, price_cents, properties, description, user_data_field, graded"
FLOOR_STAGE = """CREATE TEMP TABLE floor_stage (user_id UUID, blueprint_id INTEGER,
    external_stock_id TEXT, quantity INTEGER, price_cents INTEGER, properties JSONB,
    description TEXT, user_data_field TEXT, graded BOOLEAN, card_name TEXT,
    expansion_name TEXT, created_at TIMESTAMPTZ, updated_at TIMESTAMPTZ)"""
FLOOR_UPSERT = f"""
INSERT INTO user_inventory_items AS t ({", ".join(ITEM_COLUMNS)})
SELECT {", ".join(ITEM_COLUMNS)} FROM floor_stage
ON CONFLICT (user_id, blueprint_id, external_stock_id) DO UPDATE SET
    quantity = EXCLUDED.quantity, price_cents = EXCLUDED.price_cents,
    properties = EXCLUDED.properties, description = EXCLUDED.description,
    user_data_field = EXCLUDED.user_data_field, graded = EXCLUDED.graded,
    updated_at = EXCLUDED.updated_at
WHERE (t.{SYNCED.replace(", ", ", t.")}) IS DISTINCT FROM
      (EXCLUDED.{SYNCED.replace(", ", ", EXCLUDED.")})
"""


@dataclass(frozen=True)
class Stages:
    fetch: float
    parse: float
    build: float
    write: float

    @property
    def serial(self) -> float:
        return self.fetch + self.parse + self.build + self.write

    @property
    def overlap(self) -> float:
        return max(self.fetch + self.parse + self.build, self.write)

    def describe(self) -> str:
        return (
            f"fetch {self.fetch:.2f} + parse {self.parse:.2f} + build {self.build:.2f} + "
            f"write {self.write:.2f} = {self.serial:.2f} s (overlap floor {self.overlap:.2f} s)"
        )


def _rows(products: list[dict[str, Any]], user_id: uuid.UUID) -> list[tuple[Any, ...]]:
    now = datetime.now(UTC)
    dumps = orjson.dumps
    return [
        (user_id, p["blueprint_id"], str(p["id"]), p["quantity"], p["price_cents"],
         dumps(p.get("properties_hash") or {}).decode(), p.get("description") or None,
         p.get("user_data_field") or None,
         None if p.get("graded") is None else bool(p["graded"]), p.get("name_en"),
         (p.get("expansion") or {}).get("name_en"), now, now)
        for p in products
    ]  # fmt: skip


async def measure_floor(export_url: str, token: str, url: str, user_id: uuid.UUID) -> Stages:
    """Every stage once, on the export as it is now; the table decides first load or re-sync:
    empty, one COPY into it; filled (by an earlier floor), COPY to a stage + guarded upsert."""
    started = time.perf_counter()
    async with httpx.AsyncClient(timeout=300) as http:
        answer = await http.get(export_url, headers={"Authorization": f"Bearer {token}"})
        body = answer.raise_for_status().content
    fetched = time.perf_counter()
    gc.disable()
    try:
        products = orjson.loads(body)
        parsed = time.perf_counter()
        rows = _rows(products, user_id)
        built = time.perf_counter()
    finally:
        gc.enable()
    del body, products
    conn = await asyncpg.connect(url)
    try:
        began = time.perf_counter()
        if await conn.fetchval("SELECT NOT EXISTS (SELECT 1 FROM user_inventory_items)"):
            await conn.copy_records_to_table(
                "user_inventory_items", records=rows, columns=ITEM_COLUMNS
            )
        else:
            async with conn.transaction():
                await conn.execute(FLOOR_STAGE + " ON COMMIT DROP")
                await conn.copy_records_to_table("floor_stage", records=rows, columns=ITEM_COLUMNS)
                await conn.execute(FLOOR_UPSERT)
        written = time.perf_counter()
    finally:
        await conn.close()
    return Stages(fetched - started, parsed - fetched, built - parsed, written - began)

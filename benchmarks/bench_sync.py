"""A bulk sync from the CardTrader sandbox over HTTP to `completed`, on real Postgres, Redis
(rate limits) and the MariaDB catalogue, against two references measured in the same run on
the same export:

- the ceiling (today's): `json.loads` of the export bytes + asyncpg COPY + guarded upsert, in
  chunks; target: sync <= 1.5x it;
- the floor (`sync_floor.py`): fetch, orjson parse with the collector off, build the rows, one
  COPY into an empty indexed table (a re-sync: one guarded upsert of the same staged rows).
  `floor_ratio` = sync / the stages' serial sum, `overlap_ratio` = sync / max(fetch + parse +
  build, write). Issue 13's targets: at 250k on the first load overlap_ratio <= 1.5 and
  floor_ratio <= 1.0; a re-sync with 10% changed floor_ratio <= 1.5; at 20k floor_ratio <= 2.

Peak memory of the process running the sync <= 512 MB. The sync runs in its own process (so
its peak RSS is its own; its collector tuned as `brx-sync worker` tunes its own, `settle_heap`)
and the sandbox in another (so they do not share a GIL). The machine is
shared, so each measurement is repeated (BRX_BENCH_REPEATS, 2), the references right before
each sync, and the median of the per-run ratios is the verdict (PASS or BELOW its target).
Knobs: BRX_BENCH_PRODUCTS (250000), BRX_BENCH_SMALL (20000 first loads; 0 skips them),
BRX_BENCH_REPEATS (2), BRX_BENCH_PG, BRX_BENCH_REDIS, BRX_BENCH_MYSQL_HOST.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sync_floor import Stages, measure_floor

PRODUCTS = int(os.environ.get("BRX_BENCH_PRODUCTS", "250000"))
REPEATS = max(1, int(os.environ.get("BRX_BENCH_REPEATS", "2")))
PG = os.environ.get("BRX_BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
REDIS = os.environ.get("BRX_BENCH_REDIS", "redis://127.0.0.1:6379/14")
MYSQL_HOST = os.environ.get("BRX_BENCH_MYSQL_HOST", "127.0.0.1")
TOKEN = "bench-sync-token"
CHUNK = 5000
SMALL = int(os.environ.get("BRX_BENCH_SMALL", "20000"))
TARGET_MB = 512
# issue 13's targets (sync / floor, see sync_floor.py); the ceiling's own stays <= 1.5
FIRST_TARGETS = {"ceiling_ratio": 1.5, "floor_ratio": 1.0, "overlap_ratio": 1.5}
RESYNC_TARGETS = {"ceiling_ratio": 1.5, "floor_ratio": 1.5}
SMALL_TARGETS = {"floor_ratio": 2.0}
SANDBOX = """
import sys
from cardtrader_sandbox import SandboxState
from cardtrader_sandbox.server import serve_forever
serve_forever(SandboxState(tokens=sys.argv[1].split(","), products=int(sys.argv[2]), seed=42),
              "127.0.0.1", int(sys.argv[3]))
"""
RAW_STAGE = """CREATE TEMP TABLE IF NOT EXISTS raw_stage (blueprint_id INTEGER,
    external_stock_id TEXT, quantity INTEGER, price_cents INTEGER, properties JSONB,
    description TEXT, user_data_field TEXT, graded BOOLEAN) ON COMMIT DELETE ROWS"""
SYNCED = "quantity, price_cents, properties, description, user_data_field, graded"
RAW_UPSERT = f"""
INSERT INTO user_inventory_items AS t (user_id, blueprint_id, external_stock_id, {SYNCED},
    created_at, updated_at)
SELECT $1, blueprint_id, external_stock_id, {SYNCED}, $2, $2 FROM raw_stage
ON CONFLICT (user_id, blueprint_id, external_stock_id) DO UPDATE SET
    quantity = EXCLUDED.quantity, price_cents = EXCLUDED.price_cents,
    properties = EXCLUDED.properties, description = EXCLUDED.description,
    user_data_field = EXCLUDED.user_data_field, graded = EXCLUDED.graded,
    updated_at = EXCLUDED.updated_at
WHERE (t.{SYNCED.replace(", ", ", t.")}) IS DISTINCT FROM
      (EXCLUDED.{SYNCED.replace(", ", ", EXCLUDED.")})
"""
COLUMNS = ["blueprint_id", "external_stock_id", *SYNCED.split(", ")]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_sandbox(
    products: int, tokens: tuple[str, ...] = (TOKEN,)
) -> tuple[subprocess.Popen[bytes], str]:
    """The sandbox in its own process: `products` for each of `tokens`' sellers."""
    port = free_port()
    argv = [sys.executable, "-c", SANDBOX, ",".join(tokens), str(products), str(port)]
    process = subprocess.Popen(argv)
    base = f"http://127.0.0.1:{port}/api/v2"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{base}/info", headers={"Authorization": f"Bearer {tokens[0]}"}, timeout=2)
            return process, base
        except httpx.HTTPError:
            time.sleep(0.5)
    process.kill()
    raise RuntimeError("the sandbox did not start")


async def admin(sql: str) -> None:
    conn = await asyncpg.connect(f"{PG}/postgres")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def new_database() -> str:
    from brx_adapters.postgres import upgrade_async

    name = f"brx_bench_sync_{uuid.uuid4().hex[:10]}"
    await admin(f'CREATE DATABASE "{name}"')
    await upgrade_async(f"{PG}/{name}")
    return name


async def ceiling(url: str, body: bytes, user_id: uuid.UUID) -> float:
    """The least any sync must do: parse the bytes, COPY them, upsert with the guard."""
    conn = await asyncpg.connect(url)
    try:
        started = time.perf_counter()
        products = json.loads(body)
        now = datetime.now(UTC)
        for start in range(0, len(products), CHUNK):
            records = [
                (p["blueprint_id"], str(p["id"]), p["quantity"], p["price_cents"],
                 json.dumps(p.get("properties_hash") or {}, separators=(",", ":")),
                 p.get("description") or None, p.get("user_data_field") or None,
                 None if p.get("graded") is None else bool(p.get("graded")))
                for p in products[start : start + CHUNK]
            ]  # fmt: skip
            async with conn.transaction():
                await conn.execute(RAW_STAGE)
                await conn.copy_records_to_table("raw_stage", records=records, columns=COLUMNS)
                await conn.execute(RAW_UPSERT, user_id, now)
        return time.perf_counter() - started
    finally:
        await conn.close()


def run_sync(config: dict[str, Any]) -> dict[str, Any]:
    """The sync in a fresh process; returns its timing, stats and peak RSS."""
    out = subprocess.run(
        [sys.executable, str(Path(__file__)), "--sync", json.dumps(config)],
        check=True,
        capture_output=True,
        text=True,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


async def sync_in_this_process(config: dict[str, Any]) -> dict[str, Any]:
    import redis.asyncio as aioredis
    from cryptography.fernet import Fernet

    from brx_adapters.cardtrader import CardTraderGateway
    from brx_adapters.crypto import FernetCipher
    from brx_adapters.memory import MemoryProductLocks, MemoryTaskQueue
    from brx_adapters.mysql import MySqlCatalogue
    from brx_adapters.postgres import PostgresUnitOfWorkFactory, create_engine
    from brx_adapters.redis import RedisRateLimiter
    from brx_adapters.system import SystemClock, UuidIds
    from brx_app.jobs import run_job
    from brx_app.runtime import settle_heap
    from brx_domain.jobs import JobName
    from brx_domain.usecases.common import Ports, Settings
    from brx_domain.usecases.sync import start_bulk_sync
    from brx_domain.usecases.users import register_user

    engine = create_engine(config["database_url"], pool_size=4, max_overflow=0)
    redis = aioredis.Redis.from_url(REDIS)
    catalogue = MySqlCatalogue.from_config(host=MYSQL_HOST, database=config["catalogue"])
    async with httpx.AsyncClient(timeout=httpx.Timeout(30.0, read=180.0)) as http:
        ports = Ports(
            uow=PostgresUnitOfWorkFactory(engine), queue=MemoryTaskQueue(), clock=SystemClock(),
            ids=UuidIds(), cipher=FernetCipher([Fernet.generate_key().decode()]),
            marketplace=CardTraderGateway(
                http, base_url=config["base_url"],
                limiter=RedisRateLimiter(redis, prefix=f"bench:{uuid.uuid4().hex}:"),
            ),
            catalogue=catalogue, locks=MemoryProductLocks(), settings=Settings(chunk_size=CHUNK),
        )  # fmt: skip
        user_id = uuid.UUID(config["user_id"])
        await register_user(ports, user_id, TOKEN)
        settle_heap("worker")  # as `brx-sync worker` does once built, before it serves
        started = time.perf_counter()
        operation = await start_bulk_sync(ports, user_id)
        await run_job(ports, JobName.BULK_SYNC, operation.operation_id)
        seconds = time.perf_counter() - started
        async with ports.uow() as uow:
            done = await uow.operations.get(operation.operation_id)
    await catalogue.close()
    await redis.aclose()
    await engine.dispose()
    assert done is not None
    peak_mb = peak_rss_mb()
    return {"seconds": seconds, "status": done.status.value, "peak_mb": peak_mb,
            "progress": done.progress.to_dict()}  # fmt: skip


def peak_rss_mb() -> float:
    """This process's high-water RSS. Not `ru_maxrss`: Linux keeps that across exec, so a child
    would report its parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def catalogue_database(blueprint_ids: set[int]) -> str:
    import pymysql

    name = f"brx_bench_cat_{uuid.uuid4().hex[:10]}"
    conn = pymysql.connect(host=MYSQL_HOST, user="root", autocommit=True)
    with conn.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE `{name}`")
        for table in ("cards_prints", "pk_prints", "sealed_products", "op_prints"):
            cursor.execute(f"CREATE TABLE `{name}`.`{table}` (id INT AUTO_INCREMENT PRIMARY KEY,"
                           " cardtrader_id INT, KEY (cardtrader_id))")  # fmt: skip
        known = sorted(blueprint_ids)[: len(blueprint_ids) * 19 // 20]  # 5% unknown: skipped
        cursor.executemany(
            f"INSERT INTO `{name}`.cards_prints (cardtrader_id) VALUES (%s)",
            [(b,) for b in known],
        )
    conn.close()
    return name


def drop_catalogue(name: str) -> None:
    import pymysql

    conn = pymysql.connect(host=MYSQL_HOST, user="root", autocommit=True)
    with conn.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
    conn.close()


def export_bytes(base: str, token: str = TOKEN) -> bytes:
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.get(f"{base}/products/export", headers=headers, timeout=300).content


def change_tenth(base: str, products: int) -> None:
    """10% of the products changed on CardTrader: half restocked, half re-priced."""
    half = products // 20
    body = {"change_quantity": half, "change_price": half}
    httpx.post(f"{base.removesuffix('/api/v2')}/_sandbox/mutate", json=body, timeout=60)


@dataclass(frozen=True)
class Run:
    sync: dict[str, Any]
    ceiling: float
    floor: Stages

    @property
    def ceiling_ratio(self) -> float:
        return float(self.sync["seconds"]) / self.ceiling

    @property
    def floor_ratio(self) -> float:
        return float(self.sync["seconds"]) / self.floor.serial

    @property
    def overlap_ratio(self) -> float:
        return float(self.sync["seconds"]) / self.floor.overlap


def report(label: str, run: Run) -> None:
    sync, progress = run.sync, run.sync["progress"]
    print(f"{label}: sync {sync['seconds']:.2f} s ({sync['status']}), peak {sync['peak_mb']:.0f} "
          f"MB; created {progress['created']} updated {progress['updated']} skipped "
          f"{progress['skipped']} deleted {progress['deleted']}\n  ceiling {run.ceiling:.2f} s "
          f"(ratio {run.ceiling_ratio:.2f}); floor {run.floor.describe()}; floor_ratio "
          f"{run.floor_ratio:.2f}, overlap_ratio {run.overlap_ratio:.2f}", flush=True)  # fmt: skip


def check(label: str, value: float, target: float, unit: str = "") -> None:
    """One target of issue 13: the figure, its target, PASS or BELOW."""
    verdict = "PASS" if value <= target else "BELOW"
    print(f"  {label} {value:.2f}{unit} (target <= {target:g}{unit}) {verdict}", flush=True)


def verdict(label: str, runs: list[Run], targets: dict[str, float]) -> None:
    """Medians over the repeats; each ratio is the median of each run's own ratio."""
    seconds = statistics.median(float(r.sync["seconds"]) for r in runs)
    completed = all(r.sync["status"] == "completed" for r in runs)
    print(f"{label} (median of {len(runs)}): sync {seconds:.2f} s, "
          f"{'completed' if completed else 'NOT COMPLETED'}", flush=True)  # fmt: skip
    for name, target in targets.items():
        check(name, statistics.median(getattr(r, name) for r in runs), target)
    check("peak worker memory", max(float(r.sync["peak_mb"]) for r in runs), TARGET_MB, " MB")


async def measure(label: str, base: str, config: dict[str, Any], dbs: dict[str, str]) -> Run:
    """A ceiling and a floor on the current export, then the sync of the same export."""
    body = export_bytes(base)
    raw = await ceiling(dbs["ceiling"], body, uuid.UUID(config["raw_user"]))
    del body
    floor = await measure_floor(
        f"{base}/products/export", TOKEN, dbs["floor"], uuid.UUID(config["raw_user"])
    )
    run = Run(run_sync(config), raw, floor)
    report(label, run)
    return run


async def one_size(products: int, resync: bool) -> None:
    """First loads (and re-syncs with 10% changed) of `products`, each against its floors."""
    sandbox, base = start_sandbox(products)
    databases: list[str] = []
    catalogue = ""
    first: list[Run] = []
    again: list[Run] = []
    try:
        body = export_bytes(base)
        catalogue = catalogue_database({p["blueprint_id"] for p in json.loads(body)})
        print(f"{products} products, {len(body) / 1e6:.0f} MB export", flush=True)
        del body
        for run in range(1, REPEATS + 1):
            dbs = {k: await new_database() for k in ("ceiling", "floor", "sync")}
            databases += dbs.values()
            config = {"database_url": f"{PG}/{dbs['sync']}", "base_url": base,
                      "catalogue": catalogue, "user_id": str(uuid.uuid4()),
                      "raw_user": str(uuid.uuid4())}  # fmt: skip
            urls = {k: f"{PG}/{v}" for k, v in dbs.items()}
            first.append(await measure(f"run {run}, first load", base, config, urls))
            if resync:
                change_tenth(base, products)
                again.append(await measure(f"run {run}, re-sync 10% changed", base, config, urls))
            for name in dbs.values():
                await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        targets = FIRST_TARGETS if resync else SMALL_TARGETS
        verdict(f"first load, {products} products", first, targets)
        if resync:
            verdict(f"re-sync 10% changed, {products} products", again, RESYNC_TARGETS)
    finally:
        sandbox.terminate()
        sandbox.wait(30)
        for name in databases:
            await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if catalogue:
            drop_catalogue(catalogue)


async def main() -> None:
    await one_size(PRODUCTS, resync=True)
    if SMALL:
        await one_size(SMALL, resync=False)


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--sync":
        print(json.dumps(asyncio.run(sync_in_this_process(json.loads(sys.argv[2])))))
    else:
        asyncio.run(main())

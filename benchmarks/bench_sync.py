"""A bulk sync of 250,000 products from the CardTrader sandbox over HTTP to `completed`, on
real Postgres, Redis (rate limits) and the MariaDB catalogue, against a raw ceiling measured
in the same run: `json.loads` of the same export bytes + asyncpg COPY + guarded upsert.

Targets: first load and a re-sync with 10% of the products changed each within 1.5x the
ceiling; peak memory of the process running the sync <= 512 MB. The sync runs in its own
process (so its peak RSS is its own) and the sandbox in another (so they do not share a GIL).
The machine is shared, so each measurement is repeated (BRX_BENCH_REPEATS, 2), a ceiling right
before each sync, and the median of the per-run ratios is the verdict.
Knobs: BRX_BENCH_PRODUCTS (250000), BRX_BENCH_REPEATS (2), BRX_BENCH_PG, BRX_BENCH_REDIS,
BRX_BENCH_MYSQL_HOST.
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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx

PRODUCTS = int(os.environ.get("BRX_BENCH_PRODUCTS", "250000"))
REPEATS = max(1, int(os.environ.get("BRX_BENCH_REPEATS", "2")))
PG = os.environ.get("BRX_BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
REDIS = os.environ.get("BRX_BENCH_REDIS", "redis://127.0.0.1:6379/14")
MYSQL_HOST = os.environ.get("BRX_BENCH_MYSQL_HOST", "127.0.0.1")
TOKEN = "bench-sync-token"
CHUNK = 5000
TARGET_RATIO, TARGET_MB = 1.5, 512
SANDBOX = """
import sys
from cardtrader_sandbox import SandboxState
from cardtrader_sandbox.server import serve_forever
serve_forever(SandboxState(tokens=[sys.argv[1]], products=int(sys.argv[2]), seed=42),
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


def start_sandbox() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-c", SANDBOX, TOKEN, str(PRODUCTS), str(port)])
    base = f"http://127.0.0.1:{port}/api/v2"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{base}/info", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=2)
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
    from brx_domain.usecases.common import JobName, Ports, Settings
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


def export_bytes(base: str) -> bytes:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    return httpx.get(f"{base}/products/export", headers=headers, timeout=300).content


def change_tenth(base: str) -> None:
    """10% of the products changed on CardTrader: half restocked, half re-priced."""
    half = PRODUCTS // 20
    body = {"change_quantity": half, "change_price": half}
    httpx.post(f"{base.removesuffix('/api/v2')}/_sandbox/mutate", json=body, timeout=60)


def report(label: str, sync: dict[str, Any], raw: float) -> float:
    ratio = float(sync["seconds"]) / raw
    progress = sync["progress"]
    print(f"{label}: sync {sync['seconds']:.2f} s ({sync['status']}), ceiling {raw:.2f} s, "
          f"ratio {ratio:.2f}; peak {sync['peak_mb']:.0f} MB; created {progress['created']} "
          f"updated {progress['updated']} skipped {progress['skipped']} "
          f"deleted {progress['deleted']}", flush=True)  # fmt: skip
    return ratio


def verdict(label: str, runs: list[tuple[dict[str, Any], float, float]]) -> None:
    """Medians over the repeats; the ratio is the median of each run's own ratio."""
    ratio = statistics.median(r for _, _, r in runs)
    peak = max(float(s["peak_mb"]) for s, _, _ in runs)
    ok = (
        ratio <= TARGET_RATIO
        and peak <= TARGET_MB
        and all(s["status"] == "completed" for s, _, _ in runs)
    )
    seconds = statistics.median(float(s["seconds"]) for s, _, _ in runs)
    raw = statistics.median(c for _, c, _ in runs)
    print(f"{label} (median of {len(runs)}): sync {seconds:.2f} s, "
          f"ceiling {raw:.2f} s, ratio {ratio:.2f} "
          f"(target <= {TARGET_RATIO}); peak {peak:.0f} MB (target <= {TARGET_MB}) -> "
          f"{'ok' if ok else 'OVER TARGET'}", flush=True)  # fmt: skip


async def measure(
    label: str, base: str, config: dict[str, Any], raw_url: str
) -> tuple[dict[str, Any], float, float]:
    """A ceiling on the current export, then the sync of the same export."""
    body = export_bytes(base)
    raw = await ceiling(raw_url, body, uuid.UUID(config["raw_user"]))
    del body
    sync = run_sync(config)
    return sync, raw, report(label, sync, raw)


async def main() -> None:
    sandbox, base = start_sandbox()
    databases: list[str] = []
    catalogue = ""
    first: list[tuple[dict[str, Any], float, float]] = []
    again: list[tuple[dict[str, Any], float, float]] = []
    try:
        body = export_bytes(base)
        catalogue = catalogue_database({p["blueprint_id"] for p in json.loads(body)})
        print(f"{PRODUCTS} products, {len(body) / 1e6:.0f} MB export", flush=True)
        del body
        for run in range(1, REPEATS + 1):
            raw_db, sync_db = await new_database(), await new_database()
            databases += [raw_db, sync_db]
            config = {"database_url": f"{PG}/{sync_db}", "base_url": base, "catalogue": catalogue,
                      "user_id": str(uuid.uuid4()), "raw_user": str(uuid.uuid4())}  # fmt: skip
            raw_url = f"{PG}/{raw_db}"
            first.append(await measure(f"run {run}, first load", base, config, raw_url))
            change_tenth(base)
            again.append(await measure(f"run {run}, re-sync 10% changed", base, config, raw_url))
            for name in (raw_db, sync_db):
                await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        verdict("first load", first)
        verdict("re-sync, 10% changed", again)
    finally:
        sandbox.terminate()
        sandbox.wait(30)
        for name in databases:
            await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if catalogue:
            drop_catalogue(catalogue)


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--sync":
        print(json.dumps(asyncio.run(sync_in_this_process(json.loads(sys.argv[2])))))
    else:
        asyncio.run(main())

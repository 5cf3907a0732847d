"""A million products: first load and re-sync (10% changed) from the sandbox over HTTP, while
`brx-sync serve` answers the inventory API for that user; run with `nox -s bench -- million`
(not part of the default `nox -s bench`: about 10-15 minutes here).

Issue 13's targets, each printed with PASS/BELOW:
- the worker's peak RSS <= 512 MB for both syncs (the sync runs in its own process);
- time growing linearly: seconds for 1M / seconds for 250k (same run, same code, the API's
  pages hit alike during both) <= 4.4;
- progress moving at least every 2 s: the longest gap between two changes of the operation's
  stored progress while it runs (polled every 0.1 s), counted from the moment the operation
  exists (the download, before the first chunk, included) and, separately, from the first
  chunk;
- the inventory page (first page, exact total) and three filtered pages (a blueprint, a name
  search, a broad condition) of that user, p99 <= 50 ms during the syncs and after them.
Knobs: BRX_BENCH_MILLION (1000000), BRX_BENCH_BASE (250000), BRX_BENCH_PG, BRX_BENCH_REDIS.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sys
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import bench_sync as sync
import httpx
from bench_http import free_port, start, stop, wait_up

MILLION = int(sync.os.environ.get("BRX_BENCH_MILLION", "1000000"))
BASE = int(sync.os.environ.get("BRX_BENCH_BASE", "250000"))
TARGET_GROWTH, TARGET_GAP_S, TARGET_P99_MS = 4.4, 2.0, 50.0
PROGRESS = (
    "SELECT operation_metadata -> 'progress' FROM sync_operations WHERE user_id = $1 "
    "AND operation_type = 'bulk_sync' ORDER BY id DESC LIMIT 1"
)


@dataclass
class Watch:
    """What a poller saw while a sync ran: progress changes and page latencies."""

    changes: list[float] = field(default_factory=list)
    started: float = 0.0
    ended: float = 0.0
    latencies: dict[str, list[float]] = field(default_factory=dict)

    def gaps(self) -> tuple[float, float]:
        """(longest gap from the job's start, longest gap from the first chunk)."""
        points = [self.started, *self.changes, self.ended]
        overall = max(b - a for a, b in itertools.pairwise(points))
        chunks = [*self.changes, self.ended]
        importing = max((b - a for a, b in itertools.pairwise(chunks)), default=0.0)
        return overall, importing


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000 if ordered else 0.0


def check(label: str, value: float, target: float, unit: str) -> None:
    verdict = "PASS" if value <= target else "BELOW"
    print(f"  {label} {value:.2f}{unit} (target <= {target:g}{unit}) {verdict}", flush=True)


async def poll_progress(url: str, user: uuid.UUID, watch: Watch, stop_at: asyncio.Event) -> None:
    conn = await asyncpg.connect(url)
    last: Any = None
    try:
        while not stop_at.is_set():
            current = await conn.fetchval(PROGRESS, user)
            if current is not None and current != last:
                if last is None:
                    watch.started = time.monotonic()  # the operation exists: the job is on
                else:
                    watch.changes.append(time.monotonic())
                last = current
            await asyncio.sleep(0.1)
    finally:
        await conn.close()


async def hit_pages(
    http: httpx.AsyncClient,
    pages: dict[str, tuple[str, dict[str, Any]]],
    watch: Watch,
    stop_at: asyncio.Event | None,
) -> None:
    """Each page in turn, 5 rounds a second, until `stop_at` (or 100 rounds when None)."""
    rounds = 0
    while (stop_at is None and rounds < 100) or (stop_at is not None and not stop_at.is_set()):
        for name, (path, params) in pages.items():
            began = time.perf_counter()
            answer = await http.get(path, params=params)
            watch.latencies.setdefault(name, []).append(time.perf_counter() - began)
            answer.raise_for_status()
        rounds += 1
        await asyncio.sleep(0.2)


async def watched_sync(
    config: dict[str, Any],
    http: httpx.AsyncClient | None,
    pages: dict[str, tuple[str, dict[str, Any]]],
) -> tuple[dict[str, Any], Watch]:
    """The sync in its own process, its progress polled and the pages hit meanwhile."""
    watch, done = Watch(), asyncio.Event()
    user = uuid.UUID(config["user_id"])
    tasks = [asyncio.create_task(poll_progress(config["database_url"], user, watch, done))]
    if http is not None and pages:
        tasks.append(asyncio.create_task(hit_pages(http, pages, watch, done)))
    try:
        result = await asyncio.to_thread(sync.run_sync, config)
    finally:
        done.set()
        await asyncio.gather(*tasks)
    watch.ended = time.monotonic()
    gap, importing = watch.gaps()
    print(f"    {result['seconds']:.1f} s ({result['status']}), peak {result['peak_mb']:.0f} MB,"
          f" longest progress gap {gap:.1f} s ({importing:.2f} s after the first chunk)",
          flush=True)  # fmt: skip
    return result, watch


def pages_of(product: dict[str, Any], user: str) -> dict[str, tuple[str, dict[str, Any]]]:
    """The first page and three filtered pages: a blueprint, a name and a condition the export
    holds (the condition a broad one: a few tenths of the user's items)."""
    path = f"/api/v1/sync/inventory/{user}"
    condition = product["properties_hash"].get("condition", "Near Mint")
    return {
        "first page": (path, {"limit": 100}),
        "blueprint page": (path, {"limit": 100, "blueprint_id": product["blueprint_id"]}),
        "name search page": (path, {"limit": 100, "q": product["name_en"]}),
        "condition page": (path, {"limit": 100, "condition": condition}),
    }


async def one_size(products: int, serve: bool) -> dict[str, Any]:
    """First load + re-sync of `products`; with `serve`, the API hit during and after."""
    sandbox, base = sync.start_sandbox(products)
    database = await sync.new_database()
    catalogue = ""
    api: Any = None
    try:
        body = sync.export_bytes(base)
        exported = json.loads(body)
        del body
        catalogue = sync.catalogue_database({p["blueprint_id"] for p in exported})
        known = sorted({p["blueprint_id"] for p in exported})[: len(exported) * 19 // 20]
        product = next(p for p in reversed(exported) if p["blueprint_id"] in set(known[:50]))
        print(f"{products} products", flush=True)
        del exported
        config = {"database_url": f"{sync.PG}/{database}", "base_url": base,
                  "catalogue": catalogue, "user_id": str(uuid.uuid4())}  # fmt: skip
        http: httpx.AsyncClient | None = None
        if serve:
            api, http = await start_api(config)
        pages = pages_of(product, config["user_id"]) if http else {}
        print("  first load:", flush=True)
        first, first_watch = await watched_sync(config, http, pages)
        sync.change_tenth(base, products)
        sync.export_bytes(base)  # the sandbox re-serialises its export here, not during the sync
        print("  re-sync, 10% changed:", flush=True)
        again, again_watch = await watched_sync(config, http, pages)
        after = Watch()
        if http is not None:
            await hit_pages(http, pages, after, None)
            await http.aclose()
        return {"first": (first, first_watch), "again": (again, again_watch), "after": after}
    finally:
        if api is not None:
            stop(api)
        sandbox.terminate()
        sandbox.wait(30)
        await sync.admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        if catalogue:
            sync.drop_catalogue(catalogue)


async def start_api(config: dict[str, Any]) -> tuple[Any, httpx.AsyncClient]:
    from cryptography.fernet import Fernet

    from brx_app.commands.keys import generate_rsa_pem
    from brx_app.commands.token import mint_access_token

    private, public = generate_rsa_pem()
    port = free_port()
    env = {"ENVIRONMENT": "development", "DATABASE_URL": config["database_url"],
           "REDIS_URL": sync.REDIS, "JWT_PUBLIC_KEY": public.decode(),
           "FERNET_KEY": Fernet.generate_key().decode(), "RATE_LIMIT_REQUESTS": "1000000000",
           "RATE_LIMIT_WINDOW_SECONDS": "1"}  # fmt: skip
    api = start([sys.executable, "-m", "brx_app.cli", "serve", "--port", str(port)], env)
    await wait_up(port)
    token = mint_access_token(private, config["user_id"], minutes=60)
    http = httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    return api, http


async def main() -> None:
    started = time.perf_counter()
    small = await one_size(BASE, serve=True)  # the same page load as the million: like for like
    large = await one_size(MILLION, serve=True)
    print(f"{MILLION} vs {BASE} products ({time.perf_counter() - started:.0f} s in all):")
    for label in ("first", "again"):
        name = "first load" if label == "first" else "re-sync 10% changed"
        big, watch = large[label]
        growth = float(big["seconds"]) / float(small[label][0]["seconds"])
        gap, importing = watch.gaps()
        print(f" {name}: {big['seconds']:.1f} s vs {small[label][0]['seconds']:.1f} s")
        check("time growth", growth, TARGET_GROWTH, "x")
        check("peak worker memory", float(big["peak_mb"]), sync.TARGET_MB, " MB")
        check("longest progress gap (download included)", gap, TARGET_GAP_S, " s")
        check("longest progress gap after the first chunk", importing, TARGET_GAP_S, " s")
    phases = (("during the first load", large["first"][1]),
              ("during the re-sync", large["again"][1]), ("after", large["after"]))  # fmt: skip
    for label, watch in phases:
        for page, latencies in watch.latencies.items():
            check(f"{page} p99 {label} ({len(latencies)} requests)", p99(latencies),
                  TARGET_P99_MS, " ms")  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())

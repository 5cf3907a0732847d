"""Scale-out, measured (issue 13 item 5): 1 and 2 API processes, 1 and 2 workers, on the same
Postgres and Redis; run with `nox -s bench -- scale` (not part of the default `nox -s bench`:
about 4 minutes here). No target: it prints what each configuration does.

1. API processes: two `brx-sync serve` processes on two ports (each drains on SIGTERM as
   deployed; `serve --workers 2` would share one port but not drain its children). "1 API" sends
   every connection to the first, "2 API" spreads them over both, in interleaved rounds
   (`bench_http.interleaved`): the inventory page (100 items, a real RS256 JWT) and signed
   webhook deliveries (real HMAC, stored and committed and queued before the answer). The load
   generator is this process: on a small machine it takes a share of the same cores.
2. Workers: `brx-sync worker` processes (1, then 2) on a fresh database each, with one API
   process. Two users on two CardTrader accounts of the sandbox start their first load at once
   (BRX_BENCH_SCALE_PRODUCTS each, 100000): bulk products/s from the two starts to the second
   completion, and each worker's CPU in that time (how the two jobs spread). Then BRX_BENCH_
   SCALE_PUSHES item edits per user (300) through the API, each pushed to CardTrader by the
   workers: pushes/s, which CardTrader's 200 requests / 10 s per token bounds, whatever the
   number of workers, because the workers share each token's bucket in Redis.
3. The sandbox's own request log, per token: the most requests in any 10 s window and the 429
   answers, for each worker configuration and for the whole run (target: <= 200, no 429).

Its own databases, Redis keys under a BRX_QUEUE_NAMESPACE of its own (deleted at the end), and
MariaDB catalogue. Knobs: BRX_BENCH_SCALE_PRODUCTS, BRX_BENCH_SCALE_PUSHES, bench_http's
(BRX_BENCH_SECONDS, BRX_BENCH_CONNECTIONS, BRX_BENCH_ROUNDS) and bench_sync's (BRX_BENCH_PG,
BRX_BENCH_REDIS, BRX_BENCH_MYSQL_HOST).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import bench_http as web
import bench_sync as sync
import httpx

PRODUCTS = int(os.environ.get("BRX_BENCH_SCALE_PRODUCTS", "100000"))
PUSHES = int(os.environ.get("BRX_BENCH_SCALE_PUSHES", "300"))
TOKENS = ("bench-scale-a", "bench-scale-b")  # two CardTrader accounts in the sandbox
LIMIT, WINDOW = 200, 10.0  # CardTrader's per-token limit
API = "/api/v1/sync"
EDITS_IN_FLIGHT = 20
PUSHED = (
    "SELECT count(*) FILTER (WHERE status = 'completed'), count(*) FILTER (WHERE status ="
    " 'failed') FROM sync_operations WHERE user_id = $1 AND operation_type = 'update'"
)
SERVE = [sys.executable, "-m", "brx_app.cli", "serve"]
WORKER = [sys.executable, "-m", "brx_app.cli", "worker"]


@dataclass(frozen=True)
class Keys:
    """What every process of the run shares: keys and the queue namespace; and each user's JWT
    (minted once: loading the private key costs tens of milliseconds, the load generator's)."""

    private: bytes
    public: str
    fernet: str
    namespace: str
    minted: dict[uuid.UUID, str] = field(default_factory=dict)

    def env(self, database_url: str, **extra: str) -> dict[str, str]:
        return {
            "ENVIRONMENT": "production",
            "DATABASE_URL": database_url,
            "REDIS_URL": sync.REDIS,
            "BRX_QUEUE_NAMESPACE": self.namespace,
            "JWT_PUBLIC_KEY": self.public,
            "FERNET_KEY": self.fernet,
            "DB_POOL_SIZE": "16",
            "DB_MAX_OVERFLOW": "0",
            "RATE_LIMIT_REQUESTS": "1000000000",  # the inbound per-user limit is not measured
            "RATE_LIMIT_WINDOW_SECONDS": "1",
            "WORKER_METRICS_PORT": "0",
            **extra,
        }

    def auth(self, user: uuid.UUID) -> dict[str, str]:
        from brx_app.commands.token import mint_access_token

        if user not in self.minted:
            self.minted[user] = mint_access_token(self.private, str(user), minutes=60)
        return {"Authorization": f"Bearer {self.minted[user]}"}


async def serve(keys: Keys, database_url: str, **extra: str) -> tuple[Any, int]:
    port = web.free_port()
    process = web.start([*SERVE, "--port", str(port)], keys.env(database_url, **extra))
    await web.wait_up(port)
    return process, port


# --- 1. API processes -------------------------------------------------------------------------


async def api_processes(keys: Keys) -> dict[str, dict[str, float]]:
    database = f"brx_bench_scale_{uuid.uuid4().hex[:8]}"
    url, user = await web.prepare(database)
    processes = []
    try:
        hook_user, secret = await web.register_webhook_user(url, keys.fernet)
        (first, a), (second, b) = [await serve(keys, url) for _ in range(2)]
        processes = [first, second]
        path = f"{API}/inventory/{user}"
        token = keys.auth(user)["Authorization"].removeprefix("Bearer ")
        hook = web.webhook_request(hook_user, secret)
        figures = {}
        page = lambda: web.get_request(path, token)  # noqa: E731
        for part, make in (("inventory", page), ("webhook", hook)):
            configurations = [("1 API", (a,), make), ("2 API", (a, b), make)]
            rates, rounds, _ = await web.interleaved(configurations)
            figures[part] = rates
            unit = "requests/s" if part == "inventory" else "deliveries/s"
            print(f"{part} ({web.CONNECTIONS} connections, {web.ROUNDS} interleaved rounds):")
            for name, rate in rates.items():
                spread = ", ".join(f"{r:.0f}" for r in rounds[name])
                print(f"  {name}: {rate:6.0f} {unit}  (rounds: {spread})", flush=True)
        return figures
    finally:
        for process in processes:
            web.stop(process)
        await web.drop(database)


# --- 2. workers -------------------------------------------------------------------------------


@dataclass
class WorkerRun:
    workers: int
    products: int
    bulk_seconds: float
    bulk_cpu: list[float]
    pushes: int
    edit_seconds: float  # the edits through the API (the pushes start meanwhile)
    push_seconds: float  # from the first edit to the last push done
    failed_pushes: int
    windows: dict[str, tuple[int, int]]  # token -> (most requests in any 10 s, 429 answers)

    @property
    def products_per_s(self) -> float:
        return self.products / self.bulk_seconds

    @property
    def pushes_per_s(self) -> float:
        return self.pushes / self.push_seconds


async def first_loads(http: httpx.AsyncClient, keys: Keys, users: list[uuid.UUID]) -> int:
    """Both users' first loads, started at once; waits for both; returns the products synced."""
    started = await asyncio.gather(
        *(http.post(f"{API}/start/{u}", headers=keys.auth(u)) for u in users)
    )
    for answer in started:
        answer.raise_for_status()
    pending, synced = set(users), 0
    while pending:
        await asyncio.sleep(0.25)
        for user in list(pending):
            progress = (await http.get(f"{API}/progress/{user}", headers=keys.auth(user))).json()
            if progress["status"] == "pending":
                continue
            if progress["status"] != "completed":
                raise RuntimeError(f"the first load of {user} ended {progress}")
            pending.discard(user)
            synced += int(progress["total_products"])
    return synced


async def pushes(
    http: httpx.AsyncClient, keys: Keys, url: str, users: list[uuid.UUID]
) -> tuple[float, int]:
    """PUSHES edits of distinct items per user through the API, then waits until the workers
    pushed them all to CardTrader; returns the edits' seconds and how many pushes failed."""
    conn = await asyncpg.connect(url)
    gate = asyncio.Semaphore(EDITS_IN_FLIGHT)

    async def edit(user: uuid.UUID, item_id: int) -> None:
        async with gate:
            path = f"{API}/inventory/{user}/item/{item_id}"
            answer = await http.put(path, json={"quantity": 7}, headers=keys.auth(user))
            answer.raise_for_status()

    try:
        edits = []
        for user in users:
            ids = await conn.fetch(
                "SELECT id FROM user_inventory_items WHERE user_id = $1 AND quantity <> 7"
                " ORDER BY id LIMIT $2",
                user,
                PUSHES,
            )
            edits += [edit(user, row["id"]) for row in ids]
        started = time.perf_counter()
        await asyncio.gather(*edits)
        edit_seconds = time.perf_counter() - started
        while True:
            counts = [await conn.fetchrow(PUSHED, user) for user in users]
            done, failed = sum(c[0] for c in counts), sum(c[1] for c in counts)
            if done + failed >= len(edits):
                return edit_seconds, int(failed)
            await asyncio.sleep(0.1)
    finally:
        await conn.close()


async def windows(http: httpx.AsyncClient, base: str, since: float) -> dict[str, tuple[int, int]]:
    """Per token, from the sandbox's request log since `since`: the most requests in any 10 s
    window and the 429 answers."""
    from cardtrader_sandbox.limits import most_in_window

    found = {}
    for token in TOKENS:
        query = {"token": token, "since": since}
        log = (await http.get(f"{base}/_sandbox/requests", params=query)).json()
        times = sorted(float(e["time"]) for e in log)
        found[token] = (most_in_window(times, WINDOW), sum(e["status"] == 429 for e in log))
    return found


async def with_workers(keys: Keys, count: int, base: str, catalogue: str) -> WorkerRun:
    """A fresh database, one API process and `count` workers: the first loads, then pushes."""
    name = await sync.new_database()
    url = f"{sync.PG}/{name}"
    extra = {"CARDTRADER_API_BASE_URL": base, "MYSQL_HOST": sync.MYSQL_HOST,
             "MYSQL_DATABASE": catalogue}  # fmt: skip
    processes = []
    try:
        api, port = await serve(keys, url, **extra)
        processes.append(api)
        metrics = [web.free_port() for _ in range(count)]
        for metrics_port in metrics:  # ready once its /metrics answers
            env = keys.env(url, **extra, WORKER_METRICS_PORT=str(metrics_port))
            processes.append(web.start(WORKER, env))
        for metrics_port in metrics:
            await web.wait_up(metrics_port)
        workers = processes[1:]
        since = time.time()
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
            users = [uuid.uuid4() for _ in TOKENS]
            for user, token in zip(users, TOKENS, strict=True):
                connected = await http.put(f"{API}/connection/{user}", headers=keys.auth(user),
                                           json={"cardtrader_token": token})  # fmt: skip
                connected.raise_for_status()
            cpu = [web.cpu_seconds(w.pid) for w in workers]
            started = time.perf_counter()
            products = await first_loads(http, keys, users)
            bulk_seconds = time.perf_counter() - started
            cpu = [web.cpu_seconds(w.pid) - c for w, c in zip(workers, cpu, strict=True)]
            started = time.perf_counter()
            edit_seconds, failed = await pushes(http, keys, url, users)
            push_seconds = time.perf_counter() - started
        async with httpx.AsyncClient(timeout=60) as control:
            seen = await windows(control, base.removesuffix("/api/v2"), since)
        run = WorkerRun(count, products, bulk_seconds, cpu, PUSHES * len(users), edit_seconds,
                        push_seconds, failed, seen)  # fmt: skip
        report_workers(run)
        return run
    finally:
        for process in processes:
            web.stop(process)
        await sync.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def report_workers(run: WorkerRun) -> None:
    cpu = ", ".join(f"{c:.1f}" for c in run.bulk_cpu)
    print(f"{run.workers} worker{'s' if run.workers > 1 else ''}:")
    print(f"  bulk, two first loads at once: {run.products} products in {run.bulk_seconds:.1f} s"
          f" = {run.products_per_s:,.0f} products/s (worker CPU s: {cpu})")  # fmt: skip
    print(
        f"  pushes: {run.pushes} edits through the API in {run.edit_seconds:.1f} s, all pushed"
        f" {run.push_seconds:.1f} s after the first = {run.pushes_per_s:.1f} pushes/s"
        f" ({run.pushes_per_s / len(TOKENS):.1f}/s per token), {run.failed_pushes} failed"
    )
    for token, (most, refused) in run.windows.items():
        verdict = "PASS" if most <= LIMIT and not refused else "BELOW"
        print(
            f"  CardTrader token {token}: at most {most} requests in any {WINDOW:g} s"
            f" ({most / WINDOW:.1f}/s; limit {LIMIT}), {refused} answered 429 {verdict}",
            flush=True,
        )


# --- the run ----------------------------------------------------------------------------------


async def clean_redis(namespace: str) -> None:
    """This run's keys: its queues (and the arq jobs still in them), its rate-limit buckets."""
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(sync.REDIS)
    try:
        async for key in client.scan_iter(match=f"{namespace}*"):
            if await client.type(key) == b"zset":
                for job_id in await client.zrange(key, 0, -1):
                    await client.delete(b"arq:job:" + job_id, b"arq:retry:" + job_id)
            await client.delete(key)
    finally:
        await client.aclose()


def implications(
    api: dict[str, dict[str, float]], runs: list[WorkerRun], whole: dict[str, tuple[int, int]]
) -> None:
    cores = os.cpu_count() or 1
    inventory = api["inventory"]["2 API"] / api["inventory"]["1 API"]
    webhook = api["webhook"]["2 API"] / api["webhook"]["1 API"]
    bulk = runs[1].products_per_s / runs[0].products_per_s
    push = runs[1].pushes_per_s / runs[0].pushes_per_s
    most = max(m for m, _ in whole.values())
    print(f"2 / 1 processes on {cores} cores: inventory x{inventory:.2f}, webhooks x{webhook:.2f},"
          f" bulk x{bulk:.2f}, pushes x{push:.2f}; CardTrader at most {most} requests per token"
          f" in any {WINDOW:g} s (limit {LIMIT})")  # fmt: skip
    cpu = sorted(runs[1].bulk_cpu)
    if cpu[0] < 0.1 * cpu[-1]:
        print(
            f"  with 2 workers both first loads ran on one (worker CPU {cpu[-1]:.1f} s vs"
            f" {cpu[0]:.1f} s): a worker takes as many bulk jobs as it has free bulk slots (2),"
            " so a second worker only shares bulk syncs once more are queued than one holds; the"
            f" bulk x{bulk:.2f} compares one worker with itself: the shared machine's noise."
        )
    if cores <= 2:
        print("  on this machine the second process competes for the same cores as the first,"
              " Postgres, Redis, the sandbox and the load generator: the ratios show contention,"
              " not what a second process adds on a machine with cores to spare.")  # fmt: skip
    print(
        "  pushes per token are held under CardTrader's limit whatever the number of workers (one"
        " Redis bucket per token, shared): more workers add push throughput across shops"
        " (tokens), never within one."
    )


async def main() -> None:
    from cryptography.fernet import Fernet

    from brx_app.commands.keys import generate_rsa_pem

    private, public = generate_rsa_pem()
    keys = Keys(private, public.decode(), Fernet.generate_key().decode(),
                f"bench-scale-{uuid.uuid4().hex[:8]}:")  # fmt: skip
    sandbox, base = sync.start_sandbox(PRODUCTS, TOKENS)
    catalogue = ""
    try:
        blueprints: set[int] = set()
        for token in TOKENS:  # the sandbox serialises each export once, before it is measured
            blueprints |= {p["blueprint_id"] for p in json.loads(sync.export_bytes(base, token))}
        catalogue = sync.catalogue_database(blueprints)
        started = time.perf_counter()
        api = await api_processes(keys)
        await clean_redis(keys.namespace)  # the deliveries' jobs: no worker ran them
        runs = [await with_workers(keys, count, base, catalogue) for count in (1, 2)]
        async with httpx.AsyncClient(timeout=60) as control:
            whole = await windows(control, base.removesuffix("/api/v2"), 0.0)
        for token, (most, refused) in whole.items():
            print(
                f"whole run, token {token}: at most {most} requests in any {WINDOW:g} s,"
                f" {refused} answered 429 {'PASS' if most <= LIMIT and not refused else 'BELOW'}"
            )
        implications(api, runs, whole)
        print(f"({time.perf_counter() - started:.0f} s measured; load {os.getloadavg()[0]:.1f})")
    finally:
        sandbox.terminate()
        sandbox.wait(30)
        await clean_redis(keys.namespace)
        if catalogue:
            sync.drop_catalogue(catalogue)


if __name__ == "__main__":
    asyncio.run(main())

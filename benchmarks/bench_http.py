"""HTTP API throughput and webhook acknowledgement latency, against a bare ceiling.

1. `GET /api/v1/sync/inventory/{user_id}` (100 items, a real RS256 JWT, the per-user Redis rate
   limit on) served by `brx-sync serve` (uvicorn, uvloop + httptools), as a ratio to a bare
   Falcon + asyncpg endpoint serving the same two queries (page by id + count) and JSON, in the
   same run, same server flags, 50 keep-alive connections. Target (issue 13): ratio >= 0.9.
2. Signed webhook deliveries (unique ids, stored in Postgres and queued in Redis) at 50 in
   flight: p50/p99 acknowledgement latency seen by the client and the server's own
   `processing_time_ms`. Target: p99 <= 10 ms.

Each server runs in its own process; the load generator is raw asyncio sockets (uvloop) so it
costs the servers as little CPU as possible. Knobs: BRX_BENCH_PG, BRX_BENCH_REDIS,
BRX_BENCH_SECONDS (8), BRX_BENCH_CONNECTIONS (50), BRX_BENCH_ROUNDS (10: the inventory servers take
turns in short slices so the shared machine's background load falls on each alike).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

SERVER = os.environ.get("BRX_BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
REDIS = os.environ.get("BRX_BENCH_REDIS", "redis://127.0.0.1:6379/14")
SECONDS = float(os.environ.get("BRX_BENCH_SECONDS", "8"))
CONNECTIONS = int(os.environ.get("BRX_BENCH_CONNECTIONS", "50"))
ROUNDS = int(os.environ.get("BRX_BENCH_ROUNDS", "10"))
ITEMS = 100
TARGET_RATIO, TARGET_P99_MS = 0.9, 10.0

PAGE_SQL = (
    "SELECT id, user_id, blueprint_id, quantity, price_cents, properties, external_stock_id,"
    " description, user_data_field, graded, updated_at, created_at FROM user_inventory_items"
    " WHERE user_id = $1 ORDER BY id LIMIT $2 OFFSET $3"
)
COUNT_SQL = "SELECT count(*) FROM user_inventory_items WHERE user_id = $1"


# --- the bare ceiling -------------------------------------------------------------------------


def bare_app(dsn: str) -> Any:
    """Falcon + asyncpg with nothing else: no auth, no rate limit, no middleware."""
    import asyncpg
    import falcon.asgi

    state: dict[str, Any] = {}

    class Pool:
        async def process_startup(self, scope: Any, event: Any) -> None:
            state["pool"] = await asyncpg.create_pool(dsn, min_size=5, max_size=20)

    class Inventory:
        async def on_get(self, req: Any, resp: Any, user_id: str) -> None:
            owner = uuid.UUID(user_id)
            limit = int(req.get_param("limit") or 100)
            offset = int(req.get_param("offset") or 0)
            async with state["pool"].acquire() as conn:
                rows = await conn.fetch(PAGE_SQL, owner, limit, offset)
                total = await conn.fetchval(COUNT_SQL, owner)
            resp.media = {
                "user_id": user_id,
                "items": [
                    {
                        "id": r["id"],
                        "blueprint_id": r["blueprint_id"],
                        "quantity": r["quantity"],
                        "price_cents": r["price_cents"],
                        "properties": json.loads(r["properties"] or "{}"),
                        "external_stock_id": r["external_stock_id"],
                        "description": r["description"],
                        "user_data_field": r["user_data_field"],
                        "graded": r["graded"],
                        "updated_at": r["updated_at"].isoformat(),
                    }
                    for r in rows
                ],
                "total": total,
            }

    app = falcon.asgi.App(middleware=[Pool()])
    app.add_route("/api/v1/sync/inventory/{user_id}", Inventory())
    return app


def adapter_app(dsn: str) -> Any:
    """Bare Falcon over the project's Postgres adapter and use case (no auth, no rate limit,
    no middleware): separates the HTTP layer's cost from the adapter's."""
    import falcon.asgi

    from brx_adapters.postgres import PostgresUnitOfWorkFactory, create_engine
    from brx_app.http.app import use_orjson
    from brx_app.http.present import item_json
    from brx_domain.usecases.inventory import list_inventory

    class Ports:
        uow = PostgresUnitOfWorkFactory(create_engine(dsn, pool_size=20, max_overflow=0))

    class Inventory:
        async def on_get(self, req: Any, resp: Any, user_id: str) -> None:
            page = await list_inventory(Ports(), uuid.UUID(user_id), 100, 0)  # type: ignore[arg-type]
            resp.media = {
                "user_id": user_id,
                "items": [item_json(i) for i in page.items],
                "total": page.total,
            }

    app = falcon.asgi.App()
    use_orjson(app)  # the project's JSON media handler: item_json leaves datetimes to it
    app.add_route("/api/v1/sync/inventory/{user_id}", Inventory())
    return app


def serve_bare(kind: str, port: int, dsn: str) -> None:
    import uvicorn

    uvicorn.run(
        (adapter_app if kind == "adapter" else bare_app)(dsn),
        port=port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
        server_header=False,
    )


# --- setup ------------------------------------------------------------------------------------


async def prepare(database: str) -> tuple[str, uuid.UUID]:
    """A fresh migrated database with one user owning ITEMS items."""
    import asyncpg

    from brx_adapters.postgres import upgrade_async

    admin = await asyncpg.connect(f"{SERVER}/postgres")
    await admin.execute(f'CREATE DATABASE "{database}"')
    await admin.close()
    url = f"{SERVER}/{database}"
    await upgrade_async(url)
    user = uuid.uuid4()
    conn = await asyncpg.connect(url)
    await conn.executemany(
        "INSERT INTO user_inventory_items (user_id, blueprint_id, quantity, price_cents,"
        " properties, external_stock_id, description, user_data_field, graded)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        [
            (
                user,
                1000 + n,
                n % 7,
                100 + n,
                json.dumps({"condition": "Near Mint", "mtg_language": "en", "mtg_foil": False}),
                str(50_000 + n),
                f"card {n}",
                "shelf A",
                False,
            )
            for n in range(ITEMS)
        ],
    )
    await conn.close()
    return url, user


async def drop(database: str) -> None:
    import asyncpg

    admin = await asyncpg.connect(f"{SERVER}/postgres")
    await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    await admin.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        argv,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGINT)
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()


async def wait_up(port: int) -> None:
    for _ in range(100):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.1)
    raise RuntimeError(f"server on {port} did not start")


# --- the load generator -----------------------------------------------------------------------


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, bytes]:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    return status, await reader.readexactly(length)


async def load(
    port: int, make: Callable[[], bytes], seconds: float, connections: int
) -> tuple[int, list[float], list[bytes], int]:
    """Closed loop: each connection sends its next request when the last answer arrived."""
    done, errors = 0, {}
    latencies: list[float] = []
    bodies: list[bytes] = []
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while time.perf_counter() < deadline:
            sent = time.perf_counter()
            status, body = await _exchange(reader, writer, make())
            latencies.append(time.perf_counter() - sent)
            if status == 200:
                done += 1
                if len(bodies) < 20_000:
                    bodies.append(body)
            else:
                errors[status] = errors.get(status, 0) + 1
        writer.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    return done, latencies, bodies, errors


def get_request(path: str, token: str | None) -> bytes:
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    return f"GET {path} HTTP/1.1\r\nHost: bench\r\n{auth}\r\n".encode()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def slice_seconds() -> float:
    """Each server gets 2 x SECONDS of measurement in all, cut into ROUNDS slices."""
    return 2 * SECONDS / ROUNDS


async def interleaved(
    path: str, servers: list[tuple[str, int, str | None]]
) -> tuple[dict[str, float], dict[str, list[float]], dict[str, bytes]]:
    """The servers take turns in short slices (order reversed every round), so the other load on
    this shared machine falls on all of them alike instead of on whichever ran during a spike.
    Rate = all requests answered / all time measured; per-round rates show the spread."""
    done = {name: 0 for name, _, _ in servers}
    rounds: dict[str, list[float]] = {name: [] for name, _, _ in servers}
    bodies: dict[str, bytes] = {}
    for _, port, auth in servers:  # warm-up: pools, caches, TCP
        await load(port, lambda p=path, a=auth: get_request(p, a), 1.5, CONNECTIONS)
    for turn in range(ROUNDS):
        for name, port, auth in servers if turn % 2 == 0 else servers[::-1]:
            count, _, answered, errors = await load(
                port, lambda p=path, a=auth: get_request(p, a), slice_seconds(), CONNECTIONS
            )
            if errors:
                raise RuntimeError(f"{name}: non-200 answers by status: {errors}")
            done[name] += count
            rounds[name].append(count / slice_seconds())
            bodies[name] = answered[0]
    total = slice_seconds() * ROUNDS
    return {name: count / total for name, count in done.items()}, rounds, bodies


# --- the run ----------------------------------------------------------------------------------


async def register_webhook_user(url: str, fernet_key: str) -> tuple[uuid.UUID, str]:
    """A user with a webhook secret, written as setup-test-user would (no CardTrader call)."""
    import asyncpg

    from brx_adapters.crypto import FernetCipher

    cipher, user, secret = FernetCipher([fernet_key]), uuid.uuid4(), uuid.uuid4().hex
    conn = await asyncpg.connect(url)
    await conn.execute(
        "INSERT INTO user_sync_settings (user_id, cardtrader_token_encrypted, webhook_secret)"
        " VALUES ($1, $2, $3)",
        user,
        cipher.encrypt("unused"),
        cipher.encrypt(secret),
    )
    await conn.close()
    return user, secret


def webhook_request(user: uuid.UUID, secret: str) -> Callable[[], bytes]:
    from brx_domain.usecases.webhooks import sign

    def make() -> bytes:
        body = json.dumps(
            {
                "id": uuid.uuid4().hex,
                "time": int(time.time()),
                "cause": "order.update",
                "object_class": "Order",
                "object_id": 1,
                "mode": "live",
                "data": {"id": 1, "state": "paid", "order_items": []},
            }
        ).encode()
        return (
            f"POST /api/v1/sync/webhook/user/{user} HTTP/1.1\r\nHost: bench\r\n"
            f"Content-Type: application/json\r\nSignature: {sign(body, secret)}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode() + body

    return make


async def clean_redis(before: set[bytes], users: list[uuid.UUID]) -> None:
    """Remove only what this run queued (jobs new since `before`) and its rate-limit keys."""
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(REDIS)
    try:
        for queue in ("brx:high", "brx:bulk", "brx:default"):
            new = set(await client.zrange(queue, 0, -1)) - before
            for job_id in new:
                await client.zrem(queue, job_id)
                await client.delete(b"arq:job:" + job_id)
        for user in users:
            await client.delete(f"brx:rl:api:{user}")
    finally:
        await client.aclose()


async def queued_now() -> set[bytes]:
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(REDIS)
    try:
        members: set[bytes] = set()
        for queue in ("brx:high", "brx:bulk", "brx:default"):
            members |= set(await client.zrange(queue, 0, -1))
        return members
    finally:
        await client.aclose()


def same_items(ours: bytes, bare: bytes) -> bool:
    def strip(body: bytes) -> Any:
        data = json.loads(body)
        return data["total"], [
            {k: v for k, v in i.items() if k != "updated_at"} for i in data["items"]
        ]

    return bool(strip(ours) == strip(bare))


async def main() -> None:
    from cryptography.fernet import Fernet

    from brx_app.commands.keys import generate_rsa_pem
    from brx_app.commands.token import mint_access_token

    database = f"brx_bench_http_{uuid.uuid4().hex[:8]}"
    url, user = await prepare(database)
    private, public = generate_rsa_pem()
    fernet_key = Fernet.generate_key().decode()
    hook_user, secret = await register_webhook_user(url, fernet_key)
    token = mint_access_token(private, str(user), minutes=30)
    ours_port, bare_port, adapter_port = free_port(), free_port(), free_port()
    env = {
        "ENVIRONMENT": "development",
        "DATABASE_URL": url,
        "REDIS_URL": REDIS,
        "JWT_PUBLIC_KEY": public.decode(),
        "FERNET_KEY": fernet_key,
        "DB_POOL_SIZE": "20",  # the bare ceiling's pool: at most 20 connections, all kept open
        "DB_MAX_OVERFLOW": "0",  # (overflow ones are closed at checkin and reopened under load)
        "RATE_LIMIT_REQUESTS": "1000000000",
        "RATE_LIMIT_WINDOW_SECONDS": "1",
    }
    before = await queued_now()
    ours = start([sys.executable, "-m", "brx_app.cli", "serve", "--port", str(ours_port)], env)
    bare = start([sys.executable, __file__, "bare", str(bare_port), url], {})
    adapter = start([sys.executable, __file__, "adapter", str(adapter_port), url], {})
    path = f"/api/v1/sync/inventory/{user}"
    try:
        await wait_up(ours_port)
        await wait_up(bare_port)
        await wait_up(adapter_port)
        servers = [
            ("bare", bare_port, None),
            ("adapter", adapter_port, None),
            ("ours", ours_port, token),
        ]
        rates, rounds, bodies = await interleaved(path, servers)
        best_ours, best_bare = rates["ours"], rates["bare"]
        print(f"inventory page ({ITEMS} items, {CONNECTIONS} connections, {ROUNDS} interleaved")
        print(f"  rounds of {slice_seconds():.1f} s per server, {2 * SECONDS:.0f} s each in all):")
        for label, name in (
            ("bare falcon+asyncpg:          ", "bare"),
            ("brx-sync serve:               ", "ours"),
            ("bare falcon + project adapter:", "adapter"),
        ):
            spread = ", ".join(f"{r:.0f}" for r in rounds[name])
            print(f"  {label} {rates[name]:6.0f} req/s  (rounds: {spread})")
        print(f"  HTTP layer alone (ours / bare+adapter): {best_ours / rates['adapter']:.2f}")
        print(f"  same items served: {same_items(bodies['ours'], bodies['bare'])}")
        ratio = best_ours / best_bare
        pairs = sorted(o / b for o, b in zip(rounds["ours"], rounds["bare"], strict=True))
        print(
            f"  ratio: {ratio:.2f} (target >= {TARGET_RATIO}) "
            f"{'PASS' if ratio >= TARGET_RATIO else 'BELOW'}; per round: "
            f"min {pairs[0]:.2f}, median {pairs[len(pairs) // 2]:.2f}, max {pairs[-1]:.2f}"
        )
        await webhooks(ours_port, hook_user, secret)
    finally:
        stop(ours)
        stop(bare)
        stop(adapter)
        await clean_redis(before, [user])
        await drop(database)


async def webhooks(port: int, user: uuid.UUID, secret: str) -> None:
    make = webhook_request(user, secret)
    await load(port, make, 1.0, CONNECTIONS)
    done, latencies, bodies, errors = await load(port, make, SECONDS / 2, CONNECTIONS)
    server = [json.loads(b)["processing_time_ms"] for b in bodies]
    p99 = percentile(latencies, 0.99) * 1000
    print(
        f"webhook acknowledgement ({CONNECTIONS} in flight, {done / (SECONDS / 2):.0f}/s,"
        f" {errors} errors):"
    )
    print(f"  client-observed p50 {percentile(latencies, 0.5) * 1000:.1f} ms, p99 {p99:.1f} ms")
    print(
        f"  server processing_time_ms p50 {percentile(server, 0.5):.1f},"
        f" p99 {percentile(server, 0.99):.1f} (target p99 <= {TARGET_P99_MS} ms)"
    )
    one_at_a_time = (await load(port, make, 2.0, 1))[1]
    print(f"  one delivery at a time: p99 {percentile(one_at_a_time, 0.99) * 1000:.1f} ms")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] in ("bare", "adapter"):
        serve_bare(sys.argv[1], int(sys.argv[2]), sys.argv[3])
    else:
        asyncio.run(main())

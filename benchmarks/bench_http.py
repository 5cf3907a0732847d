"""HTTP API throughput and the webhook receiver, each against a bare ceiling in the same run.

1. `GET /api/v1/sync/inventory/{user_id}` (100 items, a real RS256 JWT, the per-user Redis rate
   limit on) served by `brx-sync serve` (uvicorn, uvloop + httptools), as a ratio to a bare
   Falcon + asyncpg endpoint serving the same two queries (page by id + count) and JSON, in the
   same run, same server flags, 50 keep-alive connections. Target (issue 13): ratio >= 0.9.
2. Signed webhook deliveries (unique ids): the durable throughput of `brx-sync serve` (stored
   in Postgres with its operation, committed, queued in Redis, then answered) as a ratio to a
   bare Falcon + asyncpg + redis receiver doing the least the same promise needs (HMAC check,
   one INSERT committed, one Redis write), both saturated by 50 connections in interleaved
   rounds. Target: ratio >= 0.7. Then an open-loop load at half of our own measured saturation
   rate: each request is sent at its scheduled time whatever the answers so far, and its latency
   counts from that time (no coordinated omission). Target: acknowledgement p99 <= 10 ms. The
   bare receiver's p99 at the same rate is printed beside it: what the machine allows now.
   Each receiver's own CPU per delivery (from /proc, saturated) is printed too: on a shared
   machine it moves less than a rate does.

Each server runs in its own process; the load generator is raw asyncio sockets so it costs the
servers as little CPU as possible. Knobs: BRX_BENCH_PG, BRX_BENCH_REDIS, BRX_BENCH_SECONDS (8),
BRX_BENCH_CONNECTIONS (50), BRX_BENCH_ROUNDS (10: the servers take turns in short slices so the
shared machine's background load falls on each alike), BRX_BENCH_HTTP (`inventory,webhook`:
which parts to run).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
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
PARTS = os.environ.get("BRX_BENCH_HTTP", "inventory,webhook").split(",")
ITEMS = 100
TARGET_RATIO, TARGET_WEBHOOK_RATIO, TARGET_P99_MS = 0.9, 0.7, 10.0
OPEN_LOOP_SHARE = 0.5  # of our own saturation rate
BARE_QUEUE = "brx:bench:bare-webhooks"  # the bare receiver's one Redis write goes here

PAGE_SQL = (
    "SELECT id, user_id, blueprint_id, quantity, price_cents, properties, external_stock_id,"
    " description, user_data_field, graded, updated_at, created_at FROM user_inventory_items"
    " WHERE user_id = $1 ORDER BY id LIMIT $2 OFFSET $3"
)
COUNT_SQL = "SELECT count(*) FROM user_inventory_items WHERE user_id = $1"
DELIVERY_SQL = (
    "INSERT INTO webhook_deliveries (user_id, delivery_id, received_at, mode, body)"
    " VALUES ($1, $2, now(), $3, $4) ON CONFLICT DO NOTHING"
)


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


def bare_webhook_app(dsn: str, redis_url: str, secret: str) -> Any:
    """The least a durable receiver does: check CardTrader's signature, INSERT the delivery
    (autocommit: committed before the answer), one Redis write, answer. The secret is known up
    front (no settings read, no decryption), there is no operation row, no freshness check."""
    import asyncpg
    import falcon
    import falcon.asgi
    import orjson
    import redis.asyncio as aioredis

    key = secret.encode()
    state: dict[str, Any] = {}

    class Connections:
        async def process_startup(self, scope: Any, event: Any) -> None:
            state["pool"] = await asyncpg.create_pool(dsn, min_size=5, max_size=20)
            state["redis"] = aioredis.Redis.from_url(redis_url)

    class Webhook:
        async def on_post(self, req: Any, resp: Any, user_id: str) -> None:
            body = await req.stream.read()
            expected = base64.b64encode(hmac.new(key, body, hashlib.sha256).digest())
            if not hmac.compare_digest(expected, (req.get_header("Signature") or "").encode()):
                raise falcon.HTTPUnauthorized()
            event = orjson.loads(body)
            async with state["pool"].acquire() as conn:
                await conn.execute(
                    DELIVERY_SQL, uuid.UUID(user_id), event["id"], event["mode"], body.decode()
                )
            await state["redis"].zadd(BARE_QUEUE, {event["id"]: time.time()})
            resp.media = {"status": "accepted", "webhook_id": event["id"], "user_id": user_id}

    app = falcon.asgi.App(middleware=[Connections()])
    app.add_route("/api/v1/sync/webhook/user/{user_id}", Webhook())
    return app


def serve_bare(app: Any, port: int) -> None:
    import uvicorn

    uvicorn.run(
        app,
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


def cpu_seconds(pid: int) -> float:
    """User + system CPU the process has used so far (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def cpu_per_delivery(pid: int, port: int, make: Callable[[], bytes]) -> float:
    """Milliseconds of the server process's own CPU per acknowledged delivery, saturated: less
    moved by the shared machine's other load than a rate is (it leaves out Postgres and Redis)."""
    before = cpu_seconds(pid)
    done = (await load(port, make, SECONDS / 2, CONNECTIONS))[0]
    return (cpu_seconds(pid) - before) * 1000 / max(done, 1)


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
    port: int | tuple[int, ...], make: Callable[[], bytes], seconds: float, connections: int
) -> tuple[int, list[float], list[bytes], int]:
    """Closed loop: each connection sends its next request when the last answer arrived. Given
    several ports (servers), the connections are spread over them in turn."""
    ports = port if isinstance(port, tuple) else (port,)
    done, errors = 0, {}
    latencies: list[float] = []
    bodies: list[bytes] = []
    deadline = time.perf_counter() + seconds

    async def worker(n: int) -> None:
        nonlocal done
        reader, writer = await asyncio.open_connection("127.0.0.1", ports[n % len(ports)])
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

    await asyncio.gather(*(worker(n) for n in range(connections)))
    return done, latencies, bodies, errors


async def open_loop(
    port: int, requests: list[bytes], rate: float
) -> tuple[list[float], list[float], list[bytes], dict[int, int]]:
    """Open loop: request i is due at start + i / rate whatever the answers so far, and its
    latency counts from that due time, so a slow answer cannot hold the next requests back
    (no coordinated omission). A request that finds every connection busy opens another.
    Returns latencies, how late the sender itself was, the answers, errors by status."""
    idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    opened: list[asyncio.StreamWriter] = []
    latencies: list[float] = []
    lateness: list[float] = []
    bodies: list[bytes] = []
    errors: dict[int, int] = {}

    async def connect() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        opened.append(writer)
        return reader, writer

    async def one(due: float, request: bytes) -> None:
        lateness.append(time.perf_counter() - due)
        connection = idle.pop() if idle else await connect()
        status, body = await _exchange(*connection, request)
        latencies.append(time.perf_counter() - due)
        idle.append(connection)
        if status == 200:
            bodies.append(body)
        else:
            errors[status] = errors.get(status, 0) + 1

    idle.extend([await connect() for _ in range(8)])
    tasks = []
    start = time.perf_counter() + 0.01
    for n, request in enumerate(requests):
        due = start + n / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(due, request)))
    await asyncio.gather(*tasks)
    for writer in opened:
        writer.close()
    return latencies, lateness, bodies, errors


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
    servers: list[tuple[str, int | tuple[int, ...], Callable[[], bytes]]],
) -> tuple[dict[str, float], dict[str, list[float]], dict[str, bytes]]:
    """The servers take turns in short slices (order reversed every round), so the other load on
    this shared machine falls on all of them alike instead of on whichever ran during a spike.
    Rate = all requests answered / all time measured; per-round rates show the spread."""
    done = {name: 0 for name, _, _ in servers}
    rounds: dict[str, list[float]] = {name: [] for name, _, _ in servers}
    bodies: dict[str, bytes] = {}
    for _, port, make in servers:  # warm-up: pools, caches, TCP
        await load(port, make, 1.5, CONNECTIONS)
    for turn in range(ROUNDS):
        for name, port, make in servers if turn % 2 == 0 else servers[::-1]:
            count, _, answered, errors = await load(port, make, slice_seconds(), CONNECTIONS)
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
    """Remove only what this run queued (jobs new since `before`, the bare receiver's set) and
    its rate-limit keys."""
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
        await client.delete(BARE_QUEUE)
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
    """The same total and items, field by field of what the bare endpoint serves (ours adds the
    card and expansion names; timestamps are formatted differently)."""
    fields = set(json.loads(bare)["items"][0]) - {"updated_at"}

    def strip(body: bytes) -> Any:
        data = json.loads(body)
        return data["total"], [{k: i[k] for k in fields} for i in data["items"]]

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
    ports = {name: free_port() for name in ("ours", "bare", "adapter", "webhook")}
    env = {
        "ENVIRONMENT": "production",  # as deployed: no development log file, no console
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
    me = [sys.executable, __file__]
    processes = [
        start([sys.executable, "-m", "brx_app.cli", "serve", "--port", str(ports["ours"])], env),
        start([*me, "bare", str(ports["bare"]), url], {}),
        start([*me, "adapter", str(ports["adapter"]), url], {}),
        start([*me, "webhook", str(ports["webhook"]), url, REDIS, secret], {}),
    ]
    try:
        for port in ports.values():
            await wait_up(port)
        if "inventory" in PARTS:
            await inventory(ports, f"/api/v1/sync/inventory/{user}", token)
        if "webhook" in PARTS:
            pids = {"ours": processes[0].pid, "bare": processes[3].pid}
            await webhooks(ports, pids, webhook_request(hook_user, secret))
    finally:
        for process in processes:
            stop(process)
        await clean_redis(before, [user])
        await drop(database)


async def inventory(ports: dict[str, int], path: str, token: str) -> None:
    servers = [
        ("bare", ports["bare"], lambda: get_request(path, None)),
        ("adapter", ports["adapter"], lambda: get_request(path, None)),
        ("ours", ports["ours"], lambda: get_request(path, token)),
    ]
    rates, rounds, bodies = await interleaved(servers)
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


async def webhooks(ports: dict[str, int], pids: dict[str, int], make: Callable[[], bytes]) -> None:
    """Saturated throughput of both receivers, each one's CPU per delivery, then ours under an
    open loop at half of its saturation rate."""
    rates, rounds, _ = await interleaved(
        [("bare", ports["webhook"], make), ("ours", ports["ours"], make)]
    )
    print(f"webhook receiver (signed unique deliveries, {CONNECTIONS} connections, {ROUNDS}")
    print(f"  interleaved rounds of {slice_seconds():.1f} s per server):")
    for label, name in (
        ("bare falcon+asyncpg+redis:", "bare"),
        ("brx-sync serve:           ", "ours"),
    ):
        spread = ", ".join(f"{r:.0f}" for r in rounds[name])
        print(f"  {label} {rates[name]:6.0f} deliveries/s  (rounds: {spread})")
    ratio = rates["ours"] / rates["bare"]
    pairs = sorted(o / b for o, b in zip(rounds["ours"], rounds["bare"], strict=True))
    print(
        f"  webhook_ratio: {ratio:.2f} (target >= {TARGET_WEBHOOK_RATIO}) "
        f"{'PASS' if ratio >= TARGET_WEBHOOK_RATIO else 'BELOW'}; per round: "
        f"min {pairs[0]:.2f}, median {pairs[len(pairs) // 2]:.2f}, max {pairs[-1]:.2f}"
    )
    ours_cpu = await cpu_per_delivery(pids["ours"], ports["ours"], make)
    bare_cpu = await cpu_per_delivery(pids["bare"], ports["webhook"], make)
    print(
        f"  server CPU per delivery: ours {ours_cpu:.2f} ms, bare {bare_cpu:.2f} ms"
        f" (bare / ours {bare_cpu / ours_cpu:.2f}; the server process only)"
    )
    rate = OPEN_LOOP_SHARE * rates["ours"]
    seconds = SECONDS / 2
    requests = [make() for _ in range(int(rate * seconds))]  # built ahead: the sender only sends
    latencies, lateness, bodies, errors = await open_loop(ports["ours"], requests, rate)
    server = [json.loads(b)["processing_time_ms"] for b in bodies]
    p99 = percentile(latencies, 0.99) * 1000
    print(
        f"  open loop at {rate:.0f}/s ({OPEN_LOOP_SHARE:.0%} of ours saturated), {seconds:.0f} s,"
        f" {len(requests)} sent, errors {errors or 'none'}:"
    )
    print(
        f"  acknowledgement from the scheduled time: p50 {percentile(latencies, 0.5) * 1000:.1f}"
        f" ms, p99 {p99:.1f} ms (target p99 <= {TARGET_P99_MS} ms)"
        f" {'PASS' if p99 <= TARGET_P99_MS and not errors else 'BELOW'}"
    )
    print(
        f"  (info) server processing_time_ms p50 {percentile(server, 0.5):.1f},"
        f" p99 {percentile(server, 0.99):.1f}; sender late by p99"
        f" {percentile(lateness, 0.99) * 1000:.1f} ms"
    )
    bare = (await open_loop(ports["webhook"], [make() for _ in requests], rate))[0]
    print(
        f"  (info) the bare receiver at the same rate: p50 {percentile(bare, 0.5) * 1000:.1f} ms,"
        f" p99 {percentile(bare, 0.99) * 1000:.1f} ms (what this machine allows now)"
    )
    one_at_a_time = (await load(ports["ours"], make, 2.0, 1))[1]
    print(f"  (info) one delivery at a time: p99 {percentile(one_at_a_time, 0.99) * 1000:.1f} ms")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] in ("bare", "adapter"):
        make_app = adapter_app if sys.argv[1] == "adapter" else bare_app
        serve_bare(make_app(sys.argv[3]), int(sys.argv[2]))
    elif len(sys.argv) == 6 and sys.argv[1] == "webhook":
        serve_bare(bare_webhook_app(*sys.argv[3:]), int(sys.argv[2]))
    else:
        asyncio.run(main())

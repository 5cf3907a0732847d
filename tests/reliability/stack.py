"""The service as it is deployed, driven from outside: `brx-sync serve` and `brx-sync worker` as
processes on a Postgres database and a `redis-server` of their own (so a scenario may kill
either without touching the shared servers), the CardTrader sandbox beside them, and nothing but
HTTP between the scenarios and the service.

`Stack` is synchronous to start and stop (it outlives one test's event loop); scenarios open
their own `httpx.AsyncClient` with `stack.client()`."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from cryptography.fernet import Fernet

from brx_adapters.postgres import upgrade
from brx_app.commands.keys import generate_rsa_pem
from brx_app.commands.token import mint_access_token
from cardtrader_sandbox import SandboxState
from cardtrader_sandbox.server import BackgroundSandbox
from tests.conftest import _free_port
from tests.integration.fixtures_postgres import create_database, drop_database, server_url
from tests.integration.fixtures_sandbox import SandboxHandle

API = "/api/v1/sync"
PRIVATE_PEM, PUBLIC_PEM = generate_rsa_pem()
TOKENS = [f"shop-{n}" for n in range(24)]  # one CardTrader account per scenario that needs one


async def wait_for(check: Callable[[], Awaitable[bool]], seconds: float, what: str) -> float:
    """Poll `check` until it is true; the seconds it took. Fails the test naming `what`."""
    started = time.monotonic()
    while not await check():
        if time.monotonic() - started > seconds:
            raise AssertionError(f"timed out after {seconds} s waiting for {what}")
        await asyncio.sleep(0.05)
    return time.monotonic() - started


class Process:
    """One `brx-sync` command (or redis-server) with its output in a log file."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], logs: Path) -> None:
        self.name, self.argv, self.env = name, argv, env
        self.log_path = logs / f"{name}.log"
        self.popen: subprocess.Popen[bytes] | None = None

    def start(self) -> Process:
        log = self.log_path.open("ab")
        self.popen = subprocess.Popen(self.argv, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def signal(self, number: int) -> None:
        if self.alive():
            assert self.popen is not None
            self.popen.send_signal(number)

    def wait(self, seconds: float) -> int | None:
        assert self.popen is not None
        try:
            return self.popen.wait(seconds)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, seconds: float = 20) -> int | None:
        """SIGTERM, then SIGKILL if it does not leave in time; its exit status."""
        if self.popen is None:
            return None
        self.signal(signal.SIGTERM)
        code = self.wait(seconds)
        if code is None:
            self.signal(signal.SIGKILL)
            code = self.wait(10)
        return code

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


class RedisServer:
    """A redis-server on a free port with an append-only file (as docs/running.md asks)."""

    def __init__(self, logs: Path) -> None:
        self.port = _free_port()
        self.dir = logs / f"redis-{self.port}"
        self.dir.mkdir()
        argv = [
            "redis-server",
            "--bind",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--save",
            "",
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--dir",
            str(self.dir),
        ]
        self.process = Process(f"redis-{self.port}", argv, dict(os.environ), logs)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process.start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            done = subprocess.run(
                ["redis-cli", "-p", str(self.port), "ping"],
                capture_output=True,
                check=False,
            )
            if done.stdout.strip() == b"PONG":
                return
            time.sleep(0.05)
        raise RuntimeError(f"redis-server on {self.port} did not start")

    def kill(self) -> None:
        self.process.signal(signal.SIGKILL)
        self.process.wait(10)


@dataclass
class Shop:
    """A user of the service with a CardTrader account in the sandbox."""

    user_id: str
    token: str  # the CardTrader token

    def auth(self, **options: Any) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {mint_access_token(PRIVATE_PEM, self.user_id, **options)}"
        }


@dataclass(frozen=True)
class Answer:
    """One answer of the API, as much as the no-500 / no-HTML rule needs."""

    request: str
    status: int
    content_type: str
    error_shaped: bool  # `{"error": {"code", "message", ...}, "trace_id"}`

    @classmethod
    def of(cls, response: httpx.Response) -> Answer:
        shaped = False
        if response.headers.get("content-type", "").startswith("application/json"):
            try:
                body = response.json()
                error = body.get("error") if isinstance(body, dict) else None
                shaped = isinstance(error, dict) and {"code", "message"} <= error.keys()
                shaped = shaped and "trace_id" in body
            except ValueError:
                shaped = False
        request = f"{response.request.method} {response.request.url.path[:80]}"
        return cls(request, response.status_code, response.headers.get("content-type", ""), shaped)


@dataclass
class Stack:
    logs: Path
    env_overrides: dict[str, str] = field(default_factory=dict)
    products: int = 400
    answers: list[Answer] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.sandbox = SandboxHandle(
            BackgroundSandbox(SandboxState(TOKENS, self.products, seed=11)).start(), TOKENS
        )
        self._free_tokens = list(TOKENS)
        self.database = create_database("brx_rel")
        self.postgres_url = server_url(self.database)
        upgrade(self.postgres_url)
        self.redis = RedisServer(self.logs)
        self.redis.start()
        self.port, self.worker_metrics_port = _free_port(), _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "ENVIRONMENT": "development",
            "DATABASE_URL": self.postgres_url.replace("postgresql://", "postgresql+asyncpg://"),
            "REDIS_URL": self.redis.url,
            "JWT_PUBLIC_KEY": PUBLIC_PEM.decode(),
            "FERNET_KEY": Fernet.generate_key().decode(),
            "CARDTRADER_API_BASE_URL": self.sandbox.base_url,
            "PUBLIC_BASE_URL": self.url,
            "RATE_LIMIT_REQUESTS": "1000000",  # the inbound limit is not what these scenarios test
            "SYNC_CHUNK_SIZE": "100",
            "WORKER_METRICS_PORT": str(self.worker_metrics_port),
            **self.env_overrides,
        }
        cli = [sys.executable, "-m", "brx_app.cli"]
        self.api = Process(
            f"api-{self.port}",
            [*cli, "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            self.env,
            self.logs,
        )
        self.worker = Process(f"worker-{self.port}", [*cli, "worker"], self.env, self.logs)
        self.api.start()
        self.worker.start()
        self.wait_ready()

    def wait_ready(self, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            assert self.api.alive(), self.api.output()[-3000:]
            try:
                if httpx.get(f"{self.url}/health/ready", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"the API did not become ready:\n{self.api.output()[-3000:]}")

    def restart_worker(self) -> None:
        self.worker = Process(self.worker.name, self.worker.argv, self.env, self.logs).start()

    def close(self) -> None:
        self.api.stop()
        self.worker.stop()
        self.redis.process.stop()
        self.sandbox.server.stop()
        drop_database(self.database)

    # --- talking to it ---------------------------------------------------------------------

    def client(self, **options: Any) -> httpx.AsyncClient:
        """A client whose every answer is also kept in `self.answers` (see test_responses)."""
        # idle connections expire before uvicorn closes them (5 s), so none is reused as it closes
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=50, keepalive_expiry=1)
        hooks = {"response": [self._keep]}
        return httpx.AsyncClient(
            base_url=self.url, timeout=60, limits=limits, event_hooks=hooks, **options
        )

    async def _keep(self, response: httpx.Response) -> None:
        await response.aread()
        self.answers.append(Answer.of(response))

    def take_token(self) -> str:
        """A CardTrader account no other scenario of this stack has used."""
        return self._free_tokens.pop(0)

    def webhook_url(self, shop: Shop) -> str:
        return f"{self.url}{API}/webhook/user/{shop.user_id}"

    def sandbox_quantity(self, token: str, product_id: int | str) -> int | None:
        product = self.sandbox.state.sellers[token].inventory.get(int(product_id))
        return None if product is None else product.quantity

    async def new_shop(self, http: httpx.AsyncClient, token: str | None = None) -> Shop:
        """A user connected to a CardTrader account and synced (its items are CardTrader's)."""
        shop = Shop(str(uuid.uuid4()), token or self.take_token())
        setup = await http.post(
            f"{API}/setup-test-user",
            json={"user_id": shop.user_id, "cardtrader_token": shop.token},
        )
        assert setup.status_code == 200, setup.text
        await self.sync(http, shop)
        return shop

    async def sync(self, http: httpx.AsyncClient, shop: Shop, seconds: float = 120) -> Any:
        started = await http.post(f"{API}/start/{shop.user_id}", headers=shop.auth())
        assert started.status_code == 202, started.text

        async def done() -> bool:
            progress = await http.get(f"{API}/progress/{shop.user_id}", headers=shop.auth())
            return progress.json().get("status") in ("completed", "failed")

        await wait_for(done, seconds, "the bulk sync")
        progress = (await http.get(f"{API}/progress/{shop.user_id}", headers=shop.auth())).json()
        assert progress["status"] == "completed", progress
        return progress

    async def items(self, http: httpx.AsyncClient, shop: Shop) -> list[dict[str, Any]]:
        page = await http.get(f"{API}/inventory/{shop.user_id}?limit=1000", headers=shop.auth())
        assert page.status_code == 200, page.text
        items: list[dict[str, Any]] = page.json()["items"]
        return items

    async def item(self, http: httpx.AsyncClient, shop: Shop, item_id: int) -> dict[str, Any]:
        return next(i for i in await self.items(http, shop) if i["id"] == item_id)

    async def history_sum(self, http: httpx.AsyncClient, shop: Shop, item_id: int) -> int:
        answer = await http.get(
            f"{API}/inventory/{shop.user_id}/item/{item_id}/history?limit=1000",
            headers=shop.auth(),
        )
        assert answer.status_code == 200, answer.text
        return sum(int(e["delta"]) for e in answer.json()["entries"])

    async def scalar(self, sql: str, *args: Any) -> Any:
        """One value read straight from the service's database (what was stored)."""
        conn = await asyncpg.connect(self.postgres_url, timeout=10)
        try:
            return await conn.fetchval(sql, *args)
        finally:
            await conn.close()

    async def sell_on_cardtrader(
        self, shop: Shop, product_id: int, quantity: int = 1, send_webhook: bool = True
    ) -> dict[str, Any]:
        """A buyer order on CardTrader: the stock drops there and (unless told not to) the
        signed `order.create` is delivered to the service; the sandbox's answer."""
        answer: dict[str, Any] = await self.sandbox.asimulate_order(
            "paid",
            token=shop.token,
            product_id=product_id,
            quantity=quantity,
            webhook_url=self.webhook_url(shop),
            send_webhook=send_webhook,
        )
        return answer

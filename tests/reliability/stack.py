"""The service as it is deployed, driven from outside: `brx-sync serve` and `brx-sync worker` as
processes on a Postgres database and a `redis-server` of their own (so a scenario may kill
either without touching the shared servers), the CardTrader sandbox beside them, and nothing but
HTTP between the scenarios and the service.

`Stack` is synchronous to start and stop (it outlives one test's event loop); scenarios open
their own `httpx.AsyncClient` with `stack.client()`."""

from __future__ import annotations

import os
import time
import uuid
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
from tests.processes import RedisServer, brx_sync, wait_for

API = "/api/v1/sync"
PRIVATE_PEM, PUBLIC_PEM = generate_rsa_pem()
TOKENS = [f"shop-{n}" for n in range(24)]  # one CardTrader account per scenario that needs one


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
    products: int = 400  # of each CardTrader account
    tokens: list[str] = field(default_factory=lambda: list(TOKENS))
    answers: list[Answer] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.sandbox = SandboxHandle(
            BackgroundSandbox(SandboxState(self.tokens, self.products, seed=11)).start(),
            self.tokens,
        )
        self._free_tokens = list(self.tokens)
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
        serve = ["serve", "--host", "127.0.0.1", "--port", str(self.port)]
        self.api = brx_sync(f"api-{self.port}", serve, self.env, self.logs)
        self.worker = brx_sync(f"worker-{self.port}", ["worker"], self.env, self.logs)
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
        self.worker = self.worker.restarted()

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

    async def connect(self, http: httpx.AsyncClient, token: str | None = None) -> Shop:
        """A user connected to a CardTrader account, not synced yet."""
        shop = Shop(str(uuid.uuid4()), token or self.take_token())
        setup = await http.post(
            f"{API}/setup-test-user",
            json={"user_id": shop.user_id, "cardtrader_token": shop.token},
        )
        assert setup.status_code == 200, setup.text
        return shop

    async def new_shop(self, http: httpx.AsyncClient, token: str | None = None) -> Shop:
        """A user connected to a CardTrader account and synced (its items are CardTrader's)."""
        shop = await self.connect(http, token)
        await self.sync(http, shop)
        return shop

    async def sync(self, http: httpx.AsyncClient, shop: Shop, seconds: float = 120) -> Any:
        await self.start_sync(http, shop)
        return await self.synced(http, shop, seconds)

    async def start_sync(self, http: httpx.AsyncClient, shop: Shop) -> None:
        started = await http.post(f"{API}/start/{shop.user_id}", headers=shop.auth())
        assert started.status_code == 202, started.text

    async def progress(self, http: httpx.AsyncClient, shop: Shop) -> dict[str, Any]:
        """`GET /progress`: the user's latest bulk sync."""
        answer = await http.get(f"{API}/progress/{shop.user_id}", headers=shop.auth())
        assert answer.status_code == 200, answer.text
        progress: dict[str, Any] = answer.json()
        return progress

    async def sync_status(self, http: httpx.AsyncClient, shop: Shop) -> str:
        """`GET /status`: the user's `sync_status`."""
        answer = await http.get(f"{API}/status/{shop.user_id}", headers=shop.auth())
        assert answer.status_code == 200, answer.text
        return str(answer.json()["sync_status"])

    async def synced(self, http: httpx.AsyncClient, shop: Shop, seconds: float = 120) -> Any:
        """Wait for the user's latest bulk sync to end; its progress (it must be completed)."""

        async def done() -> bool:
            return (await self.progress(http, shop)).get("status") in ("completed", "failed")

        await wait_for(done, seconds, "the bulk sync")
        progress = await self.progress(http, shop)
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
        return (await self.rows(sql, *args))[0][0]

    async def rows(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        """Rows read straight from the service's database, as tuples."""
        conn = await asyncpg.connect(self.postgres_url, timeout=10)
        try:
            return [tuple(row) for row in await conn.fetch(sql, *args)]
        finally:
            await conn.close()

    async def stored(self, shop: Shop) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        """The user's items and their ledger as stored, by CardTrader product, in a stable
        order: what two runs that must end alike are compared on."""
        items = await self.rows(
            "SELECT external_stock_id, blueprint_id, quantity, price_cents, properties::text, "
            "description FROM user_inventory_items WHERE user_id = $1 ORDER BY 1, 2",
            uuid.UUID(shop.user_id),
        )
        ledger = await self.rows(
            "SELECT i.external_stock_id, l.reason, l.delta, l.quantity_after "
            "FROM stock_ledger l JOIN user_inventory_items i ON i.id = l.item_id "
            "WHERE l.user_id = $1 ORDER BY 1, l.id",
            uuid.UUID(shop.user_id),
        )
        return items, ledger

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

"""A shop's account on the production wiring over HTTP: Postgres, Redis (queue and rate
limits), arq workers in this process and the CardTrader sandbox over HTTP. Idempotent writes,
failed pushes made visible and retried, connecting, disconnecting and purging."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
import pytest
from arq.connections import RedisSettings
from cryptography.fernet import Fernet
from dependency_injector import providers
from falcon.testing import ASGIConductor

from brx_adapters.cardtrader import CardTraderGateway
from brx_adapters.cardtrader.policy import RetryPolicy
from brx_adapters.queue import ArqTaskQueue
from brx_adapters.redis import RedisRateLimiter
from brx_app import metrics
from brx_app.commands.keys import generate_rsa_pem
from brx_app.commands.token import mint_access_token
from brx_app.config import load_config
from brx_app.container import build_container
from brx_app.http import create_app
from brx_app.worker import Lifecycle, build_workers
from brx_app.worker_run import serve
from brx_domain.jobs import Priority
from brx_domain.retry import RetryRule
from brx_domain.usecases.common import Ports
from brx_domain.usecases.webhooks import sign
from tests.integration.fixtures_sandbox import SandboxHandle

pytestmark = pytest.mark.integration

PRIVATE_PEM, PUBLIC_PEM = generate_rsa_pem()
BASE = "/api/v1/sync"
TOKEN = "shop-token"


@dataclass
class Shop:
    api: ASGIConductor
    container: Any
    sandbox: SandboxHandle
    postgres_url: str
    redis_url: str
    namespace: str
    user_id: uuid.UUID = field(default_factory=uuid.uuid4)

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {mint_access_token(PRIVATE_PEM, str(self.user_id))}"}

    async def connect(self, token: str = TOKEN) -> Any:
        return await self.api.simulate_put(
            f"{BASE}/connection/{self.user_id}", json={"cardtrader_token": token}, headers=self.auth
        )

    async def run_workers(self, **options: Any) -> None:
        ports: Ports = self.container.ports()

        async def make() -> tuple[Ports, Callable[[], Awaitable[None]]]:
            async def keep_open() -> None:
                return None

            return ports, keep_open

        lifecycle = Lifecycle(make, namespace=self.namespace, periodic_minutes=0)
        workers = build_workers(
            lifecycle, list(Priority), redis_settings=RedisSettings.from_dsn(self.redis_url),
            burst=True, poll_delay=0.05, **options,
        )  # fmt: skip
        await asyncio.wait_for(serve(workers, lifecycle, burst=True, grace=5), 120)

    async def synced(self) -> list[dict[str, Any]]:
        """Connect, import the sandbox's products through a bulk sync, return the items."""
        assert (await self.connect()).status_code == 200
        await self.api.simulate_post(f"{BASE}/start/{self.user_id}", headers=self.auth)
        await self.run_workers()
        page = await self.api.simulate_get(
            f"{BASE}/inventory/{self.user_id}", params={"limit": "1000"}, headers=self.auth
        )
        items: list[dict[str, Any]] = page.json["items"]
        assert items
        return items

    def quantity_on_cardtrader(self, external_stock_id: str) -> int:
        """Read off the simulator's state (its API may be failing on purpose)."""
        product = self.sandbox.state.sellers[TOKEN].inventory.get(int(external_stock_id))
        return 0 if product is None else int(product.quantity)

    async def rows(self, table: str) -> int:
        conn = await asyncpg.connect(self.postgres_url)
        try:
            count = await conn.fetchval(
                f"SELECT count(*) FROM {table} WHERE user_id = $1",
                self.user_id,
            )
        finally:
            await conn.close()
        return int(count)


@pytest.fixture
async def shop(
    sandbox_factory: Callable[..., SandboxHandle],
    postgres_url: str,
    redis_url: str,
    redis_prefix: str,
) -> AsyncIterator[Shop]:
    sandbox = sandbox_factory(products=40, tokens=[TOKEN], seed=9)
    config = load_config(
        ENVIRONMENT="production", DATABASE_URL=postgres_url, REDIS_URL=redis_url,
        JWT_PUBLIC_KEY=PUBLIC_PEM.decode(), FERNET_KEY=Fernet.generate_key().decode(),
        CARDTRADER_API_BASE_URL=sandbox.base_url, PUBLIC_BASE_URL="https://shop.example",
    )  # fmt: skip
    container = build_container(config)
    queue = ArqTaskQueue.from_url(redis_url, namespace=redis_prefix)
    container.queue.override(providers.Object(queue))
    http = httpx.AsyncClient(timeout=10)
    quick = RetryPolicy(base=0.01, cap=0.02, total=0.5, max_attempts=2)
    limiter = RedisRateLimiter(container.rate_limiter()._redis, prefix=redis_prefix)
    gateway = CardTraderGateway(
        http, base_url=sandbox.base_url, limiter=limiter, policy=quick, breaker_threshold=1000
    )
    container.marketplace.override(providers.Object(gateway))
    async with ASGIConductor(create_app(container)) as api:
        yield Shop(api, container, sandbox, postgres_url, redis_url, redis_prefix)
    await http.aclose()
    await queue.close()
    await container.runtime().close()


# --- idempotent writes ------------------------------------------------------------------------


async def test_a_repeated_purchase_answers_the_same_and_sells_once_everywhere(shop: Shop) -> None:
    item = next(i for i in await shop.synced() if i["quantity"] >= 3)
    path = f"{BASE}/purchase/{shop.user_id}/item/{item['id']}"
    keyed = {**shop.auth, "Idempotency-Key": str(uuid.uuid4())}
    before = shop.quantity_on_cardtrader(item["external_stock_id"])

    answers = await asyncio.gather(
        *(
            shop.api.simulate_post(path, json={"purchaseQuantity": 2}, headers=keyed)
            for _ in range(6)
        )
    )
    later = await shop.api.simulate_post(path, json={"purchaseQuantity": 2}, headers=keyed)
    other_body = await shop.api.simulate_post(path, json={"purchaseQuantity": 1}, headers=keyed)
    await shop.run_workers()

    sold = [a for a in [*answers, later] if a.status_code == 200]
    assert {a.status_code for a in answers} <= {200, 409} and later.status_code == 200
    assert all(a.json == sold[0].json for a in sold)  # one answer, replayed
    assert other_body.status_code == 422
    assert other_body.json["error"]["details"]["field"] == "Idempotency-Key"
    history = await shop.api.simulate_get(
        f"{BASE}/inventory/{shop.user_id}/item/{item['id']}/history", headers=shop.auth
    )
    assert [e["delta"] for e in history.json["entries"] if e["reason"] == "purchase"] == [-2]
    assert shop.quantity_on_cardtrader(item["external_stock_id"]) == before - 2
    assert await shop.rows("idempotency_keys") == 1


async def test_a_repeated_edit_and_delete_replay_their_first_answers(shop: Shop) -> None:
    item = (await shop.synced())[0]
    path = f"{BASE}/inventory/{shop.user_id}/item/{item['id']}"
    edit = {**shop.auth, "Idempotency-Key": "edit-1"}
    drop = {**shop.auth, "Idempotency-Key": "drop-1"}

    edits = [await shop.api.simulate_put(path, json={"quantity": 9}, headers=edit) for _ in "ab"]
    drops = [await shop.api.simulate_delete(path, headers=drop) for _ in "ab"]

    assert edits[0].json == edits[1].json and drops[0].json == drops[1].json
    assert drops[1].status_code == 200 and drops[1].headers["Idempotent-Replayed"] == "true"
    operations = await shop.api.simulate_get(f"{BASE}/operations/{shop.user_id}", headers=shop.auth)
    kinds = [o["operation_type"] for o in operations.json["items"]]
    assert kinds.count("update") == 1 and kinds.count("delete") == 1


# --- every push visible and retryable ---------------------------------------------------------


async def test_a_push_that_runs_out_of_retries_is_failed_visible_and_retried_to_land(
    shop: Shop,
) -> None:
    quick = RetryRule(base=0.05, cap=0.1, horizon=1.5)  # the push gives up within seconds
    item = (await shop.synced())[0]
    failures = metrics.PUSH_FAILURES.labels("update")._value.get()
    shop.sandbox.set_faults(error_rate=1.0)
    edit = await shop.api.simulate_put(
        f"{BASE}/inventory/{shop.user_id}/item/{item['id']}",
        json={"quantity": item["quantity"] + 7},
        headers=shop.auth,
    )
    await shop.run_workers(retry=quick)

    failed = await shop.api.simulate_get(
        f"{BASE}/operations/{shop.user_id}", params={"status": "failed"}, headers=shop.auth
    )
    [row] = failed.json["items"]
    assert row["operation_id"] == edit.json["task_id"] and row["item_id"] == item["id"]
    assert row["last_error"].startswith("marketplace_unavailable") and row["attempts"] >= 1
    assert row["last_error"].endswith("(gave up after its last retry)")
    assert TOKEN not in str(failed.json)
    assert metrics.PUSH_FAILURES.labels("update")._value.get() == failures + 1
    assert shop.quantity_on_cardtrader(item["external_stock_id"]) == item["quantity"]

    shop.sandbox.set_faults(error_rate=0.0)
    retry = await shop.api.simulate_post(
        f"{BASE}/operations/{shop.user_id}/{row['operation_id']}/retry", headers=shop.auth
    )
    await shop.run_workers()
    task = await shop.api.simulate_get(f"{BASE}/task/{retry.json['task_id']}", headers=shop.auth)
    twice = await shop.api.simulate_post(
        f"{BASE}/operations/{shop.user_id}/{row['operation_id']}/retry", headers=shop.auth
    )

    assert retry.status_code == 202 and task.json["status"] == "SUCCESS"
    assert shop.quantity_on_cardtrader(item["external_stock_id"]) == item["quantity"] + 7
    assert twice.status_code == 409


async def test_another_users_operation_cannot_be_listed_or_retried(shop: Shop) -> None:
    await shop.synced()
    [sync] = (
        await shop.api.simulate_get(f"{BASE}/operations/{shop.user_id}", headers=shop.auth)
    ).json["items"]
    intruder = uuid.uuid4()
    theirs = {"Authorization": f"Bearer {mint_access_token(PRIVATE_PEM, str(intruder))}"}

    retry = await shop.api.simulate_post(
        f"{BASE}/operations/{intruder}/{sync['operation_id']}/retry", headers=theirs
    )
    listing = await shop.api.simulate_get(f"{BASE}/operations/{intruder}", headers=theirs)
    cross = await shop.api.simulate_get(f"{BASE}/operations/{shop.user_id}", headers=theirs)

    assert retry.status_code == 404 and listing.json["total"] == 0 and cross.status_code == 403


# --- connecting, disconnecting, purging -------------------------------------------------------


async def test_connecting_checks_the_token_with_cardtrader_and_stores_it_encrypted(
    shop: Shop,
) -> None:
    refused = await shop.connect("not-a-seller")
    assert refused.status_code == 422
    assert refused.json["error"]["details"]["field"] == "cardtrader_token"
    assert await shop.rows("user_sync_settings") == 0

    shop.sandbox.set_faults(error_rate=1.0)
    down = await shop.connect()
    shop.sandbox.set_faults(error_rate=0.0)
    assert down.status_code == 503 and await shop.rows("user_sync_settings") == 0

    connected = await shop.connect()
    status = await shop.api.simulate_get(f"{BASE}/status/{shop.user_id}", headers=shop.auth)

    assert connected.status_code == 200
    assert connected.json == {
        "user_id": str(shop.user_id),
        "connected": True,
        "cardtrader_user_id": shop.sandbox.state.sellers[TOKEN].user_id,
        "webhook_url": f"https://shop.example{BASE}/webhook/user/{shop.user_id}",
    }
    assert status.json["connected"] is True
    conn = await asyncpg.connect(shop.postgres_url)
    try:
        row = await conn.fetchrow(
            "SELECT cardtrader_token_encrypted, webhook_secret FROM user_sync_settings"
            " WHERE user_id = $1",
            shop.user_id,
        )
    finally:
        await conn.close()
    cipher = shop.container.cipher()
    assert TOKEN not in row["cardtrader_token_encrypted"]
    assert cipher.decrypt(row["cardtrader_token_encrypted"]) == TOKEN
    assert cipher.decrypt(row["webhook_secret"]) == shop.sandbox.shared_secret


async def test_replacing_the_token_keeps_the_inventory(shop: Shop) -> None:
    items = await shop.synced()
    assert (await shop.connect()).status_code == 200
    assert await shop.rows("user_inventory_items") == len(items)


async def _signed_webhook(shop: Shop, delivery_id: str, secret: str | None = None) -> Any:
    import json
    import time

    body = json.dumps(
        {"id": delivery_id, "time": int(time.time()), "cause": "order.update",
         "object_class": "Order", "object_id": 7, "mode": "live", "data": {}}
    ).encode()  # fmt: skip
    return await shop.api.simulate_post(
        f"{BASE}/webhook/user/{shop.user_id}",
        body=body,
        headers={"Content-Type": "application/json",
                 "Signature": sign(body, secret or shop.sandbox.shared_secret)},
    )  # fmt: skip


async def test_a_secret_rotated_by_reconnecting_is_the_only_one_accepted_at_once(
    shop: Shop,
) -> None:
    old = shop.sandbox.shared_secret
    assert (await shop.connect()).status_code == 200
    assert (await _signed_webhook(shop, "with-the-old-secret")).status_code == 200  # remembered
    shop.sandbox.state.sellers[TOKEN].shared_secret = "a-rotated-shared-secret"

    assert (await shop.connect()).status_code == 200
    stale = await _signed_webhook(shop, "old-after-rotation", old)
    fresh = await _signed_webhook(shop, "new-after-rotation", "a-rotated-shared-secret")

    assert stale.status_code == 401 and fresh.status_code == 200
    assert await shop.rows("webhook_deliveries") == 2


async def test_a_disconnected_shop_gets_no_webhooks_no_pushes_and_says_so(shop: Shop) -> None:
    item = (await shop.synced())[0]
    assert (await _signed_webhook(shop, "while-connected")).status_code == 200

    gone = await shop.api.simulate_delete(f"{BASE}/connection/{shop.user_id}", headers=shop.auth)
    webhook = await _signed_webhook(shop, "after-disconnect")
    unknown = await shop.api.simulate_post(
        f"{BASE}/webhook/user/{uuid.uuid4()}", body=b"{}", headers={"Signature": "x"}
    )
    shop.sandbox.clear_requests()
    edit = await shop.api.simulate_put(
        f"{BASE}/inventory/{shop.user_id}/item/{item['id']}",
        json={"quantity": 1},
        headers=shop.auth,
    )
    await shop.run_workers()
    status = await shop.api.simulate_get(f"{BASE}/status/{shop.user_id}", headers=shop.auth)
    task = await shop.api.simulate_get(f"{BASE}/task/{edit.json['task_id']}", headers=shop.auth)

    assert gone.status_code == 200 and gone.json["connected"] is False
    assert webhook.status_code == 401 and webhook.json["error"] == unknown.json["error"]
    assert await shop.rows("webhook_deliveries") == 1
    assert status.json["connected"] is False
    assert task.json["status"] == "FAILURE" and "not_connected" in task.json["message"]
    assert shop.sandbox.requests(TOKEN) == []  # nothing reached CardTrader
    assert shop.quantity_on_cardtrader(item["external_stock_id"]) == item["quantity"]
    assert await shop.rows("user_inventory_items") > 0  # a disconnect keeps the data


async def test_purging_erases_every_row_of_the_shop(shop: Shop) -> None:
    item = next(i for i in await shop.synced() if i["quantity"] >= 1)
    await shop.api.simulate_post(
        f"{BASE}/purchase/{shop.user_id}/item/{item['id']}",
        json={"purchaseQuantity": 1},
        headers={**shop.auth, "Idempotency-Key": "buy-1"},
    )
    await _signed_webhook(shop, "w-1")
    await shop.run_workers()
    tables = [
        "user_sync_settings", "user_inventory_items", "stock_ledger", "sync_operations",
        "webhook_deliveries", "idempotency_keys",
    ]  # fmt: skip
    assert all([await shop.rows(t) for t in tables])

    purged = await shop.api.simulate_delete(
        f"{BASE}/connection/{shop.user_id}", params={"purge": "true"}, headers=shop.auth
    )

    assert purged.status_code == 200 and purged.json["purged"] is True
    assert [await shop.rows(t) for t in [*tables, "order_stock"]] == [0] * (len(tables) + 1)
    status = await shop.api.simulate_get(f"{BASE}/status/{shop.user_id}", headers=shop.auth)
    assert status.status_code == 404

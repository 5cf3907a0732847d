"""The HTTP API over the production wiring: real Postgres and Redis (queue and rate limits), the
fake CardTrader in place of the network. Every route answers in its documented shape."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import redis.asyncio as aioredis
from cryptography.fernet import Fernet
from dependency_injector import providers
from falcon.testing import ASGIConductor

from brx_adapters.memory import MemoryMarketplace, MemoryMarketplaceGateway
from brx_app.commands.keys import generate_rsa_pem
from brx_app.commands.token import mint_access_token
from brx_app.config import load_config
from brx_app.container import build_container
from brx_app.http import create_app
from brx_app.http import responses as r
from brx_domain.inventory import InventoryItem, Properties
from brx_domain.usecases.webhooks import sign

pytestmark = pytest.mark.integration

CT_TOKEN = "ct-integration-token"
KEYS = generate_rsa_pem()


@dataclass
class LiveApi:
    conductor: ASGIConductor
    container: Any
    account: MemoryMarketplace
    user_id: uuid.UUID = field(default_factory=uuid.uuid4)

    def auth(self, **options: Any) -> dict[str, str]:
        token = mint_access_token(KEYS[0], str(self.user_id), **options)
        return {"Authorization": f"Bearer {token}"}

    async def add_item(self, quantity: int) -> int:
        """An item listed on the fake CardTrader with the same quantity."""
        product = self.account.add_product(4242, quantity, 199)
        async with self.container.uow()() as uow:
            item = await uow.items.add(
                InventoryItem(
                    0,
                    self.user_id,
                    4242,
                    quantity,
                    199,
                    Properties.trusted({"condition": "Near Mint"}),
                    external_stock_id=str(product.id),
                )
            )
            await uow.commit()
        return item.id


def live_container(postgres_url: str, redis_url: str, prefix: str, **env: str) -> Any:
    config = load_config(
        ENVIRONMENT="development",
        DATABASE_URL=postgres_url.replace("postgresql://", "postgresql+asyncpg://", 1),
        REDIS_URL=redis_url,
        JWT_PUBLIC_KEY=KEYS[1].decode(),
        FERNET_KEY=Fernet.generate_key().decode(),
        BRX_QUEUE_NAMESPACE=prefix,  # the queue and the rate limits of this test alone
        **env,
    )
    return build_container(config)


@pytest.fixture
async def live(postgres_url: str, redis_url: str, redis_prefix: str) -> AsyncIterator[LiveApi]:
    container = live_container(postgres_url, redis_url, redis_prefix)
    gateway = MemoryMarketplaceGateway()
    account = gateway.add_account(CT_TOKEN)
    container.marketplace.override(providers.Object(gateway))
    try:
        async with ASGIConductor(create_app(container)) as conductor:
            yield LiveApi(conductor, container, account)
    finally:
        await container.runtime().close()
        await _forget_jobs(redis_url, redis_prefix)


async def _forget_jobs(redis_url: str, prefix: str) -> None:
    """arq keeps job keys outside the queue namespace: delete the ones this test queued."""
    client = aioredis.Redis.from_url(redis_url)
    try:
        for queue in ("brx:high", "brx:bulk", "brx:default"):
            for job_id in await client.zrange(prefix + queue, 0, -1):
                await client.delete(b"arq:job:" + job_id)
    finally:
        await client.aclose()


async def test_every_user_route_answers_in_its_documented_shape(live: LiveApi) -> None:
    c, user, auth = live.conductor, live.user_id, live.auth()
    base = "/api/v1/sync"
    setup = await c.simulate_post(
        f"{base}/setup-test-user", json={"user_id": str(user), "cardtrader_token": CT_TOKEN}
    )
    r.SetupDone.model_validate(setup.json)
    r.SyncStatusOut.model_validate(
        (await c.simulate_get(f"{base}/status/{user}", headers=auth)).json
    )
    url = await c.simulate_get(f"{base}/webhook-url/{user}", headers=auth)
    assert r.WebhookUrlOut.model_validate(url.json).webhook_secret_configured
    started = await c.simulate_post(f"{base}/start/{user}", headers=auth)
    assert started.status_code == 202
    task_id = r.Accepted.model_validate(started.json).task_id
    r.ProgressOut.model_validate(
        (await c.simulate_get(f"{base}/progress/{user}", headers=auth)).json
    )
    r.TaskOut.model_validate((await c.simulate_get(f"{base}/task/{task_id}", headers=auth)).json)
    reconcile = await c.simulate_post(
        f"{base}/sync-from-cardtrader/{user}", params={"blueprint_id": "7"}, headers=auth
    )
    r.ReconcileAccepted.model_validate(reconcile.json)
    item_id = await live.add_item(5)
    page = await c.simulate_get(f"{base}/inventory/{user}", headers=auth)
    assert r.InventoryOut.model_validate(page.json).total == 1
    item = f"{base}/inventory/{user}/item/{item_id}"
    put = await c.simulate_put(item, json={"quantity": 6, "description": "x"}, headers=auth)
    assert r.ItemUpdated.model_validate(put.json).cardtrader_sync_queued
    bought = await c.simulate_post(
        f"{base}/purchase/{user}/item/{item_id}", json={"purchaseQuantity": 2}, headers=auth
    )
    assert r.Purchased.model_validate(bought.json).remaining_quantity == 4
    history = await c.simulate_get(f"{item}/history", headers=auth)
    assert [e.reason for e in r.HistoryOut.model_validate(history.json).entries] == [
        "purchase",
        "edit",
    ]
    deleted = await c.simulate_delete(item, headers=auth)
    r.ItemDeleted.model_validate(deleted.json)
    depth = await live.container.queue().depth()
    assert sum(depth.values()) == 4  # bulk sync, reconcile, update, delete (purchase: confirmed)


async def test_operator_and_public_routes_answer_in_their_documented_shapes(
    live: LiveApi,
) -> None:
    c = live.conductor
    index = await c.simulate_post(
        "/api/v1/sync/migrate/composite-index", headers=live.auth(admin=True)
    )
    r.CompositeIndexOut.model_validate(index.json)
    logs = await c.simulate_get("/api/v1/sync/debug-logs", headers=live.auth(admin=True))
    r.DebugLogsOut.model_validate(logs.json)
    ready = await c.simulate_get("/health/ready")
    assert ready.status_code == 200
    assert ready.json["postgresql"]["status"] == ready.json["redis"]["status"] == "healthy"
    health = await c.simulate_get("/health")
    assert r.HealthOut.model_validate(health.json).details["postgresql_pool"]
    assert (await c.simulate_get("/health/live")).json == {"status": "alive"}
    assert "brx_http_requests_total" in (await c.simulate_get("/metrics")).text


async def test_concurrent_purchases_never_oversell_in_postgres(live: LiveApi) -> None:
    await live.conductor.simulate_post(  # a purchase is confirmed with the shop's CardTrader
        "/api/v1/sync/setup-test-user",
        json={"user_id": str(live.user_id), "cardtrader_token": CT_TOKEN},
    )
    item_id = await live.add_item(10)
    path = f"/api/v1/sync/purchase/{live.user_id}/item/{item_id}"
    results = await asyncio.gather(
        *(
            live.conductor.simulate_post(path, json={"purchaseQuantity": 3}, headers=live.auth())
            for _ in range(8)
        )
    )
    assert sorted(r.status_code for r in results) == [200] * 3 + [400] * 5
    async with live.container.uow()() as uow:
        item = await uow.items.get(live.user_id, item_id)
    assert item is not None and item.quantity == 1


async def test_a_webhook_delivered_many_times_is_stored_and_queued_once(live: LiveApi) -> None:
    await live.conductor.simulate_post(
        "/api/v1/sync/setup-test-user",
        json={"user_id": str(live.user_id), "cardtrader_token": CT_TOKEN},
    )
    body = json.dumps(
        {
            "id": f"evt-{uuid.uuid4()}",
            "time": int(time.time()),
            "cause": "order.create",
            "object_class": "Order",
            "object_id": 9,
            "mode": "live",
            "data": {"id": 9, "state": "paid", "order_items": []},
        }
    ).encode()
    headers = {"Signature": sign(body, live.account.shared_secret)}
    path = f"/api/v1/sync/webhook/user/{live.user_id}"
    results = await asyncio.gather(
        *(live.conductor.simulate_post(path, body=body, headers=headers) for _ in range(6))
    )
    assert {r.status_code for r in results} == {200}
    assert len({r.json["webhook_id"] for r in results}) == 1
    assert (await live.container.queue().depth())["brx:high"] == 1
    forged = await live.conductor.simulate_post(path, body=body, headers={"Signature": "x"})
    assert forged.status_code == 401


async def test_the_rate_limit_is_shared_by_replicas_through_redis(
    postgres_url: str, redis_url: str, redis_prefix: str
) -> None:
    containers = [
        live_container(postgres_url, redis_url, redis_prefix, RATE_LIMIT_REQUESTS="4")
        for _ in range(2)
    ]
    user = uuid.uuid4()
    headers = {"Authorization": f"Bearer {mint_access_token(KEYS[0], str(user))}"}
    statuses = []
    try:
        async with (
            ASGIConductor(create_app(containers[0])) as one,
            ASGIConductor(create_app(containers[1])) as two,
        ):
            for replica in (one, two, one, two, one, two):
                result = await replica.simulate_get(f"/api/v1/sync/status/{user}", headers=headers)
                statuses.append(result.status_code)
            assert "Retry-After" in result.headers
    finally:
        for container in containers:
            await container.runtime().close()
    assert statuses == [404, 404, 404, 404, 429, 429]


async def test_with_redis_down_readiness_is_503_but_the_api_stays_usable(
    postgres_url: str,
) -> None:
    container = live_container(postgres_url, "redis://127.0.0.1:1/0", "unused:")
    user = uuid.uuid4()
    headers = {"Authorization": f"Bearer {mint_access_token(KEYS[0], str(user))}"}
    try:
        async with ASGIConductor(create_app(container)) as conductor:
            ready = await conductor.simulate_get("/health/ready")
            inventory = await conductor.simulate_get(
                f"/api/v1/sync/inventory/{user}", headers=headers
            )
    finally:
        await container.runtime().close()
    assert ready.status_code == 503
    assert ready.json["redis"]["status"] == "unhealthy"
    assert ready.json["postgresql"]["status"] == "healthy"
    assert inventory.status_code == 200

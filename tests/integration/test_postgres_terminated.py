"""Postgres connections killed under load (`pg_terminate_backend` on the service's connections
to this test's own database only, every few hundred milliseconds): every request is answered
200 or 503 — never a 500 from a broken pooled connection reused — and the service is whole
again once the killing stops."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator

import pytest
from dependency_injector import providers
from falcon.testing import ASGIConductor

from brx_adapters.memory import MemoryMarketplaceGateway
from brx_app.http import create_app
from tests.integration.fixtures_postgres import keep_terminating
from tests.integration.test_http_api import CT_TOKEN, LiveApi, live_container

pytestmark = pytest.mark.integration

KILL_EVERY = 0.3


@pytest.fixture
async def live(postgres_url: str, redis_url: str, redis_prefix: str) -> AsyncIterator[LiveApi]:
    container = live_container(  # no per-user limit: every answer here is about Postgres
        postgres_url, redis_url, redis_prefix, RATE_LIMIT_REQUESTS="1000000"
    )
    gateway = MemoryMarketplaceGateway()
    account = gateway.add_account(CT_TOKEN)
    container.marketplace.override(providers.Object(gateway))
    try:
        async with ASGIConductor(create_app(container)) as conductor:
            yield LiveApi(conductor, container, account)
    finally:
        await container.runtime().close()


async def test_killed_connections_give_503_or_a_retry_never_a_500(
    live: LiveApi, postgres_url: str
) -> None:
    c, user, auth = live.conductor, live.user_id, live.auth()
    setup = await c.simulate_post(
        "/api/v1/sync/setup-test-user", json={"user_id": str(user), "cardtrader_token": CT_TOKEN}
    )
    assert setup.status_code == 200
    for quantity in range(1, 21):
        await live.add_item(quantity)
    page = f"/api/v1/sync/inventory/{user}?limit=50"
    status = f"/api/v1/sync/status/{user}"
    killed: list[int] = []
    killer = asyncio.create_task(keep_terminating(postgres_url, KILL_EVERY, killed))
    answers: Counter[int] = Counter()
    try:

        async def client(path: str) -> None:
            for _ in range(60):
                answers[(await c.simulate_get(path, headers=auth)).status_code] += 1
                await asyncio.sleep(0.01)

        await asyncio.gather(*(client(page if n % 2 else status) for n in range(6)))
    finally:
        killer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await killer
    after = await c.simulate_get(page, headers=auth)

    assert sum(killed) > 10  # connections really were killed under the load
    assert set(answers) <= {200, 503}, answers
    assert answers[200] > 0
    assert after.status_code == 200 and len(after.json["items"]) == 20

"""End to end on a running stack: the API (production wiring) takes a sync request, arq workers
run it against the CardTrader sandbox over HTTP into Postgres, and the user moves from
`initial_sync` to `active` while `/progress` only ever goes up."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from arq.connections import RedisSettings
from cryptography.fernet import Fernet
from falcon.testing import ASGIConductor

from brx_app.commands.keys import generate_rsa_pem
from brx_app.commands.token import mint_access_token
from brx_app.config import load_config
from brx_app.container import build_container
from brx_app.http import create_app
from brx_app.worker import Lifecycle, build_workers
from brx_app.worker_run import serve
from brx_domain.jobs import Priority
from brx_domain.usecases.common import Ports
from tests.integration.fixtures_sandbox import SandboxHandle

pytestmark = pytest.mark.integration

PRIVATE_PEM, PUBLIC_PEM = generate_rsa_pem()
COUNTERS = ("processed", "processed_chunks", "created", "progress_percent")


@pytest.fixture
async def live(
    sandbox_factory: Callable[..., SandboxHandle],
    postgres_url: str,
    redis_url: str,
    redis_prefix: str,
) -> AsyncIterator[tuple[Any, SandboxHandle]]:
    sandbox = sandbox_factory(products=6000, tokens=["stack-token"], seed=5)
    config = load_config(
        ENVIRONMENT="development", DATABASE_URL=postgres_url, REDIS_URL=redis_url,
        JWT_PUBLIC_KEY=PUBLIC_PEM.decode(), FERNET_KEY=Fernet.generate_key().decode(),
        CARDTRADER_API_BASE_URL=sandbox.base_url, SYNC_CHUNK_SIZE="500",
        BRX_QUEUE_NAMESPACE=redis_prefix,
    )  # fmt: skip
    container = build_container(config)
    yield container, sandbox
    await container.runtime().close()


async def _run_workers(ports: Ports, redis_url: str, namespace: str) -> None:
    async def make() -> tuple[Ports, Any]:
        async def keep_open() -> None:
            return None

        return ports, keep_open

    lifecycle = Lifecycle(make, namespace=namespace, periodic_minutes=0)
    workers = build_workers(lifecycle, list(Priority), redis_settings=RedisSettings.from_dsn(
        redis_url), burst=True, poll_delay=0.05)  # fmt: skip
    await asyncio.wait_for(serve(workers, lifecycle, burst=True, grace=5), 120)


async def test_a_sync_started_through_the_api_ends_active_with_progress_that_only_rises(
    live: tuple[Any, SandboxHandle],
    redis_url: str,
    redis_prefix: str,
) -> None:
    container, _sandbox = live
    user_id = str(uuid.uuid4())
    auth = {"Authorization": f"Bearer {mint_access_token(PRIVATE_PEM, user_id)}"}
    base = "/api/v1/sync"
    async with ASGIConductor(create_app(container)) as api:
        setup = await api.simulate_post(
            f"{base}/setup-test-user", json={"user_id": user_id, "cardtrader_token": "stack-token"}
        )
        started = await api.simulate_post(f"{base}/start/{user_id}", headers=auth)
        during = await api.simulate_get(f"{base}/status/{user_id}", headers=auth)
        second = await api.simulate_post(f"{base}/start/{user_id}", headers=auth)
        workers = asyncio.create_task(_run_workers(container.ports(), redis_url, redis_prefix))
        samples = []
        while not workers.done():
            samples.append(
                (await api.simulate_get(f"{base}/progress/{user_id}", headers=auth)).json
            )
            await asyncio.sleep(0.02)
        await workers
        final = (await api.simulate_get(f"{base}/progress/{user_id}", headers=auth)).json
        status = (await api.simulate_get(f"{base}/status/{user_id}", headers=auth)).json
        task = await api.simulate_get(f"{base}/task/{started.json['task_id']}", headers=auth)
        page = (await api.simulate_get(f"{base}/inventory/{user_id}?limit=5", headers=auth)).json

    assert setup.status_code == 200 and started.status_code == 202
    assert during.json["sync_status"] == "initial_sync"
    assert second.status_code == 409  # a queued sync already counts as running
    samples.append(final)
    for before, after in itertools.pairwise(samples):
        assert all(after[name] >= before[name] for name in COUNTERS), (before, after)
    assert len({s["processed"] for s in samples}) > 2  # progress was seen moving, not just done
    assert final["status"] == "completed" and final["progress_percent"] == 100
    assert final["total_products"] == final["processed"] == 6000 == final["created"]
    assert status["sync_status"] == "active" and status["last_sync_at"] and not status["last_error"]
    assert task.json["status"] == "SUCCESS" and task.json["ready"] is True
    assert page["total"] == 6000 and len(page["items"]) == 5

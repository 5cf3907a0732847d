"""A real `brx-sync worker` process beside an API built from the same configuration: the queue
namespace comes from `BRX_QUEUE_NAMESPACE` for both, so what the API queues the worker runs;
the worker's own `/metrics` port then shows what the sync caused (CardTrader calls, sync
duration and items, rate-limit waits, queue depth, pool usage); `brx-sync sync` drives the
same queue from the command line and follows the sync to its end."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from cryptography.fernet import Fernet
from falcon.testing import ASGIConductor
from prometheus_client.parser import text_string_to_metric_families

from brx_adapters.cardtrader.gateway import token_key
from brx_app.commands.keys import generate_rsa_pem
from brx_app.commands.token import mint_access_token
from brx_app.config import load_config
from brx_app.container import build_container
from brx_app.http import create_app
from tests.integration.fixtures_sandbox import SandboxHandle

pytestmark = pytest.mark.integration

PRIVATE_PEM, PUBLIC_PEM = generate_rsa_pem()
PRODUCTS = 3000
TOKEN = "worker-process-token"


@pytest.fixture
def env(
    sandbox_factory: Callable[..., SandboxHandle],
    postgres_url: str,
    redis_url: str,
    redis_prefix: str,
    free_port: Callable[[], int],
) -> dict[str, str]:
    sandbox = sandbox_factory(products=PRODUCTS, tokens=[TOKEN], seed=11)
    return {
        "ENVIRONMENT": "development", "DATABASE_URL": postgres_url, "REDIS_URL": redis_url,
        "FERNET_KEY": Fernet.generate_key().decode(), "JWT_PUBLIC_KEY": PUBLIC_PEM.decode(),
        "CARDTRADER_API_BASE_URL": sandbox.base_url, "SYNC_CHUNK_SIZE": "500",
        "BRX_QUEUE_NAMESPACE": redis_prefix, "WORKER_METRICS_PORT": str(free_port()),
        "STARTUP_WAIT_SECONDS": "20",
    }  # fmt: skip


@pytest.fixture
def worker(env: dict[str, str], tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    log = (tmp_path / "worker.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "brx_app.cli", "worker"],
        env={**os.environ, **env},
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    yield process
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0, (tmp_path / "worker.log").read_text()[-3000:]
    log.close()


def scrape(port: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def drain_rate_limit_bucket(env: dict[str, str], seconds: float = 15.0) -> None:
    """Empty the token's overall CardTrader bucket and stop its refill for `seconds` (its last
    refill dated in the future), so the sync's first call has to wait for a slot."""
    client = redis.Redis.from_url(env["REDIS_URL"])
    now, micros = client.time()
    key = f"{env['BRX_QUEUE_NAMESPACE']}brx:rl:ct:{token_key(TOKEN)}:all"
    client.hset(key, mapping={"tokens": "0", "ts": f"{now + micros / 1e6 + seconds:.6f}"})
    client.pexpire(key, 60_000)
    client.close()


async def test_the_api_queues_where_the_worker_listens_and_the_worker_shows_the_sync(
    env: dict[str, str], worker: subprocess.Popen[bytes]
) -> None:
    user_id = str(uuid.uuid4())
    auth = {"Authorization": f"Bearer {mint_access_token(PRIVATE_PEM, user_id)}"}
    base = "/api/v1/sync"
    container = build_container(load_config(**env))
    try:
        async with ASGIConductor(create_app(container)) as api:
            setup = await api.simulate_post(
                f"{base}/setup-test-user", json={"user_id": user_id, "cardtrader_token": TOKEN}
            )
            drain_rate_limit_bucket(env)
            started = await api.simulate_post(f"{base}/start/{user_id}", headers=auth)
            progress: dict[str, Any] = {}
            for _ in range(600):
                progress = (await api.simulate_get(f"{base}/progress/{user_id}", headers=auth)).json
                if progress["status"] != "pending" or worker.poll() is not None:
                    break
                await asyncio.sleep(0.2)
            api_metrics = (await api.simulate_get("/metrics")).text
    finally:
        await container.runtime().close()
    samples = scrape(env["WORKER_METRICS_PORT"])

    assert setup.status_code == 200 and started.status_code == 202
    assert progress["status"] == "completed" and progress["created"] == PRODUCTS
    export_calls = sum(
        v for (name, labels), v in samples.items()
        if name == "brx_cardtrader_calls_total" and ("status", "200") in labels
        and any(k == "endpoint" and "export" in e for k, e in labels)
    )  # fmt: skip
    assert export_calls >= 1
    assert value(samples, "brx_sync_duration_seconds_count", kind="bulk_sync",
                 outcome="completed") == 1  # fmt: skip
    assert value(samples, "brx_sync_items_total", kind="bulk_sync", result="created") == PRODUCTS
    assert value(samples, "brx_rate_limit_waits_total", limiter="cardtrader_all") >= 1
    assert ("brx_queue_depth", (("queue", "brx:bulk"),)) in samples
    assert value(samples, "brx_db_pool_size", pool="postgresql") == 10
    assert value(samples, "brx_db_pool_overflow", pool="postgresql") >= 0
    assert 'brx_db_pool_in_use{pool="postgresql"}' in api_metrics  # the API has the gauge too


def brx_sync(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "brx_app.cli", *args],
        env={**os.environ, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


async def test_the_sync_command_follows_a_sync_to_its_end(
    env: dict[str, str], worker: subprocess.Popen[bytes], tmp_path: Path
) -> None:
    from brx_domain.usecases.users import register_user

    user_id = uuid.uuid4()
    container = build_container(load_config(**env))
    try:
        await register_user(container.ports(), user_id, TOKEN)
    finally:
        await container.runtime().close()

    dry = brx_sync("sync", str(user_id), "--dry-run", "--interval", "0.1", env=env, cwd=tmp_path)
    bulk = brx_sync("sync", str(user_id), "--interval", "0.1", env=env, cwd=tmp_path)
    again = brx_sync("sync", str(user_id), env=env, cwd=tmp_path)
    unknown = brx_sync("sync", str(uuid.uuid4()), env=env, cwd=tmp_path)

    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.startswith(f"completed: {PRODUCTS:,}/{PRODUCTS:,} products: {PRODUCTS:,} ")
    assert bulk.returncode == 0, bulk.stderr
    assert bulk.stdout == (
        f"completed: {PRODUCTS:,}/{PRODUCTS:,} products: {PRODUCTS:,} created, 0 updated, "
        "0 skipped, 0 deleted, 0 failed\n"
    )  # the dry run before it wrote nothing: everything is created now
    bars = [line for line in bulk.stderr.splitlines() if line.startswith("[")]
    assert bars and bars[-1].startswith("[" + "#" * 30 + "] 100%")
    assert again.returncode == 0 and "0 created, 0 updated" in again.stdout
    assert unknown.returncode == 1 and unknown.stdout == ""
    assert len(unknown.stderr.splitlines()) == 1


def test_a_taken_metrics_port_and_a_redis_that_never_answers_are_one_line_each(
    env: dict[str, str], worker: subprocess.Popen[bytes], tmp_path: Path
) -> None:
    for _ in range(300):  # until the first worker serves its port
        try:
            httpx.get(f"http://127.0.0.1:{env['WORKER_METRICS_PORT']}/metrics", timeout=5)
            break
        except httpx.TransportError:
            time.sleep(0.1)
    second = brx_sync("worker", env=env, cwd=tmp_path)
    no_redis = brx_sync(
        "worker",
        env={**env, "REDIS_URL": "redis://127.0.0.1:1/0", "STARTUP_WAIT_SECONDS": "1"},
        cwd=tmp_path,
    )

    for result, needle in ((second, "WORKER_METRICS_PORT: "), (no_redis, "Redis did not answer")):
        assert result.returncode == 1 and result.stdout == ""
        (line,) = result.stderr.splitlines()
        assert line.startswith("brx-sync worker: ") and needle in line

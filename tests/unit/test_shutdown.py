"""The drain of `brx-sync serve` (brx_app.shutdown) on a real uvicorn listener: after SIGTERM
readiness fails at once, new connections are still accepted and answered for the drain period,
answers close their connection, and only then does the listener close and the server stop."""

from __future__ import annotations

import asyncio
import signal
import time

import httpx
import pytest
import uvicorn

from brx_app.cli import build_parser
from brx_app.commands.keys import generate_rsa_pem
from brx_app.http import create_app
from brx_app.http.resources.health import STOPPING
from brx_app.shutdown import DrainingServer
from tests.unit.http.conftest import build_api

DRAIN = 2.0


async def _get(base: str, path: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:  # a new connection each
        return await http.get(path)


async def test_sigterm_fails_readiness_keeps_serving_for_the_drain_then_stops() -> None:
    container, _ = build_api(*generate_rsa_pem())
    closed: list[bool] = []

    async def close() -> None:
        closed.append(True)

    container.runtime().closers.append(close)
    config = uvicorn.Config(
        create_app(container), host="127.0.0.1", port=0, lifespan="on", log_config=None
    )
    server = DrainingServer(
        config, drain_seconds=DRAIN, on_drain=container.runtime().stop_accepting
    )
    serving = asyncio.create_task(server.serve())
    while not server.started:
        assert not serving.done(), serving
        await asyncio.sleep(0.02)
    base = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    before = await _get(base, "/health/ready")

    server.handle_exit(signal.SIGTERM, None)  # what uvicorn's signal handler is given
    signalled = time.monotonic()
    ready = await _get(base, "/health/ready")
    await asyncio.sleep(DRAIN / 2)
    live = await _get(base, "/health/live")  # a connection opened halfway through the drain
    await asyncio.wait_for(serving, DRAIN + 30)
    stopped_after = time.monotonic() - signalled

    assert before.status_code == 200 and "connection" not in before.headers
    assert ready.status_code == 503
    assert ready.json() == {"status": "unhealthy", "server": STOPPING}
    assert live.status_code == 200 and live.json() == {"status": "alive"}
    assert live.headers["connection"] == "close"  # the client's next request: a new connection
    assert stopped_after >= DRAIN  # the listener stayed open for the whole drain
    with pytest.raises(httpx.ConnectError):
        await _get(base, "/health/live")
    assert closed == [True]  # and then the lifespan shutdown: pools and clients closed


@pytest.mark.parametrize("value", ["-1", "nan", "soon", "4000"])
def test_drain_and_grace_seconds_refuse_what_is_not_a_duration(value: str) -> None:
    for option in ("--drain-seconds", "--grace-seconds"):
        with pytest.raises(SystemExit) as refused:
            build_parser().parse_args(["serve", option, value])
        assert refused.value.code == 2

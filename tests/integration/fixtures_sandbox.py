"""Fixtures for the CardTrader sandbox (the simulator in `cardtrader_sandbox`).

`sandbox_factory` is SYNC and usable from sync and async tests alike:

    handle = sandbox_factory(products=5000, tokens=["t1", "t2"], seed=7, error_rate=0.1)

It starts the simulator on a free port of 127.0.0.1 (uvicorn in a background thread with its
own event loop) and stops it at teardown. Keyword faults: error_rate, latency_ms, drop_rate,
retry_after ("absent" | "seconds" | "http-date"), storm_seconds, fail_next, drop_next,
lose_answer_next (writes applied, then their answer cut; fail_after_lost_answer: the
requests after it answer 500); also
webhook_url, webhook_secret, job_timing (a `JobTiming`), foil_false_refused.

The handle (`SandboxHandle`): `.base_url` (ends with /api/v2: give it to the CardTrader client),
`.control_url` (ends with /_sandbox), `.token` (first token), `.tokens`, `.shared_secret` /
`.shared_secrets[token]`, `.headers(token)`, `.state` (the live `SandboxState`, same process),
sync helpers (`set_faults`, `reset`, `mutate`, `simulate_order`, `requests`, `request_summary`,
`clear_requests`, `set_webhook`, `export`) and async twins for calls that may need the test's
own event loop to answer (`asimulate_order`, `acontrol`): use those when the webhook receiver
runs in the test's loop.

`sandbox` is a ready handle with the defaults: 1,000 products, token "test", seed 1.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from cardtrader_sandbox import SandboxState
from cardtrader_sandbox.server import BackgroundSandbox


class SandboxHandle:
    """A running simulator and the calls tests make to its control surface."""

    def __init__(self, server: BackgroundSandbox, tokens: list[str]) -> None:
        self.server = server
        self.state: SandboxState = server.state
        self.tokens = tokens
        self.token = tokens[0]
        self.root_url = server.url
        self.base_url = f"{server.url}/api/v2"
        self.control_url = f"{server.url}/_sandbox"
        self.shared_secrets = {t: self.state.sellers[t].shared_secret for t in tokens}
        self.shared_secret = self.shared_secrets[self.token]

    def headers(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.token}"}

    def control(self, method: str, path: str, json: Any = None, **params: Any) -> Any:
        answer = httpx.request(
            method, f"{self.control_url}{path}", json=json, params=params, timeout=60
        )
        answer.raise_for_status()
        return answer.json() if answer.content else None

    async def acontrol(self, method: str, path: str, json: Any = None, **params: Any) -> Any:
        async with httpx.AsyncClient(timeout=60) as client:
            answer = await client.request(
                method, f"{self.control_url}{path}", json=json, params=params
            )
        answer.raise_for_status()
        return answer.json() if answer.content else None

    def set_faults(self, **faults: Any) -> Any:
        return self.control("POST", "/faults", faults)

    def reset(self) -> Any:
        return self.control("POST", "/reset")

    def mutate(self, token: str | None = None, **changes: int) -> Any:
        """change_quantity=, change_price=, delete=, add= → the affected product ids."""
        return self.control("POST", "/mutate", {"token": token or self.token, **changes})

    def simulate_order(self, kind: str = "paid", **fields: Any) -> Any:
        """kind: paid | hub_pending | merge | cancel | destroy; fields: product_id, quantity,
        order_id, order_ids, test, webhook_url, token, send_webhook (false: a missed webhook,
        the stock moves and the order is kept but nothing is delivered) → {order, deliveries}."""
        return self.control("POST", "/orders", {"kind": kind, **fields})

    async def asimulate_order(self, kind: str = "paid", **fields: Any) -> Any:
        return await self.acontrol("POST", "/orders", {"kind": kind, **fields})

    def set_webhook(self, url: str | None) -> Any:
        return self.control("PUT", "/webhook", {"url": url})

    def requests(self, token: str | None = None) -> Any:
        return self.control("GET", "/requests", **({"token": token} if token else {}))

    def request_summary(self, token: str | None = None) -> Any:
        params = {"summary": "1", **({"token": token} if token else {})}
        return self.control("GET", "/requests", **params)

    def clear_requests(self) -> None:
        self.control("DELETE", "/requests")

    def export(self, token: str | None = None) -> list[dict[str, Any]]:
        answer = httpx.get(
            f"{self.base_url}/products/export", headers=self.headers(token), timeout=180
        )
        answer.raise_for_status()
        result: list[dict[str, Any]] = answer.json()
        return result


SandboxFactory = Callable[..., SandboxHandle]


@pytest.fixture
def sandbox_factory() -> Iterator[SandboxFactory]:
    started: list[BackgroundSandbox] = []

    def start(
        products: int = 1000, tokens: list[str] | None = None, seed: int = 1, **options: Any
    ) -> SandboxHandle:
        names = list(tokens or ["test"])
        server = BackgroundSandbox(SandboxState(names, products, seed, **options)).start()
        started.append(server)
        return SandboxHandle(server, names)

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def sandbox(sandbox_factory: SandboxFactory) -> SandboxHandle:
    return sandbox_factory()

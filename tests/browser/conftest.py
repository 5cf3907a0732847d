"""The demo stack (`brx-sync demo`'s own wiring: in-memory stores, the CardTrader sandbox over
HTTP, the in-process worker) on free ports in a background thread, and Debian's Chromium
driven by Playwright. The keys are this suite's, so it can mint expired and operator tokens.

Chromium comes from Debian (`apt-get install chromium`; the `browser` nox session does it);
Playwright never downloads a browser here. Without /usr/bin/chromium the suite is skipped.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from brx_app.commands import demo, keys
from brx_app.commands.token import mint_access_token

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
# How long the demo's in-process worker retries a push before it ends failed: longer than the
# CardTrader client's circuit breaker stays open (30 s, plus the 20% jitter of the one backoff),
# so a retry queued once CardTrader is back waits out the breaker and lands; short enough that
# a push to a CardTrader that keeps failing ends `failed` within the test.
RETRY_HORIZON_SECONDS = 40


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Stack:
    api_url: str
    sandbox_url: str
    user_id: str
    private_pem: bytes
    token: str

    def mint(self, **options: Any) -> str:
        return mint_access_token(self.private_pem, self.user_id, **options)

    def sandbox(self, path: str, body: dict[str, Any]) -> Any:
        answer = httpx.post(f"{self.sandbox_url}/_sandbox/{path}", json=body, timeout=10)
        answer.raise_for_status()
        return answer.json()

    def cardtrader_price_cents(self, item: dict[str, Any]) -> int:
        """The price the sandbox (CardTrader) holds for an item's product."""
        product_id = int(item["external_stock_id"])
        answer = httpx.get(
            f"{self.sandbox_url}/api/v2/products/export",
            params={"blueprint_id": item["blueprint_id"]},
            headers={"Authorization": f"Bearer {demo.DEMO_TOKEN}"},
            timeout=10,
        )
        answer.raise_for_status()
        return int(next(p for p in answer.json() if p["id"] == product_id)["price_cents"])

    def api(self, method: str, path: str, **options: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}"}
        return httpx.request(
            method, f"{self.api_url}/api/v1/sync/{path}", headers=headers, timeout=10, **options
        )


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    private_pem, public_pem = keys.generate_rsa_pem()
    args = argparse.Namespace(
        host="127.0.0.1", port=free_port(), sandbox_port=free_port(), products=400
    )
    original = keys.generate_rsa_pem
    keys.generate_rsa_pem = lambda: (private_pem, public_pem)  # the demo's wiring, our keys
    try:
        with pytest.MonkeyPatch.context() as env:
            env.setenv("INPROCESS_RETRY_HORIZON_SECONDS", str(RETRY_HORIZON_SECONDS))
            built, container = demo._build(args)
    finally:
        keys.generate_rsa_pem = original
    loop = asyncio.new_event_loop()
    ready = threading.Event()

    async def main() -> None:
        serving = [asyncio.create_task(s.serve()) for s in built.servers]
        await demo._wait_started(built.servers)
        await demo._register(built, container)
        ready.set()
        await asyncio.gather(*serving)

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    if not ready.wait(60):
        pytest.fail("the demo stack did not start within 60 s")
    yield Stack(built.api_url, built.sandbox_url, built.user_id, private_pem, built.access_token)
    for server in built.servers:
        server.should_exit = True
    thread.join(15)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install -e '.[browser]'")
    sync_playwright = sync_api.sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    context.set_default_timeout(15_000)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    opened.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    yield opened
    context.close()
    assert [e for e in errors if "Failed to load resource" not in e] == []  # no script errors


def shot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    time.sleep(0.2)  # let the last notice finish its layout
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

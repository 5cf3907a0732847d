"""Webhooks to a receiver that lives in the test's own event loop (the async fixture helpers)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.integration.fixtures_sandbox import SandboxHandle

pytestmark = pytest.mark.integration


async def _read_request(reader: asyncio.StreamReader) -> tuple[dict[str, str], bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")[1:]
    headers = {
        k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines if ln)
    }
    body = await reader.readexactly(int(headers["content-length"]))
    return headers, body


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    """A minimal HTTP receiver answering 200 and keeping (headers, raw body) of each POST."""
    received: list[tuple[dict[str, str], bytes]] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received.append(await _read_request(reader))
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}/webhook", received
    server.close()
    await server.wait_closed()


async def test_zero_flow_webhooks_are_signed_and_carry_the_order(
    sandbox: SandboxHandle, receiver: tuple[str, list[tuple[dict[str, str], bytes]]]
) -> None:
    url, received = receiver
    sandbox.set_webhook(url)

    hub = await sandbox.asimulate_order("hub_pending", quantity=1)
    merged = await sandbox.asimulate_order("merge", order_ids=[hub["order"]["id"]])

    bodies = [json.loads(body) for _, body in received]
    assert [b["cause"] for b in bodies] == ["order.create", "order.update", "order.create"]
    assert [b["data"]["state"] for b in bodies] == ["hub_pending", "closed", "paid"]
    assert bodies[2]["object_id"] == merged["order"]["id"]
    for headers, body in received:
        digest = hmac.new(sandbox.shared_secret.encode(), body, hashlib.sha256).digest()
        assert headers["signature"] == base64.b64encode(digest).decode()
    assert all(d["status"] == 200 for d in merged["deliveries"])


async def test_a_delivery_to_a_dead_receiver_is_reported_not_raised(
    sandbox: SandboxHandle,
) -> None:
    outcome = await sandbox.asimulate_order("paid", webhook_url="http://127.0.0.1:9/nothing")

    assert outcome["deliveries"][0]["status"] is None
    assert outcome["deliveries"][0]["error"]


async def test_a_missed_webhook_sale_reaches_cardtrader_but_never_the_receiver(
    sandbox: SandboxHandle, receiver: tuple[str, list[tuple[dict[str, str], bytes]]]
) -> None:
    url, received = receiver
    sandbox.set_webhook(url)
    sold_out, other = sorted(sandbox.export(), key=lambda p: p["quantity"])[-2:]

    missed = await sandbox.asimulate_order(
        "paid", product_id=sold_out["id"], quantity=sold_out["quantity"], send_webhook=False
    )
    heard = await sandbox.asimulate_order("paid", product_id=other["id"], quantity=1)

    assert [json.loads(body)["object_id"] for _, body in received] == [heard["order"]["id"]]
    assert sold_out["id"] not in {p["id"] for p in sandbox.export()}
    async with httpx.AsyncClient(base_url=sandbox.base_url, headers=sandbox.headers()) as api:
        order = (await api.get(f"/orders/{missed['order']['id']}")).json()
        decrement = await api.post(
            f"/products/{sold_out['id']}/increment", json={"delta_quantity": -1}
        )
    assert order["state"] == "paid"
    assert order["order_items"][0]["quantity"] == sold_out["quantity"]
    assert decrement.status_code == 404  # what the shop's confirmation will be told: gone

"""The simulator over real HTTP (uvicorn in a thread): shapes, auth, faults, limits, webhooks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import httpx
import pytest

from tests.integration.fixtures_sandbox import SandboxFactory, SandboxHandle

pytestmark = pytest.mark.integration


def test_export_answers_a_bare_array_of_documented_products(sandbox: SandboxHandle) -> None:
    products = sandbox.export()

    assert len(products) == 1000
    assert {
        "id",
        "name_en",
        "quantity",
        "price_cents",
        "price_currency",
        "properties_hash",
        "blueprint_id",
        "expansion",
        "graded",
        "description",
    } <= set(products[0])


def test_base_url_ends_with_api_v2_and_info_gives_the_shared_secret(
    sandbox: SandboxHandle,
) -> None:
    info = httpx.get(f"{sandbox.base_url}/info", headers=sandbox.headers()).json()

    assert sandbox.base_url.endswith("/api/v2")
    assert info["shared_secret"] == sandbox.shared_secret
    assert len(info["shared_secret"]) == 32


def test_unknown_bearer_gets_401_unauthorized(sandbox: SandboxHandle) -> None:
    answer = httpx.get(f"{sandbox.base_url}/info", headers={"Authorization": "Bearer nope"})

    assert answer.status_code == 401
    assert answer.json()["error_code"] == "unauthorized"


def test_dropped_connection_closes_without_an_answer(sandbox: SandboxHandle) -> None:
    sandbox.set_faults(drop_next=1)

    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(f"{sandbox.base_url}/info", headers=sandbox.headers())
    assert httpx.get(f"{sandbox.base_url}/info", headers=sandbox.headers()).status_code == 200


def test_error_rate_one_gives_500_json_or_502_html(sandbox_factory: SandboxFactory) -> None:
    handle = sandbox_factory(products=10, error_rate=1.0)

    statuses = {
        httpx.get(f"{handle.base_url}/info", headers=handle.headers()).status_code
        for _ in range(20)
    }

    assert statuses == {500, 502}


def test_storm_answers_429_with_the_bare_body_until_reset(sandbox: SandboxHandle) -> None:
    sandbox.set_faults(storm_seconds=30, retry_after="seconds")

    storm = httpx.get(f"{sandbox.base_url}/info", headers=sandbox.headers())
    sandbox.reset()
    after = httpx.get(f"{sandbox.base_url}/info", headers=sandbox.headers())

    assert storm.status_code == 429
    assert storm.json() == {"error": "Too many requests: max 200 requests per 10 seconds"}
    assert storm.headers["retry-after"] == "1"
    assert after.status_code == 200


def test_the_201st_request_in_ten_seconds_is_refused(sandbox: SandboxHandle) -> None:
    with httpx.Client(base_url=sandbox.base_url, headers=sandbox.headers()) as client:
        statuses = [client.get("/info").status_code for _ in range(201)]

    assert statuses[:200] == [200] * 200
    assert statuses[200] == 429
    assert sandbox.request_summary()["max_in_10s"] == 201


def test_jobs_endpoint_allows_one_request_per_second(sandbox: SandboxHandle) -> None:
    with httpx.Client(base_url=sandbox.base_url, headers=sandbox.headers()) as client:
        job = client.post("/products/bulk_destroy", json={"products": [{"id": 1}]}).json()["job"]
        first, second = client.get(f"/jobs/{job}"), client.get(f"/jobs/{job}")

    assert first.status_code == 200
    assert second.status_code == 429
    assert "Retry-After" not in second.headers or second.headers["Retry-After"]


class _Receiver(BaseHTTPRequestHandler):
    received: list[tuple[bytes, str]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((body, self.headers["Signature"]))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Any:
    _Receiver.received = []
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", _Receiver.received
    server.shutdown()


def test_simulated_order_sends_a_webhook_signed_with_the_shared_secret(
    sandbox: SandboxHandle, receiver: Any
) -> None:
    url, received = receiver
    product = sandbox.export()[0]

    outcome = sandbox.simulate_order("paid", product_id=product["id"], quantity=1, webhook_url=url)

    body, signature = received[0]
    expected = base64.b64encode(
        hmac.new(sandbox.shared_secret.encode(), body, hashlib.sha256).digest()
    ).decode()
    assert signature == expected
    assert outcome["deliveries"][0]["status"] == 200
    assert json.loads(body)["object_class"] == "Order"
    assert json.loads(body)["data"]["order_items"][0]["product_id"] == product["id"]


def test_bulk_job_completes_over_real_time_with_results_in_order(sandbox: SandboxHandle) -> None:
    ids = [p["id"] for p in sandbox.export()[:2]]
    items = [{"id": ids[0], "quantity": 9}, {"id": 1}, {"id": ids[1], "price": 1.5}]
    with httpx.Client(base_url=sandbox.base_url, headers=sandbox.headers()) as client:
        job = client.post("/products/bulk_update", json={"products": items}).json()["job"]
        states = []
        while not states or states[-1]["state"] not in ("completed", "unprocessable"):
            time.sleep(1.05)
            states.append(client.get(f"/jobs/{job}").json())

    final = states[-1]
    assert [r["job_index"] for r in final["results"]] == [0, 1, 2]
    assert [r["result"] for r in final["results"]] == ["ok", "error", "ok"]
    assert final["stats"] == {"ok": 2, "warning": 0, "error": 1}

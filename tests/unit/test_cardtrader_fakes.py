"""Shared fakes for the CardTrader unit tests (this module holds no tests of its own):
an in-memory CardTrader behind `httpx.MockTransport`, a fake clock, and a scripted limiter."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from brx_adapters.cardtrader import CardTraderGateway, RetryPolicy
from brx_domain.ports import RateDecision

BASE = "https://ct.test/api/v2"
TOKEN = "secret-token-never-logged"


class FakeClock:
    """Monotonic time that only moves when someone sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class FakeLimiter:
    """Always grants, unless told to deny the next `deny` calls with `retry_after`."""

    def __init__(self, deny: int = 0, retry_after: float = 0.5) -> None:
        self.deny, self.retry_after = deny, retry_after
        self.keys: list[str] = []

    async def try_acquire(self, key: str, capacity: int, per_seconds: float) -> RateDecision:
        self.keys.append(key)
        if self.deny > 0:
            self.deny -= 1
            return RateDecision(False, capacity, 0, self.retry_after)
        return RateDecision(True, capacity, capacity - 1, 0.0)


def product(pid: int, blueprint: int = 16, quantity: int = 4, **extra: Any) -> dict[str, Any]:
    """An export element in CardTrader's documented shape."""
    return {
        "id": pid,
        "name_en": "Tranquil Cove",
        "quantity": quantity,
        "price_cents": 25,
        "price_currency": "EUR",
        "description": "",
        "blueprint_id": blueprint,
        "properties_hash": {"condition": "Near Mint", "mtg_language": "it", "mtg_foil": False},
        "graded": None,
        "user_data_field": "box 12",
        **extra,
    }


@dataclass
class Fault:
    """What to do instead of (or after) serving the next request matching `route`."""

    route: str  # "METHOD /path-regex"
    kind: str  # status code ("500", "429"), "connect", "read_timeout", "html", "apply_then_timeout"
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None  # a JSON body for a status fault (else CardTrader's usual one)


class FakeCardTrader:
    """The subset of CardTrader the client uses, with scripted faults."""

    def __init__(self, products: list[dict[str, Any]] | None = None) -> None:
        self.products = {p["id"]: p for p in products or []}
        self.faults: list[Fault] = []
        self.requests: list[httpx.Request] = []
        self.jobs: dict[str, list[dict[str, Any]]] = {}
        self.next_id = 500

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def count(self, route: str) -> int:
        return sum(1 for r in self.requests if _matches(route, r))

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        fault = next((f for f in self.faults if _matches(f.route, request)), None)
        if fault is not None:
            self.faults.remove(fault)
            if fault.kind == "apply_then_timeout":
                self.route(request)
                raise httpx.ReadTimeout("timed out after the write", request=request)
            return _fault(fault, request)
        return self.route(request)

    def route(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/api/v2")
        for (method, pattern), handler in self._routes().items():
            match = re.fullmatch(pattern, path)
            if match and method == request.method:
                return handler(request, *match.groups())
        return httpx.Response(404, json={"error_code": "not_found", "errors": []})

    def _routes(self) -> dict[tuple[str, str], Callable[..., httpx.Response]]:
        return {
            ("GET", "/info"): lambda r: httpx.Response(
                200, json={"id": 1, "name": "app", "shared_secret": "a" * 32, "user_id": 58213}
            ),
            ("GET", "/products/export"): self._export,
            ("POST", "/products"): self._create,
            ("PUT", r"/products/(\d+)"): self._update,
            ("DELETE", r"/products/(\d+)"): self._delete,
            ("POST", r"/products/(\d+)/increment"): self._increment,
            ("POST", r"/products/bulk_(\w+)"): self._bulk,
            ("GET", r"/jobs/([\w-]+)"): self._job,
        }

    def _bulk(self, request: httpx.Request, kind: str) -> httpx.Response:
        """Each item is ok unless its id is unknown (an error naming the field)."""
        uuid = f"job-{len(self.jobs) + 1}"
        results = []
        for index, item in enumerate(json.loads(request.content)["products"]):
            if "id" in item and item["id"] not in self.products:
                results.append(
                    {"result": "error", "job_index": index, "errors": {"id": ["Product not found"]}}
                )
            else:
                results.append(
                    {"result": "ok", "job_index": index, "product_id": item.get("id", 900 + index)}
                )
        self.jobs[uuid] = results
        return httpx.Response(200, json={"job": uuid})

    def _job(self, request: httpx.Request, uuid: str) -> httpx.Response:
        """Pending on the first poll, completed on the next."""
        polls = self.count(f"GET /jobs/{uuid}")
        results = self.jobs[uuid]
        if polls < 2:
            return httpx.Response(200, json={"uuid": uuid, "state": "pending", "stats": {}})
        stats = {k: sum(r["result"] == k for r in results) for k in ("ok", "warning", "error")}
        body = {"uuid": uuid, "state": "completed", "stats": stats, "results": results}
        return httpx.Response(200, json=body)

    def _export(self, request: httpx.Request) -> httpx.Response:
        wanted = request.url.params.get("blueprint_id")
        items = [
            p for p in self.products.values() if not wanted or p["blueprint_id"] == int(wanted)
        ]
        return httpx.Response(200, content=json.dumps(items).encode())

    def _create(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        same = next((p for p in self.products.values() if _same(p, body)), None)
        if same is not None:  # CardTrader adds to an identical product
            same["quantity"] += body["quantity"]
            return _resource(same)
        self.next_id += 1
        cents = round(body["price"] * 100)
        props = body.get("properties", {})
        created = product(self.next_id, body["blueprint_id"], body["quantity"], price_cents=cents)
        created["properties_hash"] = {"mtg_foil": False, **props}
        self.products[self.next_id] = created
        return _resource(created)

    def _update(self, request: httpx.Request, pid: str) -> httpx.Response:
        if int(pid) not in self.products:
            return httpx.Response(404, json={"error_code": "not_found", "errors": []})
        body = json.loads(request.content)
        self.products[int(pid)]["quantity"] = body["quantity"]
        self.products[int(pid)]["price_cents"] = round(body["price"] * 100)
        return _resource(self.products[int(pid)], warnings=[])

    def _delete(self, request: httpx.Request, pid: str) -> httpx.Response:
        if self.products.pop(int(pid), None) is None:
            return httpx.Response(404, json={"error_code": "not_found", "errors": []})
        return httpx.Response(200, json={"result": "ok"})

    def _increment(self, request: httpx.Request, pid: str) -> httpx.Response:
        found = self.products.get(int(pid))
        if found is None:
            return httpx.Response(404, json={"error_code": "not_found", "errors": []})
        found["quantity"] += json.loads(request.content)["delta_quantity"]
        if found["quantity"] <= 0:
            del self.products[int(pid)]
        return _resource(found)


def _same(existing: dict[str, Any], body: dict[str, Any]) -> bool:
    props = {k: v for k, v in existing["properties_hash"].items() if v is not False}
    wanted = {k: v for k, v in body.get("properties", {}).items() if v is not False}
    return (
        existing["blueprint_id"] == body["blueprint_id"]
        and props == wanted
        and existing["price_cents"] == round(body["price"] * 100)
    )


def _resource(p: dict[str, Any], warnings: Any = None) -> httpx.Response:
    """A write's answer: `price {cents}` and `properties`, unlike the export."""
    resource = {
        "id": p["id"],
        "quantity": p["quantity"],
        "blueprint_id": p["blueprint_id"],
        "price": {"cents": p["price_cents"], "currency": "EUR"},
        "properties": p["properties_hash"],
        "graded": 0,
        "description": None,
    }
    return httpx.Response(
        200, json={"result": "ok", "warnings": warnings or {}, "resource": resource}
    )


def _matches(route: str, request: httpx.Request) -> bool:
    method, pattern = route.split(" ", 1)
    path = request.url.path.removeprefix("/api/v2")
    return method == request.method and re.fullmatch(pattern, path) is not None


def _fault(fault: Fault, request: httpx.Request) -> httpx.Response:
    if fault.kind == "connect":
        raise httpx.ConnectError("connection refused", request=request)
    if fault.kind == "read_timeout":
        raise httpx.ReadTimeout("read timed out", request=request)
    if fault.kind == "html":
        return httpx.Response(200, text="<html><body>Maintenance</body></html>")
    status = int(fault.kind)
    if fault.body is not None:
        return httpx.Response(status, json=fault.body, headers=fault.headers)
    if status == 429:
        body = {"error": "Too many requests: max 200 requests per 10 seconds"}
        return httpx.Response(429, json=body, headers=fault.headers)
    return httpx.Response(status, text="<html><h1>Bad Gateway</h1></html>", headers=fault.headers)


@dataclass
class Harness:
    server: FakeCardTrader
    clock: FakeClock
    limiter: FakeLimiter
    gateway: CardTraderGateway
    observed: list[tuple[str, int | None, float]]
    waits: list[tuple[str, float]]


def harness(
    products: list[dict[str, Any]] | None = None,
    *,
    limiter: FakeLimiter | None = None,
    policy: RetryPolicy | None = None,
    threshold: int = 5,
) -> Harness:
    server, clock = FakeCardTrader(products), FakeClock()
    limiter = limiter or FakeLimiter()
    observed: list[tuple[str, int | None, float]] = []
    waits: list[tuple[str, float]] = []
    http = httpx.AsyncClient(transport=server.transport())
    gateway = CardTraderGateway(
        http,
        base_url=BASE,
        limiter=limiter,
        observer=lambda *call: observed.append(call),
        on_wait=lambda limiter, seconds: waits.append((limiter, seconds)),
        policy=policy or RetryPolicy(),
        breaker_threshold=threshold,
        breaker_cooldown=30.0,
        sleep=clock.sleep,
        clock=clock,
    )
    return Harness(server, clock, limiter, gateway, observed, waits)

"""`brx-sync serve` stopped with SIGTERM in the middle of steady traffic, the way an orchestrator
stops it: a load balancer polling /health/ready keeps sending until it has seen a 503, and a
while after (as real ones do); every request it sent must get its whole answer, those still in
flight when the listener closes included, and the process must exit 0 within drain + grace."""

from __future__ import annotations

import asyncio
import json
import random
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from brx_app.cli import build_parser
from tests.reliability.report import Finding
from tests.reliability.stack import API, Shop, Stack

SERVE = build_parser().parse_args(["serve"])  # the shipped defaults are what is measured
DRAIN, GRACE = float(SERVE.drain_seconds), float(SERVE.grace_seconds)
BALANCER_LAG = DRAIN / 2  # it goes on sending this long after its first 503
PROBE_EVERY = 0.2
CARDTRADER_LATENCY = 2.5  # per CardTrader call: a purchase (a read and a decrement) takes ~5 s
LOOPS = 6  # of each kind, one request at a time each: inventory pages, purchases of 1
STEADY = 5.0  # seconds of traffic before SIGTERM


@dataclass
class Sent:
    kind: str
    sent: float  # time.time(), to compare with the server's log
    answered: float = 0.0
    status: int | None = None
    error: str | None = None


def _drain_over_at(log: str) -> float | None:
    """When the server said its drain was over (the listener closes right after)."""
    for line in log.splitlines():
        if line.startswith("{") and '"drain over' in line:
            return datetime.fromisoformat(json.loads(line)["time"]).timestamp()
    return None


@dataclass
class Traffic:
    """The clients of one API: steady loops of requests, and a balancer that stops them."""

    stack: Stack
    http: httpx.AsyncClient
    shop: Shop
    items: list[int]
    records: list[Sent] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    readiness: int | None = None  # what /health/ready first answered other than 200
    readiness_seen: float = 0.0

    def __post_init__(self) -> None:
        self.auth = self.shop.auth(minutes=30)

    async def _send(self, kind: str, method: str, path: str, **options: Any) -> None:
        record = Sent(kind, time.time())
        self.records.append(record)
        try:
            response = await self.http.request(method, path, headers=self.auth, **options)
            response.json()  # the whole body arrived and is the JSON it says
            record.status = response.status_code
        except (httpx.HTTPError, ValueError) as exc:
            record.error = type(exc).__name__
        record.answered = time.time()

    async def pages(self) -> None:
        while not self.stop.is_set():
            offset = random.randrange(0, len(self.items), 10)
            path = f"{API}/inventory/{self.shop.user_id}?limit=50&offset={offset}"
            await self._send("inventory", "GET", path)

    async def purchases(self) -> None:
        while not self.stop.is_set():
            path = f"{API}/purchase/{self.shop.user_id}/item/{random.choice(self.items)}"
            await self._send("purchase", "POST", path, json={"purchaseQuantity": 1})

    async def balancer(self) -> None:
        async with httpx.AsyncClient(base_url=self.stack.url, timeout=5) as probe:
            while True:
                try:
                    status: int | None = (await probe.get("/health/ready")).status_code
                except httpx.HTTPError:
                    status = None  # refused or reset: not what readiness should say
                if status != 200:
                    self.readiness, self.readiness_seen = status, time.time()
                    break
                await asyncio.sleep(PROBE_EVERY)
        await asyncio.sleep(BALANCER_LAG)
        self.stop.set()

    def answers(self) -> dict[str, int]:
        counted: dict[str, int] = {}
        for r in self.records:
            key = f"{r.kind} {r.status or r.error}"
            counted[key] = counted.get(key, 0) + 1
        return dict(sorted(counted.items()))


async def _refused(url: str) -> bool:
    async with httpx.AsyncClient(base_url=url, timeout=5) as http:
        try:
            await http.get("/health/live")
        except httpx.ConnectError:
            return True
    return False


async def test_sigterm_under_load_answers_every_request_the_balancer_sent(
    own_stack: Callable[..., Awaitable[Stack]], finding: Finding
) -> None:
    finding.describe(
        "API SIGTERM under load",
        f"`brx-sync serve` (defaults: --drain-seconds {DRAIN:g}, --grace-seconds {GRACE:g}) "
        f"under {LOOPS} loops of GET /inventory and {LOOPS} of purchases (CardTrader answering "
        f"each call in {CARDTRADER_LATENCY:g} s); a balancer polls /health/ready every "
        f"{PROBE_EVERY:g} s and stops sending {BALANCER_LAG:g} s after its first 503; SIGTERM "
        f"after {STEADY:g} s of traffic",
        "readiness 503 before the drain is half over; every request sent got its whole answer (no "
        "reset, no 5xx), those in flight when the listener closed included; exit status 0 "
        "within drain + grace; connections refused afterwards",
    )
    stack = await own_stack(env_overrides={"PURCHASE_CARDTRADER_TIMEOUT_SECONDS": "20"})
    async with stack.client() as http:
        shop = await stack.new_shop(http)
        items = [i["id"] for i in await stack.items(http, shop) if i["quantity"] > 0]
        await stack.sandbox.acontrol("POST", "/faults", {"latency_ms": CARDTRADER_LATENCY * 1000})
        traffic = Traffic(stack, http, shop, items)
        loops = [asyncio.create_task(traffic.pages()) for _ in range(LOOPS)]
        loops += [asyncio.create_task(traffic.purchases()) for _ in range(LOOPS)]
        watching = asyncio.create_task(traffic.balancer())
        await asyncio.sleep(STEADY)
        sigterm = time.time()
        stack.api.signal(signal.SIGTERM)
        await asyncio.wait_for(watching, DRAIN + 30)
        await asyncio.wait_for(asyncio.gather(*loops), DRAIN + GRACE + 30)
        code = await asyncio.to_thread(stack.api.wait, DRAIN + GRACE + 30)
        exited_after = time.time() - sigterm
    refused = await _refused(stack.url)

    records, closed = traffic.records, _drain_over_at(stack.api.output())
    failed = [r for r in records if r.error or (r.status or 500) >= 500]
    in_flight = [r for r in records if closed and r.sent < closed < r.answered]
    finding.measure(
        requests=len(records),
        sent_after_sigterm=sum(r.sent >= sigterm for r in records),
        answers=traffic.answers(),
        readiness_after_sigterm=traffic.readiness,
        readiness_503_after_s=traffic.readiness_seen - sigterm,
        last_sent_after_s=max(r.sent for r in records) - sigterm,
        listener_closed_after_s=(closed - sigterm) if closed else None,
        in_flight_at_close=len(in_flight),
        failed=len(failed),
        exit_status=code,
        exited_after_s=exited_after,
    )
    assert not failed, [(r.kind, r.status, r.error, r.sent - sigterm) for r in failed][:10]
    assert traffic.readiness == 503
    # early enough that a balancer this slow has stopped sending before the listener closes
    assert traffic.readiness_seen - sigterm < DRAIN - BALANCER_LAG
    assert sum(r.sent < sigterm and r.status == 200 for r in records) > LOOPS  # steady traffic
    assert sum(r.sent >= sigterm for r in records) > LOOPS  # and answered during the drain
    assert closed is not None and closed - sigterm >= DRAIN - 0.1  # the whole drain, listening
    assert in_flight, "no request was in flight when the listener closed"
    assert code == 0 and exited_after <= DRAIN + GRACE
    assert refused

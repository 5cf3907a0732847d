"""CardTrader's 200 requests / 10 s per token, kept by the deployed service: three shops on one
CardTrader account sell, reconcile and reconnect at once through a 429 storm, and the sandbox, which
counts every request it receives, never sees more than 200 in any 10 s."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable
from typing import Any

import httpx

from tests.processes import wait_for
from tests.reliability.report import Finding
from tests.reliability.stack import API, Stack

BUYS_PER_SHOP = 40  # purchases of 1 unit, each confirmed with CardTrader (a read, a decrement)
RECONCILES_PER_SHOP = 40  # one-blueprint reconciliations: an export request each, by the worker
RECONNECTS_PER_SHOP = 80  # setup-test-user again: a CardTrader /info each, the lightest call
AT_ONCE = 15  # requests of each kind in flight (below the API's Postgres pool)


async def _bounded(calls: list[Awaitable[httpx.Response]]) -> list[httpx.Response]:
    gate = asyncio.Semaphore(AT_ONCE)

    async def one(call: Awaitable[httpx.Response]) -> httpx.Response:
        async with gate:
            return await call

    return await asyncio.gather(*(one(c) for c in calls))


async def test_three_shops_on_one_token_stay_under_200_requests_per_10_s_through_a_storm(
    stack: Stack, finding: Finding
) -> None:
    finding.describe(
        "429 storm, three shops on one CardTrader token",
        f"3 shops on the same CardTrader account, each: {BUYS_PER_SHOP} purchases of 1 unit of "
        f"distinct products, {RECONCILES_PER_SHOP} one-blueprint reconciliations (the worker), "
        f"{RECONNECTS_PER_SHOP} re-connections (CardTrader /info), {AT_ONCE} of each kind in "
        "flight; a 3 s 429 storm from CardTrader once they are under way",
        "every purchase sold and each product down by exactly 1 on CardTrader; the callers had "
        "to wait for rate-limit tokens; the sandbox counts at most 200 requests of the token in "
        "any 10 s window",
    )
    token = stack.take_token()
    async with stack.client() as http:
        shops = [await stack.new_shop(http, token) for _ in range(3)]
        inventory = stack.sandbox.state.sellers[token].inventory
        buys, reconciles, reconnects, wanted = [], [], [], {}
        for n, shop in enumerate(shops):
            # Every shop lists the same products: each buys every third of them in CardTrader's
            # order (local ids follow the order each shop's import wrote its chunks in).
            stocked = sorted((i for i in await stack.items(http, shop) if i["quantity"] > 0),
                             key=lambda i: int(i["external_stock_id"]))  # fmt: skip
            for item in stocked[n::3][:BUYS_PER_SHOP]:
                path = f"{API}/purchase/{shop.user_id}/item/{item['id']}"
                buys.append(http.post(path, json={"purchaseQuantity": 1}, headers=shop.auth()))
                wanted[int(item["external_stock_id"])] = item["quantity"] - 1
            for blueprint in sorted({i["blueprint_id"] for i in stocked})[:RECONCILES_PER_SHOP]:
                reconciles.append(http.post(
                    f"{API}/sync-from-cardtrader/{shop.user_id}?blueprint_id={blueprint}",
                    headers=shop.auth()))  # fmt: skip
            reconnects += [
                http.post(f"{API}/setup-test-user",
                          json={"user_id": shop.user_id, "cardtrader_token": token})
                for _ in range(RECONNECTS_PER_SHOP)
            ]  # fmt: skip
        assert len(wanted) == len(buys)  # no product bought by two shops
        before = await _requests(stack, token)
        started = time.monotonic()
        load = asyncio.gather(_bounded(buys), _bounded(reconciles), _bounded(reconnects))

        async def under_way() -> bool:
            return (await _requests(stack, token))["count"] > before["count"] + 50

        await wait_for(under_way, 30, "the load to reach CardTrader")
        await stack.sandbox.acontrol("POST", "/faults", {"storm_seconds": 3})
        bought, queued, connected = await load

        def quantity(product_id: int) -> int:
            product = inventory.get(product_id)
            return 0 if product is None else product.quantity

        async def all_landed() -> bool:
            return all(quantity(pid) == q for pid, q in wanted.items())

        with contextlib.suppress(AssertionError):  # the assertions below say what differs
            await wait_for(all_landed, 120, "every decrement to reach CardTrader")
        seconds = time.monotonic() - started
        wrong = {pid: (quantity(pid), q) for pid, q in wanted.items() if quantity(pid) != q}
        summary = await _requests(stack, token)
        worker = await http.get(f"http://127.0.0.1:{stack.worker_metrics_port}/metrics")
        waits = {
            "api": _metric((await http.get("/metrics")).text, "brx_rate_limit_waits_total"),
            "worker": _metric(worker.text, "brx_rate_limit_waits_total"),
        }
    answers = {"purchase": bought, "reconcile": queued, "reconnect": connected}
    finding.measure(
        requests_to_the_api={k: _count(v) for k, v in answers.items()},
        sold_later_by_the_worker=sum(
            bool(a.json().get("cardtrader_sync_queued")) for a in bought if a.is_success
        ),
        wrong_quantities=len(wrong),
        cardtrader_requests=summary["count"],
        cardtrader_statuses=summary["statuses"],
        max_in_10s=summary["max_in_10s"],
        waits_for_a_token=waits,
        all_landed_after_s=round(seconds, 1),
    )
    assert {k: set(_count(v)) for k, v in answers.items()} == {
        "purchase": {200}, "reconcile": {202}, "reconnect": {200}}  # fmt: skip
    assert not wrong, wrong
    assert summary["statuses"].get("429", 0) >= 1  # the storm was met
    assert sum(waits.values()) > 0  # the load did press against the limit: callers waited
    assert summary["max_in_10s"] <= 200


async def _requests(stack: Stack, token: str) -> dict[str, Any]:
    summary: dict[str, Any] = await stack.sandbox.acontrol(
        "GET", "/requests", summary=1, token=token
    )
    return summary


def _count(answers: list[httpx.Response]) -> dict[int, int]:
    statuses = [a.status_code for a in answers]
    return {s: statuses.count(s) for s in sorted(set(statuses))}


def _metric(text: str, name: str) -> float:
    """The sum of a Prometheus counter's samples over its labels."""
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith(name) and not line.startswith("#"))  # fmt: skip

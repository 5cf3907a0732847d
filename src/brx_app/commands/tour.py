"""The demo's printed tour (`brx-sync demo --exit-after-sync`): one run through what the service
promises, over real HTTP against the running demo, each step checked and recorded in order.

sync -> a purchase (confirmed with CardTrader) -> the same purchase again under its
Idempotency-Key (replayed, nothing sold twice) -> a buyer's order on CardTrader (signed webhook,
stock drops) -> a sale on CardTrader whose webhook never arrives -> the shop's purchase of that
item is refused (409) and its stock corrected -> the operations that did all this -> status.
Each step uses its own item with units to spare, so no step sells what the next one needs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

POLL_SECONDS, POLL_TRIES = 0.1, 600


@dataclass
class Tour:
    api: httpx.AsyncClient  # the demo's API, with the access token
    sandbox: httpx.AsyncClient  # the sandbox's control surface (/_sandbox)
    base: str  # /api/v1/sync
    user_id: str
    steps: list[dict[str, Any]] = field(default_factory=list)

    def record(self, name: str, ok: bool, **detail: Any) -> bool:
        self.steps.append({"step": name, "ok": ok, **detail})
        return ok

    async def item(self, item: dict[str, Any]) -> dict[str, Any]:
        """The item as the shop shows it now (found by its CardTrader product id)."""
        page = await self.api.get(
            f"{self.base}/inventory/{self.user_id}",
            params={"external_stock_id": item["external_stock_id"]},
        )
        [found] = page.json()["items"]
        return dict(found)

    async def until(self, check: Callable[[], Awaitable[bool]]) -> bool:
        for _ in range(POLL_TRIES):
            if await check():
                return True
            await asyncio.sleep(POLL_SECONDS)
        return False


async def run_tour(
    api: httpx.AsyncClient, sandbox: httpx.AsyncClient, user_id: str
) -> dict[str, Any]:
    tour = Tour(api, sandbox, "/api/v1/sync", user_id)
    out: dict[str, Any] = {}
    out["start"], out["progress"] = await _sync(tour)
    page = (
        await api.get(
            f"{tour.base}/inventory/{user_id}", params={"limit": 100, "sort": "-quantity"}
        )
    ).json()
    out["inventory_total"], out["first_items"] = page.get("total"), page.get("items", [])[:3]
    spare = [i for i in page.get("items", []) if i["quantity"] >= 2 and i["external_stock_id"]]
    if tour.record("pick_items", len(spare) >= 3, item_ids=[i["id"] for i in spare[:3]]):
        bought, ordered, missed = spare[:3]
        out["purchase"] = await _purchase_twice(tour, bought)
        await _order_with_webhook(tour, ordered)
        await _missed_webhook(tour, missed)
    operations = (await api.get(f"{tour.base}/operations/{user_id}", params={"limit": 8})).json()
    out["operations"] = [
        {k: o[k] for k in ("operation_type", "status", "item_id", "last_error")}
        for o in operations.get("items", [])
    ]
    out["status"] = (await api.get(f"{tour.base}/status/{user_id}")).json()
    tour.record("status", out["status"].get("sync_status") == "active", **out["status"])
    out["steps"], out["all_ok"] = tour.steps, all(s["ok"] for s in tour.steps)
    return out


async def _sync(tour: Tour) -> tuple[dict[str, Any], dict[str, Any]]:
    started = await tour.api.post(f"{tour.base}/start/{tour.user_id}")
    progress: dict[str, Any] = {}

    async def finished() -> bool:
        nonlocal progress
        progress = (await tour.api.get(f"{tour.base}/progress/{tour.user_id}")).json()
        return progress.get("status") in ("completed", "failed")

    await tour.until(finished)
    tour.record(
        "sync",
        started.status_code == 202 and progress.get("status") == "completed",
        created=progress.get("created"),
        skipped=progress.get("skipped"),
    )
    return started.json(), progress


async def _purchase_twice(tour: Tour, item: dict[str, Any]) -> dict[str, Any]:
    """A double click: the second request under the same key gets the first answer back."""
    path = f"{tour.base}/purchase/{tour.user_id}/item/{item['id']}"
    key = {"Idempotency-Key": f"demo-purchase-{item['id']}"}
    first = await tour.api.post(path, json={"purchaseQuantity": 1}, headers=key)
    again = await tour.api.post(path, json={"purchaseQuantity": 1}, headers=key)
    after = await tour.item(item)
    tour.record(
        "purchase",
        first.status_code == 200 and first.json().get("cardtrader_confirmed") is True,
        item_id=item["id"],
        remaining_quantity=first.json().get("remaining_quantity"),
    )
    tour.record(
        "purchase_replayed",
        again.status_code == 200
        and again.json() == first.json()
        and again.headers.get("Idempotent-Replayed") == "true"
        and after["quantity"] == item["quantity"] - 1,
        quantity_after=after["quantity"],
    )
    return dict(first.json())


async def _order_with_webhook(tour: Tour, item: dict[str, Any]) -> None:
    """A buyer orders on CardTrader: the signed webhook arrives and the stock drops."""
    answer = await tour.sandbox.post(
        "/orders",
        json={"kind": "paid", "product_id": int(item["external_stock_id"]), "quantity": 1},
    )
    delivered = [d.get("status") for d in answer.json().get("deliveries", [])]

    async def dropped() -> bool:
        return bool((await tour.item(item))["quantity"] == item["quantity"] - 1)

    tour.record(
        "order_webhook",
        answer.status_code == 200 and delivered == [200] and await tour.until(dropped),
        item_id=item["id"],
        quantity_before=item["quantity"],
    )


async def _missed_webhook(tour: Tour, item: dict[str, Any]) -> None:
    """Every unit sells on CardTrader and the webhook never comes: the shop still shows stock,
    but its purchase is refused (409) and the stock corrected to what CardTrader has."""
    sold = await tour.sandbox.post(
        "/orders",
        json={
            "kind": "paid",
            "product_id": int(item["external_stock_id"]),
            "quantity": item["quantity"],
            "send_webhook": False,
        },
    )
    still_listed = (await tour.item(item))["quantity"] == item["quantity"]
    tour.record("missed_webhook", sold.status_code == 200 and still_listed, item_id=item["id"])
    refused = await tour.api.post(
        f"{tour.base}/purchase/{tour.user_id}/item/{item['id']}", json={"purchaseQuantity": 1}
    )
    after = await tour.item(item)
    history = await tour.api.get(f"{tour.base}/inventory/{tour.user_id}/item/{item['id']}/history")
    reasons = [e["reason"] for e in history.json().get("entries", [])]
    tour.record(
        "purchase_refused_and_corrected",
        refused.status_code == 409 and after["quantity"] == 0 and "correction" in reasons,
        status=refused.status_code,
        code=refused.json().get("error", {}).get("code"),
        quantity_after=after["quantity"],
        history=reasons,
    )

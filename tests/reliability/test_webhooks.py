"""Webhooks from outside: one delivery sent 50 times at once changes stock once; a delivery
that is forged, altered or stale is refused with nothing stored."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

from brx_domain.usecases.webhooks import sign
from tests.processes import wait_for
from tests.reliability.report import Finding
from tests.reliability.stack import API, Shop, Stack


async def _stocked_item(stack: Stack, http: Any, shop: Shop, at_least: int = 3) -> dict[str, Any]:
    return next(i for i in await stack.items(http, shop) if i["quantity"] >= at_least)


async def test_a_webhook_sent_50_times_at_once_changes_stock_once(
    stack: Stack, finding: Finding
) -> None:
    finding.describe(
        "Duplicate webhooks",
        "A CardTrader sale of 1 unit; its signed `order.create` posted 50 times concurrently",
        "all 200 with one webhook_id; local stock down by exactly 1; one ledger entry",
    )
    async with stack.client() as http:
        shop = await stack.new_shop(http)
        item = await _stocked_item(stack, http, shop)
        sale = await stack.sell_on_cardtrader(
            shop, int(item["external_stock_id"]), send_webhook=False
        )
        body = sale["deliveries"][0]["body"].encode()
        headers = {"Signature": sign(body, stack.sandbox.shared_secrets[shop.token])}
        path = f"{API}/webhook/user/{shop.user_id}"
        answers = await asyncio.gather(
            *(http.post(path, content=body, headers=headers) for _ in range(50))
        )
        statuses = [a.status_code for a in answers]

        async def applied() -> bool:
            return (await stack.item(http, shop, item["id"]))["quantity"] < item["quantity"]

        seconds = await wait_for(applied, 30, "the sale to be applied")
        await asyncio.sleep(1.0)  # a second application would land within this
        after = await stack.item(http, shop, item["id"])
        entries = await stack.scalar(
            "SELECT count(*) FROM stock_ledger WHERE item_id = $1 AND reason = 'order'",
            item["id"],
        )
    ids = {a.json()["webhook_id"] for a in answers if a.status_code == 200}
    finding.measure(
        deliveries=50,
        statuses=_count(statuses),
        webhook_ids=len(ids),
        quantity=f"{item['quantity']} -> {after['quantity']}",
        ledger_entries=entries,
        applied_after_s=round(seconds, 2),
    )
    assert statuses == [200] * 50 and len(ids) == 1
    assert after["quantity"] == item["quantity"] - 1
    assert entries == 1
    assert stack.sandbox_quantity(shop.token, item["external_stock_id"]) == after["quantity"]


def _count(values: list[int]) -> dict[int, int]:
    return {v: values.count(v) for v in sorted(set(values))}


def _envelope(product_id: int, seconds_ago: float, event: str) -> bytes:
    """A well-formed paid order envelope, `seconds_ago` old (negative: in the future)."""
    return json.dumps(
        {
            "id": event,
            "time": int(time.time() - seconds_ago),
            "cause": "order.create",
            "object_class": "Order",
            "object_id": 1,
            "mode": "live",
            "data": {
                "id": 1,
                "state": "paid",
                "via_cardtrader_zero": False,
                "order_items": [{"id": 1, "product_id": product_id, "quantity": 1}],
            },
        }
    ).encode()


async def test_forged_altered_and_stale_webhooks_are_refused_with_nothing_stored(
    stack: Stack, finding: Finding
) -> None:
    finding.describe(
        "Tampered webhooks",
        "Signed order webhooks with: no signature, a wrong secret, the body altered after "
        "signing, `time` 8 days old, `time` 10 min ahead; then one correct delivery",
        "401 for each tampered one, no delivery row, stock unchanged; the correct one 200",
    )
    async with stack.client() as http:
        shop = await stack.new_shop(http)
        item = await _stocked_item(stack, http, shop)
        product = int(item["external_stock_id"])
        secret = stack.sandbox.shared_secrets[shop.token]
        good = _envelope(product, 0, "evt-good")
        cases = {
            "no signature": (good, None),
            "wrong secret": (good, sign(good, "not-the-secret")),
            "body altered": (good.replace(b'"quantity": 1', b'"quantity": 9'), sign(good, secret)),
            "8 days old": (_envelope(product, 8 * 86400, "evt-old"), None),
            "10 min ahead": (_envelope(product, -600, "evt-future"), None),
        }
        path = f"{API}/webhook/user/{shop.user_id}"
        statuses: dict[str, int] = {}
        for name, (body, signature) in cases.items():
            headers = (
                {} if name == "no signature" else {"Signature": signature or sign(body, secret)}
            )
            answer = await http.post(path, content=body, headers=headers)
            statuses[name] = answer.status_code
            assert answer.headers["content-type"].startswith("application/json")
        await asyncio.sleep(1.0)
        stored = await stack.scalar(
            "SELECT count(*) FROM webhook_deliveries WHERE user_id = $1", uuid.UUID(shop.user_id)
        )
        unchanged = (await stack.item(http, shop, item["id"]))["quantity"]
        accepted = await http.post(path, content=good, headers={"Signature": sign(good, secret)})
    finding.measure(
        statuses=statuses,
        rows_stored=stored,
        quantity=f"{item['quantity']} -> {unchanged}",
        correct_delivery=accepted.status_code,
    )
    assert set(statuses.values()) == {401}, statuses
    assert stored == 0 and unchanged == item["quantity"]
    assert accepted.status_code == 200  # the same envelope, correctly signed, is taken

"""Postgres connections terminated under mixed load: `pg_terminate_backend` on the service's
connections (API and worker, application_name `brx-sync`, its own database only) every few
seconds while shops read their inventory, edit items, buy, and CardTrader sells with a signed
webhook each. No answer is a 500; every sale CardTrader reported is applied once; every job
lands (none ends failed as `dependency_unavailable`); both sides agree afterwards."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable

import httpx

from brx_domain.usecases.webhooks import sign
from tests.integration.fixtures_postgres import keep_terminating
from tests.reliability.report import Finding
from tests.reliability.stack import API, Shop, Stack, wait_for
from tests.reliability.test_stock import _agreed, _buy, _item_at

LOAD_SECONDS = 30.0
KILL_EVERY = 5.0
START = 60  # units of each item bought or sold during the load
UNAVAILABLE = "dependency_unavailable"


async def _for(seconds: float, step: Callable[[], Awaitable[None]], pause: float) -> None:
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        await step()
        await asyncio.sleep(pause)


async def _deliver(http: httpx.AsyncClient, stack: Stack, shop: Shop, body: bytes) -> int:
    """Post a signed webhook until it is acknowledged (a 503 is redelivered, as a sender that
    retries would); how many deliveries it took."""
    headers = {"Signature": sign(body, stack.sandbox.shared_secrets[shop.token])}
    for attempt in range(1, 41):
        answer = await http.post(
            f"{API}/webhook/user/{shop.user_id}", content=body, headers=headers
        )
        if answer.status_code == 200:
            return attempt
        assert answer.status_code == 503, answer.text
        await asyncio.sleep(0.5)
    raise AssertionError("a webhook was never acknowledged")


def _kind(request: str) -> str:
    """`PUT /api/v1/sync/inventory/<user>/item/7` -> `PUT inventory`."""
    method, path = request.split(" ", 1)
    return f"{method} {path.removeprefix(API + '/').split('/')[0]}"


async def test_postgres_connections_terminated_under_load(
    own_stack: Callable[..., Awaitable[Stack]], finding: Finding
) -> None:
    finding.describe(
        "Postgres connections terminated under load",
        f"{LOAD_SECONDS:.0f} s of mixed load (3 readers of GET /inventory, edits, purchases "
        "of 1, CardTrader sales of 1 each with its signed `order.create` posted, redelivered "
        f"on 503); every {KILL_EVERY:.0f} s `pg_terminate_backend` on every connection of the "
        "service (API and worker, its own database only)",
        "no 500 (503 allowed); every acknowledged sale applied once; no operation failed as "
        "`dependency_unavailable` and none left pending; purchases and sales each "
        "counted once on both sides; edits reach CardTrader",
    )
    stack = await own_stack(tokens=["pg-faults-shop"])
    async with stack.client() as http:
        shop = await stack.new_shop(http)
        ids = [await _item_at(stack, http, shop, START, nth) for nth in range(6)]
        edited, bought, sold = ids[:2], ids[2:4], ids[4:6]
        products = {i: int((await stack.item(http, shop, i))["external_stock_id"]) for i in ids}
        stack.answers.clear()
        purchases: Counter[int] = Counter()
        sales: Counter[int] = Counter()
        redelivered = [0]

        async def read() -> None:
            await http.get(f"{API}/inventory/{shop.user_id}?limit=50", headers=shop.auth())

        async def edit() -> None:
            await http.put(
                f"{API}/inventory/{shop.user_id}/item/{random.choice(edited)}",
                json={"quantity": random.randint(1, 30)},
                headers=shop.auth(),
            )

        async def buy() -> None:
            item_id = random.choice(bought)
            if (await _buy(http, shop, item_id)).status_code == 200:
                purchases[item_id] += 1

        async def sell() -> None:
            item_id = random.choice(sold)
            sale = await stack.sell_on_cardtrader(shop, products[item_id], send_webhook=False)
            sales[item_id] += 1
            tries = await _deliver(http, stack, shop, sale["deliveries"][0]["body"].encode())
            redelivered[0] += tries - 1

        killed: list[int] = []
        killer = asyncio.create_task(keep_terminating(stack.postgres_url, KILL_EVERY, killed))
        try:
            await asyncio.gather(
                *(_for(LOAD_SECONDS, read, 0.05) for _ in range(3)),
                _for(LOAD_SECONDS, edit, 0.3),
                _for(LOAD_SECONDS, buy, 0.4),
                _for(LOAD_SECONDS, sell, 0.4),
            )
        finally:
            killer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await killer
        statuses = Counter(a.status for a in stack.answers)
        unavailable = Counter(_kind(a.request) for a in stack.answers if a.status == 503)

        async def settled() -> bool:
            pending = await stack.scalar(
                "SELECT count(*) FROM sync_operations WHERE status = 'pending'"
            )
            return int(pending) == 0

        settled_after = await wait_for(settled, 180, "every operation to finish")
        agreed = {i: await _agreed(stack, http, shop, i) for i in ids}
        failed = await stack.scalar(
            "SELECT count(*) FROM sync_operations WHERE status = 'failed'"
            " AND operation_metadata->>'error' LIKE $1",
            f"{UNAVAILABLE}%",
        )
        orders = await stack.scalar(
            "SELECT count(*) FROM stock_ledger WHERE reason = 'order' AND item_id = ANY($1)",
            sold,
        )
    finding.measure(
        kill_waves=len(killed),
        connections_killed=sum(killed),
        statuses=dict(sorted(statuses.items())),
        answered_503=dict(sorted(unavailable.items())),
        purchases_200=sum(purchases.values()),
        sales=sum(sales.values()),
        webhook_redeliveries=redelivered[0],
        order_entries=orders,
        failed_unavailable=failed,
        settled_after_s=round(settled_after, 1),
        final={i: agreed[i][:2] for i in ids},
    )
    assert len(killed) >= 5 and sum(killed) > 5  # the service's connections really were killed
    assert not {s for s in statuses if s >= 500} - {503}, statuses
    assert statuses[200] > 0
    assert failed == 0
    assert orders == sum(sales.values())  # every acknowledged sale applied, and once
    for i in sold:
        assert agreed[i] == (START - sales[i],) * 3, (i, agreed[i], sales[i])
    for i in bought:
        assert agreed[i] == (START - purchases[i],) * 3, (i, agreed[i], purchases[i])
    for i in edited:
        assert agreed[i][0] == agreed[i][1] == agreed[i][2], (i, agreed[i])

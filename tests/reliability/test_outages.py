"""Parts of the service taken away mid-sync: the worker SIGKILLed and restarted, and the stack's
own Redis killed and started again. Each scenario runs on a stack of its own (nothing else of
the session is in flight) with one large CardTrader account, so a bulk sync takes seconds."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Awaitable, Callable

import httpx

from tests.processes import wait_for
from tests.reliability.report import Finding
from tests.reliability.stack import API, Shop, Stack

PRODUCTS = 6000  # one account's export: 60 chunks of 100, several seconds of sync
KILLS = 2
OUTAGE_SECONDS = float(os.environ.get("BRX_TEST_OUTAGE_SECONDS", "20"))


async def _chunks_beyond(stack: Stack, http: httpx.AsyncClient, shop: Shop, chunks: int) -> int:
    """Wait until the running sync has written more than `chunks` chunks; how many it has."""

    async def further() -> bool:
        progress = await stack.progress(http, shop)
        assert progress["status"] not in ("completed", "failed"), progress  # still mid-sync
        return int(progress["processed_chunks"]) > chunks

    await wait_for(further, 120, f"the sync past chunk {chunks}")
    return int((await stack.progress(http, shop))["processed_chunks"])


async def test_a_worker_sigkilled_twice_mid_sync_ends_like_an_uninterrupted_run(
    own_stack: Callable[..., Awaitable[Stack]], finding: Finding
) -> None:
    finding.describe(
        "Worker SIGKILL mid-sync",
        f"a bulk sync of a {PRODUCTS}-product CardTrader export; the worker SIGKILLed {KILLS} "
        "times while chunks are being written, restarted each time; then a second user on the "
        "same CardTrader account synced without interruption",
        "the sync ends completed with exactly the items (count, quantities, prices, properties) "
        "and the ledger of the uninterrupted run; the user active again",
    )
    stack = await own_stack(tokens=["big-shop"], products=PRODUCTS)
    async with stack.client() as http:
        shop = await stack.connect(http)
        await stack.start_sync(http, shop)
        started, killed_at = time.monotonic(), []
        for _ in range(KILLS):
            chunks = await _chunks_beyond(stack, http, shop, max([0, *killed_at]) + 2)
            stack.worker.kill()
            killed_at.append(chunks)
            stack.restart_worker()
        interrupted = await stack.synced(http, shop, seconds=180)
        seconds = time.monotonic() - started
        calm = await stack.new_shop(http, shop.token)  # the uninterrupted run
        statuses = [await stack.sync_status(http, s) for s in (shop, calm)]
    (items, ledger), (calm_items, calm_ledger) = await stack.stored(shop), await stack.stored(calm)
    finding.measure(
        killed_at_chunk=killed_at,
        chunks=interrupted["total_chunks"],
        sync_s=round(seconds, 1),
        items=len(items),
        ledger_entries=len(ledger),
        same_items=items == calm_items,
        same_ledger=ledger == calm_ledger,
        statuses=statuses,
    )
    assert len(killed_at) == KILLS and max(killed_at) < interrupted["total_chunks"]
    assert interrupted["progress_percent"] == 100
    assert items and items == calm_items
    assert ledger == calm_ledger and len(ledger) == len(items)  # one `sync` entry an item
    assert statuses == ["active", "active"]


async def test_the_stacks_own_redis_killed_mid_sync_is_waited_out(
    own_stack: Callable[..., Awaitable[Stack]], finding: Finding
) -> None:
    finding.describe(
        "Redis of its own killed and restarted mid-sync",
        f"a re-sync of a {PRODUCTS}-product account after 300 quantities changed on CardTrader; "
        f"the stack's own redis-server SIGKILLed once chunks are being written, started again "
        f"{OUTAGE_SECONDS:.0f} s later; during the outage a purchase of 1 unit and the user's "
        "status, every second",
        "the worker never exits; the purchase is sold (its CardTrader decrement queued in the "
        "outbox) and lands on CardTrader within seconds of Redis returning; the user "
        "initial_sync while the sync runs; the sync completed; every item equal to CardTrader "
        "and its ledger summing to its quantity",
    )
    stack = await own_stack(tokens=["outage-shop"], products=PRODUCTS)
    async with stack.client() as http:
        shop = await stack.new_shop(http)
        stack.sandbox.mutate(token=shop.token, change_quantity=300)
        await stack.start_sync(http, shop)
        await _chunks_beyond(stack, http, shop, 2)
        stack.redis.kill()
        item = next(i for i in await stack.items(http, shop) if i["quantity"] >= 2)
        product = int(item["external_stock_id"])
        bought = await http.post(
            f"{API}/purchase/{shop.user_id}/item/{item['id']}",
            json={"purchaseQuantity": 1},
            headers=shop.auth(),
        )
        assert bought.status_code == 200, bought.text
        on_cardtrader = stack.sandbox_quantity(shop.token, product)  # nothing sent meanwhile
        assert on_cardtrader is not None
        seen: list[tuple[str, str]] = []
        alive = []
        outage_ends = time.monotonic() + OUTAGE_SECONDS
        while time.monotonic() < outage_ends:
            seen.append(((await stack.progress(http, shop))["status"],
                         await stack.sync_status(http, shop)))  # fmt: skip
            alive.append(stack.worker.alive())
            await asyncio.sleep(1)
        stack.redis.start()

        async def landed() -> bool:
            return stack.sandbox_quantity(shop.token, product) == on_cardtrader - 1

        sent_after = await wait_for(landed, 60, "the purchase's decrement on CardTrader")
        progress = await stack.synced(http, shop, seconds=120)
        status = await stack.sync_status(http, shop)
    items, _ = await stack.stored(shop)
    remote = {row[0]: stack.sandbox_quantity(shop.token, row[0]) for row in items}
    differ = {row[0]: (row[2], remote[row[0]]) for row in items if row[2] != remote[row[0]]}
    unbalanced = await stack.scalar(
        "SELECT count(*) FROM user_inventory_items i WHERE i.user_id = $1 AND i.quantity <> "
        "(SELECT coalesce(sum(l.delta), 0) FROM stock_ledger l "
        " WHERE l.user_id = i.user_id AND l.item_id = i.id)",
        uuid.UUID(shop.user_id),
    )
    purchase = bought.json()
    finding.measure(
        purchase={k: purchase.get(k) for k in ("cardtrader_confirmed", "cardtrader_sync_queued")},
        statuses_during_outage=sorted(set(seen)),
        worker_alive_throughout=all(alive) and stack.worker.alive(),
        decrement_sent_after_redis_back_s=round(sent_after, 1),
        sync=progress["status"],
        status_after=status,
        items=len(items),
        items_unlike_cardtrader=len(differ),
        items_with_unbalanced_ledger=unbalanced,
    )
    assert all(alive) and stack.worker.alive(), stack.worker.output()[-3000:]
    assert purchase["cardtrader_sync_queued"] is True
    assert seen and all(user == "initial_sync" for sync, user in seen if sync != "completed")
    assert all(user == "active" for sync, user in seen if sync == "completed")
    assert sent_after < 10  # "within seconds": a reconnect (<= 2.4 s) and one re-send
    assert (progress["status"], status) == ("completed", "active")
    assert not differ, differ
    assert unbalanced == 0

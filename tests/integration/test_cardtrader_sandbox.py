"""The CardTrader client against the sandbox over real HTTP, with the Redis token bucket:
shared limits across workers, 429 storms, dropped connections, at-most-once increments."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis

from brx_adapters.cardtrader import CardTraderGateway, CardTraderMarketplace, RetryPolicy
from brx_adapters.cardtrader import export as export_module
from brx_adapters.cardtrader.policy import OVERALL
from brx_adapters.redis import RedisRateLimiter
from brx_domain.errors import MarketplaceOutcomeUnknown
from brx_domain.inventory import Properties
from brx_domain.ports import ProductDraft, RateDecision
from cardtrader_sandbox.limits import most_in_window

pytestmark = pytest.mark.integration

MAGIC_BLUEPRINT = 16 + 7 * 3  # the sandbox catalogue: blueprint number 3 is a Magic single


class Granting:
    """The Redis rate limiter, noting when (epoch seconds, as the sandbox's request log) it
    gave each token."""

    def __init__(self, limiter: RedisRateLimiter) -> None:
        self.limiter = limiter
        self.granted: list[float] = []

    async def try_acquire(self, key: str, capacity: int, per_seconds: float) -> RateDecision:
        decision = await self.limiter.try_acquire(key, capacity, per_seconds)
        if decision.allowed:
            self.granted.append(time.time())
        return decision


class Client:
    """A worker's own HTTP client and Redis connection, limited through the shared bucket."""

    def __init__(self, sandbox: Any, redis_url: str, prefix: str) -> None:
        self.sandbox = sandbox
        self.redis: aioredis.Redis[Any] = aioredis.Redis.from_url(redis_url)
        self.http = httpx.AsyncClient(timeout=httpx.Timeout(10.0))
        self.calls: list[tuple[str, int | None]] = []
        self.limiter = Granting(RedisRateLimiter(self.redis, prefix=prefix))
        self.gateway = CardTraderGateway(
            self.http,
            base_url=sandbox.base_url,
            limiter=self.limiter,
            observer=lambda endpoint, status, seconds: self.calls.append((endpoint, status)),
            policy=RetryPolicy(base=0.2, cap=2.0, total=60.0),
        )

    def market(self) -> CardTraderMarketplace:
        return self.gateway.for_token(self.sandbox.token)

    async def close(self) -> None:
        await self.http.aclose()
        await self.redis.aclose()


@pytest.fixture
async def clients(redis_url: str, redis_prefix: str) -> AsyncIterator[Callable[[Any], Client]]:
    made: list[Client] = []

    def make(sandbox: Any) -> Client:
        made.append(Client(sandbox, redis_url, redis_prefix))
        return made[-1]

    yield make
    for client in made:
        await client.close()


async def control(sandbox: Any, method: str, name: str, **kwargs: Any) -> Any:
    root = sandbox.base_url.removesuffix("/api/v2")
    async with httpx.AsyncClient() as http:
        response = await http.request(method, f"{root}/_sandbox/{name}", **kwargs)
        response.raise_for_status()
        return response.json() if response.content else None


def draft(quantity: int = 3) -> ProductDraft:
    props = Properties.trusted({"condition": "Near Mint", "mtg_language": "en", "mtg_foil": False})
    return ProductDraft(MAGIC_BLUEPRINT, quantity, 150, props, description="sandbox test")


async def test_four_workers_sharing_one_token_never_exceed_200_requests_in_10_seconds(
    sandbox_factory: Any, clients: Callable[[Any], Client]
) -> None:
    sandbox = sandbox_factory(products=50, tokens=["shared-token"], seed=4)
    workers = [clients(sandbox) for _ in range(4)]
    stop_at = time.monotonic() + 12.5

    async def hammer(worker: Client) -> int:
        market, done = worker.market(), 0
        while time.monotonic() < stop_at:
            await market.info()
            done += 1
        return done

    done = await asyncio.gather(*(hammer(w) for w in workers))
    summary = await control(sandbox, "GET", "requests",
                            params={"summary": 1, "token": sandbox.token})  # fmt: skip
    granted = most_in_window(sorted(t for w in workers for t in w.limiter.granted), 10.0)
    burst, per_seconds = OVERALL.bucket_shape()

    # The bucket itself (one atomic script on Redis' clock, so workers cannot race it) never
    # gives more than its shape allows in 10 s; a worker notes a token when Redis' answer
    # reaches it, so answers in flight (one a worker) may bunch up by that many.
    assert granted <= burst + 10 * burst / per_seconds + len(workers), granted
    assert summary["max_in_10s"] <= 200, (summary, granted)
    assert summary["statuses"].get("429", 0) == 0, (summary, granted)
    assert sum(done) >= 180 and all(d > 0 for d in done)  # they did push against the limit


async def test_a_429_storm_is_ridden_out(
    sandbox_factory: Any, clients: Callable[[Any], Client]
) -> None:
    sandbox = sandbox_factory(products=10, tokens=["storm-token"], seed=5)
    client = clients(sandbox)
    await control(sandbox, "POST", "faults", json={"storm_seconds": 3, "retry_after": "seconds"})

    info = await client.market().info()

    statuses = [status for _, status in client.calls]
    assert info.shared_secret == sandbox.shared_secret
    assert statuses[-1] == 200 and statuses.count(429) >= 1


@pytest.mark.parametrize("retry_after", ["absent", "http-date"])
async def test_a_storm_without_or_with_a_dated_retry_after_is_ridden_out_too(
    sandbox_factory: Any, clients: Callable[[Any], Client], retry_after: str
) -> None:
    sandbox = sandbox_factory(products=10, tokens=["storm-token"], seed=6)
    client = clients(sandbox)
    await control(sandbox, "POST", "faults", json={"storm_seconds": 2, "retry_after": retry_after})

    export = await client.market().export_products()

    assert len([p async for p in export]) == 10


async def test_server_errors_and_dropped_connections_are_retried(
    sandbox_factory: Any, clients: Callable[[Any], Client]
) -> None:
    sandbox = sandbox_factory(products=20, tokens=["flaky-token"], seed=7)
    client = clients(sandbox)
    market = client.market()
    products = [p async for p in await market.export_products()]
    await control(sandbox, "POST", "faults", json={"fail_next": 2, "drop_next": 1})

    updated = await market.update_product(products[0].id, draft(quantity=9))

    put_statuses = [status for endpoint, status in client.calls if endpoint == "/products/{id}"]
    assert updated.quantity == 9
    assert len(put_statuses) == 4 and None in put_statuses and put_statuses[-1] == 200


@pytest.mark.parametrize(("fault", "left"), [("drop_next", 5), ("lose_answer_next", 3)])
async def test_an_increment_cut_before_or_after_applying_is_unknown_and_sent_once(
    sandbox_factory: Any, clients: Callable[[Any], Client], fault: str, left: int
) -> None:
    """The client never re-sends an increment: settling it is the domain's (writes.py)."""
    sandbox = sandbox_factory(products=0, tokens=["inc-token"], seed=8)
    market = clients(sandbox).market()
    created = await market.create_product(draft(quantity=5))
    await control(sandbox, "POST", "faults", json={fault: 1})

    with pytest.raises(MarketplaceOutcomeUnknown):
        await market.increment_quantity(created.id, -2)
    listed = await market.find_product(created.id, blueprint_id=MAGIC_BLUEPRINT)

    assert listed is not None and listed.quantity == left
    sent = [r for r in sandbox.requests() if r["path"].endswith("/increment")]
    assert len(sent) == 1


async def test_a_create_whose_answer_was_lost_lists_the_product_once(
    sandbox_factory: Any, clients: Callable[[Any], Client]
) -> None:
    sandbox = sandbox_factory(products=0, tokens=["create-token"], seed=9)
    market = clients(sandbox).market()
    await control(sandbox, "POST", "faults", json={"fail_next": 1})

    created = await market.create_product(draft(quantity=4))
    listed = [p async for p in await market.export_products(blueprint_id=MAGIC_BLUEPRINT)]

    assert [(p.id, p.quantity) for p in listed] == [(created.id, 4)]


async def test_a_large_export_is_streamed_to_its_exact_total(
    sandbox_factory: Any, clients: Callable[[Any], Client]
) -> None:
    sandbox = sandbox_factory(products=5000, tokens=["big-token"], seed=10)
    market = clients(sandbox).market()

    export = await market.export_products()
    ids = {p.id async for p in export}

    assert len(ids) == export.expected_total == 5000


async def test_a_download_reports_its_bytes_as_they_come_and_all_of_them_at_the_end(
    sandbox_factory: Any, clients: Callable[[Any], Client], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export_module, "DOWNLOAD_REPORT_SECONDS", 0.0)  # every piece received
    sandbox = sandbox_factory(products=5000, tokens=["download-token"], seed=11)
    market = clients(sandbox).market()
    reported: list[int] = []

    async def downloaded(size: int) -> None:
        reported.append(size)

    export = await market.export_products(on_download=downloaded)
    async with httpx.AsyncClient() as http:
        url, headers = f"{sandbox.base_url}/products/export", sandbox.headers("download-token")
        body = (await http.get(url, headers=headers)).content

    assert len(reported) > 2 and reported == sorted(reported)
    assert reported[-1] == export.size == len(body)


async def test_a_download_reports_its_first_bytes_before_the_first_interval_is_over(
    sandbox_factory: Any, clients: Callable[[Any], Client], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export_module, "DOWNLOAD_REPORT_SECONDS", 3600.0)
    sandbox = sandbox_factory(products=5000, tokens=["first-bytes-token"], seed=12)
    reported: list[int] = []

    async def downloaded(size: int) -> None:
        reported.append(size)

    export = await clients(sandbox).market().export_products(on_download=downloaded)

    assert len(reported) == 2  # the first piece at once, then all of it at the end
    assert 0 < reported[0] < reported[1] == export.size


async def test_rate_limit_keys_in_redis_never_contain_the_token(
    sandbox_factory: Any, clients: Callable[[Any], Client], redis_prefix: str
) -> None:
    sandbox = sandbox_factory(products=1, tokens=["very-secret-token-value"], seed=12)
    client = clients(sandbox)

    await client.market().info()
    keys = [k.decode() async for k in client.redis.scan_iter(match=redis_prefix + "*")]

    assert keys and all("very-secret-token-value" not in k for k in keys)

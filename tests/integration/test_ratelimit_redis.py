"""The Redis token bucket against a real Redis: the port's contract (tests/contracts/ratelimit.py,
the same suite the in-memory fake passes), atomic under concurrency, refilled by time."""

from __future__ import annotations

import asyncio
import random
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import redis.asyncio as aioredis

from brx_adapters.redis import RedisRateLimiter
from brx_domain.errors import DependencyUnavailable
from tests.contracts.ratelimit import *  # noqa: F403

pytestmark = pytest.mark.integration


@pytest.fixture
def rate_limiter(redis_client: aioredis.Redis[Any], redis_prefix: str) -> RedisRateLimiter:
    return RedisRateLimiter(redis_client, prefix=redis_prefix)


@pytest.fixture
def let_pass() -> Callable[[float], Awaitable[None]]:
    return asyncio.sleep


async def test_a_full_bucket_allows_its_capacity_then_says_how_long_to_wait(
    redis_client: aioredis.Redis[Any], redis_prefix: str
) -> None:
    limiter = RedisRateLimiter(redis_client, prefix=redis_prefix)

    decisions = [await limiter.try_acquire("user-1", 5, 10) for _ in range(6)]

    assert [d.allowed for d in decisions] == [True] * 5 + [False]
    assert decisions[0].remaining == 4 and decisions[0].limit == 5
    assert 1.5 < decisions[-1].retry_after <= 2.0  # 5 tokens per 10 s: one every 2 s


async def test_tokens_come_back_evenly_over_the_period(
    redis_client: aioredis.Redis[Any], redis_prefix: str
) -> None:
    limiter = RedisRateLimiter(redis_client, prefix=redis_prefix)
    for _ in range(10):
        await limiter.try_acquire("k", 10, 1.0)
    emptied = time.monotonic()
    denied = await limiter.try_acquire("k", 10, 1.0)

    await asyncio.sleep(0.25)
    after_wait = [await limiter.try_acquire("k", 10, 1.0) for _ in range(3)]
    elapsed = time.monotonic() - emptied

    assert not denied.allowed
    # 10 tokens per second: 0.25 s refills at least 2; a loaded machine may oversleep, but
    # never more come back than the time that really passed allows (plus the fraction left).
    allowed = sum(d.allowed for d in after_wait)
    assert 2 <= allowed <= min(3, int(elapsed * 10) + 1)


async def test_different_keys_have_their_own_buckets(
    redis_client: aioredis.Redis[Any], redis_prefix: str
) -> None:
    limiter = RedisRateLimiter(redis_client, prefix=redis_prefix)
    await limiter.try_acquire("a", 1, 60)

    other = await limiter.try_acquire("b", 1, 60)
    same = await limiter.try_acquire("a", 1, 60)

    assert other.allowed and not same.allowed


async def test_concurrent_callers_on_separate_connections_never_share_out_more_than_capacity(
    redis_url: str, redis_prefix: str
) -> None:
    clients = [aioredis.Redis.from_url(redis_url) for _ in range(4)]
    limiters = [RedisRateLimiter(c, prefix=redis_prefix) for c in clients]
    try:
        decisions = await asyncio.gather(
            *(limiters[i % 4].try_acquire("shared", 20, 600) for i in range(100))
        )
    finally:
        for client in clients:
            await client.aclose()

    assert sum(d.allowed for d in decisions) == 20


async def test_bucket_keys_live_under_the_prefix_and_expire(
    redis_client: aioredis.Redis[Any], redis_prefix: str
) -> None:
    limiter = RedisRateLimiter(redis_client, prefix=redis_prefix)

    await limiter.try_acquire("expiring", 3, 2.0)

    ttl = await redis_client.pttl(redis_prefix + "expiring")
    assert 0 < ttl <= 3000


async def test_a_nonsense_bucket_is_refused_before_touching_redis(
    redis_client: aioredis.Redis[Any], redis_prefix: str
) -> None:
    limiter = RedisRateLimiter(redis_client, prefix=redis_prefix)

    with pytest.raises(ValueError):
        await limiter.try_acquire("k", 0, 1.0)


async def test_a_redis_that_stops_answering_is_unavailable_not_a_hung_call() -> None:
    """The client has no socket timeout of its own (as the container builds it): the
    limiter's own bound ends the call."""
    silent: list[asyncio.StreamWriter] = []

    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        silent.append(writer)  # reads nothing, answers nothing, keeps the connection open

    server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = aioredis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=2)
    try:
        limiter = RedisRateLimiter(client, prefix="brx:test:silent:", timeout=0.2)
        with pytest.raises(DependencyUnavailable):
            await limiter.try_acquire("k", 5, 1.0)
    finally:
        await client.aclose()
        for writer in silent:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_callers_of_one_key_share_round_trips_and_each_gets_its_own_decision(
    redis_client: aioredis.Redis[Any], redis_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[Any, ...]] = []
    evalsha = redis_client.evalsha

    async def counted(*args: Any) -> Any:
        calls.append(args)
        return await evalsha(*args)  # type: ignore[misc]

    monkeypatch.setattr(redis_client, "evalsha", counted)
    limiter = RedisRateLimiter(redis_client, prefix=redis_prefix)

    decisions = await asyncio.gather(*(limiter.try_acquire("shop", 30, 60) for _ in range(40)))
    other = await limiter.try_acquire("other", 30, 60)

    assert sum(d.allowed for d in decisions) == 30
    assert sorted(d.remaining for d in decisions if d.allowed) == list(range(30))
    assert len(calls) == 3  # the first caller's, the 39 behind it in one, then "other"'s
    assert other.allowed and other.remaining == 29


async def test_callers_arriving_in_waves_are_all_answered(
    redis_client: aioredis.Redis[Any], redis_prefix: str
) -> None:
    """Callers keep arriving while calls end and the next ones start: none is left waiting."""
    limiter = RedisRateLimiter(redis_client, prefix=redis_prefix)
    rng = random.Random(7)

    async def caller(pauses: list[float]) -> int:
        allowed = 0
        for pause in pauses:
            await asyncio.sleep(pause)  # 0 (the next turn of the loop) or up to 0.3 ms
            allowed += (await limiter.try_acquire("busy", 100_000, 60)).allowed
        return allowed

    async with asyncio.timeout(20):
        allowed = await asyncio.gather(
            *(caller([rng.choice([0, rng.random() / 3000]) for _ in range(40)]) for _ in range(25))
        )

    assert sum(allowed) == 1000


async def test_callers_waiting_behind_a_call_fail_with_it_when_redis_is_gone() -> None:
    client = aioredis.Redis(host="127.0.0.1", port=_closed_port(), socket_connect_timeout=1)
    limiter = RedisRateLimiter(client, prefix="brx:test:gone:", timeout=2)
    try:
        outcomes = await asyncio.gather(
            *(limiter.try_acquire("k", 5, 1.0) for _ in range(10)), return_exceptions=True
        )
    finally:
        await client.aclose()

    assert all(isinstance(o, DependencyUnavailable) for o in outcomes), outcomes


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])

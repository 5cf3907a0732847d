"""Contract of the `RateLimiter` port (a token bucket per key), run on the in-memory fake
(tests/unit, a fake clock) and on the Redis adapter (tests/integration, real time).

A module using it provides `rate_limiter` (a fresh limiter) and `let_pass(seconds)`, an async
callable that lets at least that much time pass for the limiter."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from brx_domain.ports import RateLimiter


async def test_a_full_bucket_allows_its_capacity_then_refuses_with_a_wait(
    rate_limiter: RateLimiter,
) -> None:
    decisions = [await rate_limiter.try_acquire("k", 4, 8.0) for _ in range(5)]

    assert [d.allowed for d in decisions] == [True, True, True, True, False]
    assert [d.remaining for d in decisions[:4]] == [3, 2, 1, 0]
    assert all(d.limit == 4 for d in decisions)
    assert decisions[-1].remaining == 0
    assert 0 < decisions[-1].retry_after <= 2.0  # one token every 8 / 4 s
    assert all(d.retry_after == 0 for d in decisions[:4])


async def test_each_key_has_its_own_bucket(rate_limiter: RateLimiter) -> None:
    first = [await rate_limiter.try_acquire("a", 2, 60.0) for _ in range(3)]
    other = await rate_limiter.try_acquire("b", 2, 60.0)

    assert [d.allowed for d in first] == [True, True, False]
    assert other.allowed and other.remaining == 1


async def test_concurrent_callers_never_get_more_than_the_capacity(
    rate_limiter: RateLimiter,
) -> None:
    decisions = await asyncio.gather(*(rate_limiter.try_acquire("k", 7, 60.0) for _ in range(30)))

    assert sum(d.allowed for d in decisions) == 7


async def test_concurrent_callers_get_what_calls_one_after_the_other_would(
    rate_limiter: RateLimiter,
) -> None:
    decisions = await asyncio.gather(*(rate_limiter.try_acquire("k", 6, 60.0) for _ in range(10)))

    allowed = [d for d in decisions if d.allowed]
    refused = [d for d in decisions if not d.allowed]
    assert sorted(d.remaining for d in allowed) == [0, 1, 2, 3, 4, 5]
    assert all(d.retry_after == 0 and d.limit == 6 for d in allowed)
    assert len(refused) == 4
    assert all(d.remaining == 0 and 0 < d.retry_after <= 10.0 for d in refused)


async def test_a_whole_period_refills_the_bucket_but_never_past_its_capacity(
    rate_limiter: RateLimiter, let_pass: Callable[[float], Awaitable[None]]
) -> None:
    for _ in range(5):
        await rate_limiter.try_acquire("k", 5, 0.5)
    assert not (await rate_limiter.try_acquire("k", 5, 0.5)).allowed

    await let_pass(1.0)  # two periods: ten tokens' worth of time, but the bucket holds five
    started = time.monotonic()
    after = [await rate_limiter.try_acquire("k", 5, 0.5) for _ in range(6)]
    elapsed = time.monotonic() - started

    assert all(d.allowed for d in after[:5])
    # a sixth only if a token (0.1 s at 10 per second) really came back during these calls
    assert not after[5].allowed or elapsed >= 0.1

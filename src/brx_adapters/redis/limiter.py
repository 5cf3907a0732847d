"""A token bucket in Redis, shared by every process and replica that uses the same key."""

from __future__ import annotations

import asyncio
import hashlib

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from brx_adapters.shared_calls import SharedCalls
from brx_domain.errors import DependencyUnavailable
from brx_domain.ports import RateDecision

# One atomic script: refill from the elapsed time (Redis' own clock, so replicas with skewed
# clocks agree), then take up to ARGV[3] tokens (as many whole ones as there are) and say how
# long until the next one is there. Floats travel as strings because Redis truncates Lua
# numbers to integers on the way out.
_BUCKET_SCRIPT = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
local capacity = tonumber(ARGV[1])
local per_seconds = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
local rate = capacity / per_seconds
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens = capacity
  ts = now
end
tokens = math.min(capacity, tokens + math.max(0, now - ts) * rate)
local granted = math.max(0, math.min(want, math.floor(tokens)))
tokens = tokens - granted
local retry_after = 0
if granted < want then
  retry_after = (1 - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.9f', tokens),
           'ts', string.format('%.6f', now))
redis.call('PEXPIRE', KEYS[1], math.ceil(per_seconds * 1000) + 1000)
return {granted, tostring(tokens), tostring(retry_after)}
"""


def hashed(secret: str, length: int = 16) -> str:
    """A stable, non-reversible key part for a secret (a CardTrader token never enters Redis)."""
    return hashlib.sha256(secret.encode()).hexdigest()[:length]


TIMEOUT_SECONDS = 5.0


class RedisRateLimiter:
    """`RateLimiter` port: `capacity` tokens refilled evenly over `per_seconds`, one per call.

    Callers of one key in this process share round trips (`SharedCalls`): later callers go
    together as one call that takes as many tokens as they are, each getting the decision calls
    one by one would have, in arrival order. A shop's concurrent requests are one user's, so one
    key's: with 50 in flight, every request's own script call was a fifth of the inventory
    page's cost (docs/benchmarks.md).

    Each call is bounded by `timeout` as a whole (a Redis that stops answering is
    DependencyUnavailable, not a hung request); give the client no `socket_timeout` of its
    own: on Python 3.11 redis-py bounds each write with `asyncio.wait_for`, a task per command,
    and that doubled the limiter's CPU per call (about 140-185 against 75-85 us for a plain
    command). A call cut short by the timeout leaves no half-read answer behind: redis-py
    closes a connection interrupted mid-command."""

    def __init__(
        self, redis: aioredis.Redis, *, prefix: str = "brx:rl:", timeout: float = TIMEOUT_SECONDS
    ) -> None:
        self._redis = redis
        self._prefix = prefix
        self._timeout = timeout
        self._script = redis.register_script(_BUCKET_SCRIPT)
        self._calls: SharedCalls[str, tuple[int, float], RateDecision] = SharedCalls(self._take)

    async def try_acquire(self, key: str, capacity: int, per_seconds: float) -> RateDecision:
        if capacity < 1 or per_seconds <= 0:
            raise ValueError("capacity must be >= 1 and per_seconds > 0")
        return await self._calls.call(key, (capacity, per_seconds))

    async def _take(self, key: str, shapes: list[tuple[int, float]]) -> list[RateDecision]:
        """The decisions these calls one after the other would get, in one round trip (the
        bucket's shape is the first caller's: one key is one configured limit)."""
        (capacity, per_seconds), want = shapes[0], len(shapes)
        try:
            async with asyncio.timeout(self._timeout):
                raw = await self._script(
                    keys=[self._prefix + key], args=[capacity, repr(per_seconds), want]
                )
        except (RedisError, TimeoutError) as exc:
            raise DependencyUnavailable("the rate limiter's Redis is unavailable") from exc
        granted, tokens, retry_after = int(raw[0]), int(float(raw[1])), float(raw[2])
        allowed = [
            RateDecision(
                allowed=True, limit=capacity, remaining=tokens + granted - n, retry_after=0.0
            )
            for n in range(1, granted + 1)
        ]
        refused = RateDecision(
            allowed=False, limit=capacity, remaining=0, retry_after=max(0.0, retry_after)
        )
        return allowed + [refused] * (want - granted)

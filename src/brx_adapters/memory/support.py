"""Small fakes: catalogue, rate limiter, clock and ids. PUBLIC API for other services' tests."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from brx_domain.errors import DependencyUnavailable
from brx_domain.ports import Clock, RateDecision

EPOCH = datetime(2024, 1, 1, tzinfo=UTC)


class MemoryCatalogue:
    """`BlueprintCatalogue` over a set; `None` accepts every blueprint (no MySQL configured).
    `lookups` records each batch asked for, so tests can check one lookup per chunk;
    `fail_next(n)` makes the next n lookups fail as if MySQL were down."""

    def __init__(self, known: set[int] | None = None) -> None:
        self.known_ids = known
        self.lookups: list[frozenset[int]] = []
        self._fail = 0

    def fail_next(self, n: int = 1) -> None:
        self._fail += n

    async def known(self, blueprint_ids: Collection[int]) -> set[int]:
        if self._fail > 0:
            self._fail -= 1
            raise DependencyUnavailable("the card catalogue is unavailable (simulated)")
        asked = frozenset(blueprint_ids)
        self.lookups.append(asked)
        return set(asked) if self.known_ids is None else set(asked & self.known_ids)


class FakeClock:
    """`Clock` that moves only when told to (timezone-aware UTC)."""

    def __init__(self, start: datetime = EPOCH) -> None:
        if start.tzinfo is None:
            raise ValueError("FakeClock needs a timezone-aware start")
        self.current = start

    def now(self) -> datetime:
        return self.current

    def set(self, when: datetime) -> None:
        self.current = when

    def advance(self, seconds: float = 0, **delta: float) -> datetime:
        """`advance(5)` or `advance(minutes=2)`; returns the new time."""
        self.current += timedelta(seconds=seconds, **delta)
        return self.current


class SequentialIds:
    """`IdSource` of predictable ids (`op-1`, `op-2` ...) so tests can name them."""

    def __init__(self, prefix: str = "op-") -> None:
        self.prefix = prefix
        self.issued = 0

    def new_id(self) -> str:
        self.issued += 1
        return f"{self.prefix}{self.issued}"


@dataclass
class _Bucket:
    tokens: float
    at: datetime


class MemoryRateLimiter:
    """`RateLimiter`: a token bucket per key over an injected clock (one process only)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.buckets: dict[str, _Bucket] = {}

    async def try_acquire(self, key: str, capacity: int, per_seconds: float) -> RateDecision:
        now = self.clock.now()
        rate = capacity / per_seconds
        bucket = self.buckets.setdefault(key, _Bucket(float(capacity), now))
        elapsed = max((now - bucket.at).total_seconds(), 0.0)
        bucket.tokens = min(float(capacity), bucket.tokens + elapsed * rate)
        bucket.at = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return RateDecision(True, capacity, int(bucket.tokens), 0.0)
        return RateDecision(False, capacity, 0, (1 - bucket.tokens) / rate)


__all__ = ["EPOCH", "FakeClock", "MemoryCatalogue", "MemoryRateLimiter", "SequentialIds"]

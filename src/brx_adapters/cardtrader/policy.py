"""The client's pacing rules: CardTrader's rate limits, retry backoff, and the circuit breaker."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


@dataclass(frozen=True)
class Limit:
    """At most `requests` per `window` seconds, as CardTrader counts them."""

    bucket: str
    requests: int
    window: float
    safety: float = 0.95  # stay a little under: network jitter can bunch requests up

    def bucket_shape(self) -> tuple[int, float]:
        """(capacity, per_seconds) of a token bucket that never lets more than the limit into
        any sliding window: burst + refill * window <= requests * safety."""
        allowed = max(1, int(self.requests * self.safety))
        burst = max(1, allowed // 10)
        rate = (allowed - burst) / self.window if allowed > burst else allowed / self.window
        return burst, burst / rate


OVERALL = Limit("all", 200, 10.0)
JOBS = Limit("jobs", 1, 1.0)
MARKETPLACE = Limit("marketplace", 10, 1.0)


def limits_for(path: str) -> tuple[Limit, ...]:
    """The narrow bucket first: a token of `all` is not spent when the narrow one is empty."""
    if path.startswith("/jobs"):
        return (JOBS, OVERALL)
    if path.startswith("/marketplace"):
        return (MARKETPLACE, OVERALL)
    return (OVERALL,)


@dataclass(frozen=True)
class RetryPolicy:
    """Retries inside one call: the service's one backoff (`brx_domain.retry.backoff`) from
    `base` up to `cap`, within a bounded total time; then the typed error goes to the job."""

    base: float = 0.5
    cap: float = 20.0
    total: float = 90.0  # give up (typed error) once this much time has gone by
    max_attempts: int = 12
    rate_wait: float = 60.0  # longest wait for a rate-limiter token before failing


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """`Retry-After` as delta-seconds or an HTTP-date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class CircuitBreaker:
    """Counts consecutive 5xx / network failures of one token; opens for a cool-down, then
    lets a single probe through (half-open) whose outcome closes or re-opens it."""

    def __init__(
        self,
        *,
        threshold: int = 5,
        cooldown: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.threshold, self.cooldown, self._clock = threshold, cooldown, clock
        self.failures = 0
        self.opened_at: float | None = None
        self.last_failure: str | None = None  # CardTrader's last error, for the jobs it defers
        self._probing = False

    @property
    def state(self) -> str:
        if self.opened_at is None:
            return "closed"
        if self._clock() - self.opened_at < self.cooldown or self._probing:
            return "open"
        return "half_open"

    def allow(self) -> bool:
        """True when a call may go out; in half-open only the first caller gets to probe."""
        state = self.state
        if state == "closed":
            return True
        if state == "half_open":
            self._probing = True
            return True
        return False

    def record_success(self) -> None:
        self.failures, self.opened_at, self._probing = 0, None, False
        self.last_failure = None

    def abandon(self) -> None:
        """A probe that ended without an answer (cancelled): let the next caller probe."""
        self._probing = False

    def record_failure(self, reason: str | None = None) -> None:
        self.failures += 1
        self.last_failure = reason or self.last_failure
        if self._probing or self.failures >= self.threshold:
            self.opened_at, self._probing = self._clock(), False

    def retry_in(self) -> float:
        """Seconds until a caller may probe (a probe already under way takes about a second)."""
        if self.opened_at is None:
            return 0.0
        return max(1.0 if self._probing else 0.0, self.opened_at + self.cooldown - self._clock())

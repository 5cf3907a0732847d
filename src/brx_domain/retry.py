"""The one retry rule. Whether a failure is worth retrying is a property of the error
(`DomainError.transient`); how long to wait is `backoff` (capped exponential with jitter, never
sooner than the `retry_after` the error carries); when to stop is a time horizon, not a count
of tries, so a job deferred while CardTrader's circuit is open spends nothing but time.

The arq worker, the in-process worker and the CardTrader client all wait with `backoff`.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from brx_domain.errors import DomainError

Jitter = Callable[[], float]  # a float in [0, 1)


def backoff(
    attempt: int,
    *,
    base: float,
    cap: float,
    retry_after: float | None = None,
    jitter: Jitter = random.random,
) -> float:
    """Seconds to wait after failed attempt number `attempt` (1 for the first failure):
    `base * 2**(attempt-1)`, at most `cap`, spread by up to +20% so retries of many callers do
    not arrive together. A known `retry_after` replaces the exponential step and is waited for
    in full (plus the same spread), even beyond `cap`: trying sooner is sure to fail, and the
    caller's own horizon decides whether waiting that long is worth it."""
    exponent = min(max(attempt, 1) - 1, 60)  # 2**60 * base is beyond any cap
    delay = min(cap, base * 2.0**exponent) if retry_after is None else retry_after
    return delay * (1.0 + 0.2 * jitter())


@dataclass(frozen=True)
class RetryRule:
    """Back off from `base` up to `cap` seconds; give up once the next try would start more
    than `horizon` seconds after the first one."""

    base: float = 2.0
    cap: float = 300.0
    horizon: float = 6 * 3600.0

    def next_delay(
        self, exc: BaseException, attempt: int, elapsed: float, jitter: Jitter = random.random
    ) -> float | None:
        """Seconds until the next try of a job whose `attempt`-th try failed with `exc`
        `elapsed` seconds after its first try started; None to give up now. Only the error
        decides whether to retry: anything but a transient domain error (a bug, an unknown job)
        would fail the same way again."""
        if not (isinstance(exc, DomainError) and exc.transient):
            return None
        delay = backoff(
            attempt, base=self.base, cap=self.cap, retry_after=exc.retry_after, jitter=jitter
        )
        if elapsed + delay > self.horizon:
            return None
        return delay

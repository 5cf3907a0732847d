"""The `MarketplaceGateway`: one shared HTTP client, one circuit breaker per token."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable

import httpx

from brx_adapters.cardtrader.client import CardTraderMarketplace
from brx_adapters.cardtrader.policy import CircuitBreaker, RetryPolicy
from brx_adapters.cardtrader.transport import Channel, Observer, WaitObserver
from brx_domain.ports import RateLimiter

EXPORT_TIMEOUT = httpx.Timeout(30.0, read=180.0)  # big exports take minutes to start


def token_key(token: str) -> str:
    """What stands for a token in rate-limit keys and breaker maps (never the token)."""
    return hashlib.sha256(token.encode()).hexdigest()[:16]


class CardTraderGateway:
    """Hands out a `CardTraderMarketplace` per seller token; they share the HTTP client,
    the rate limiter (hence the limits across processes) and the token's circuit breaker."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str,
        limiter: RateLimiter,
        observer: Observer | None = None,
        on_wait: WaitObserver | None = None,
        policy: RetryPolicy | None = None,
        breaker_threshold: int = 5,
        breaker_cooldown: float = 30.0,
        export_timeout: httpx.Timeout = EXPORT_TIMEOUT,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http, self._base_url, self._limiter = http, base_url, limiter
        self._observer, self._policy = observer, policy or RetryPolicy()
        self._on_wait = on_wait
        self._threshold, self._cooldown = breaker_threshold, breaker_cooldown
        self._export_timeout = export_timeout
        self._sleep, self._clock = sleep, clock
        self._breakers: dict[str, CircuitBreaker] = {}

    def breaker(self, token: str) -> CircuitBreaker:
        key = token_key(token)
        if key not in self._breakers:
            self._breakers[key] = CircuitBreaker(
                threshold=self._threshold, cooldown=self._cooldown, clock=self._clock
            )
        return self._breakers[key]

    def for_token(self, token: str) -> CardTraderMarketplace:
        channel = Channel(
            self._http,
            base_url=self._base_url,
            token=token,
            token_key=token_key(token),
            limiter=self._limiter,
            breaker=self.breaker(token),
            policy=self._policy,
            observer=self._observer,
            on_wait=self._on_wait,
            sleep=self._sleep,
            clock=self._clock,
        )
        return CardTraderMarketplace(channel, export_timeout=self._export_timeout)

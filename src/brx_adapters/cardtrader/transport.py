"""One seller's channel to CardTrader: shared rate limits, circuit breaker, metrics, retries."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import httpx

from brx_adapters.cardtrader.codec import UnexpectedAnswer, error_for
from brx_adapters.cardtrader.policy import (
    CircuitBreaker,
    RetryPolicy,
    limits_for,
    parse_retry_after,
)
from brx_domain.errors import (
    MarketplaceError,
    MarketplaceOutcomeUnknown,
    MarketplaceRateLimited,
    MarketplaceUnavailable,
)
from brx_domain.ports import RateLimiter
from brx_domain.retry import backoff

T = TypeVar("T")
Observer = Callable[[str, int | None, float], None]
WaitObserver = Callable[[str, float], None]  # (limiter, seconds waited for a request slot)
Exchange = Callable[[], Awaitable[httpx.Response]]

# Failures after which the request certainly never reached CardTrader.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class OutcomeUnknown(MarketplaceOutcomeUnknown):
    """A non-idempotent write may or may not have been applied (timeout, 5xx, cut answer)."""


class CircuitOpen(MarketplaceUnavailable):
    """This token's circuit is open: failing fast instead of adding load to a sick API. It
    carries `retry_after` (until the breaker lets a probe through), so the job is deferred
    until then, and CardTrader's last error, so a job that gives up shows it."""


class _Failure(MarketplaceUnavailable):
    """A 5xx or network failure of one attempt; `sent` says whether CardTrader may have acted."""

    def __init__(self, message: str, *, sent: bool) -> None:
        super().__init__(message)
        self.sent = sent


class Channel:
    """Every HTTP call for one token goes through `call`, attempt by attempt."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str,
        token: str,
        token_key: str,
        limiter: RateLimiter,
        breaker: CircuitBreaker,
        policy: RetryPolicy,
        observer: Observer | None = None,
        on_wait: WaitObserver | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._on_wait = on_wait
        self.http, self.base_url = http, base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        self._key, self._limiter, self.breaker = token_key, limiter, breaker
        self.policy, self._observer, self._sleep, self._clock = policy, observer, sleep, clock

    def request(self, method: str, path: str, **kwargs: object) -> httpx.Request:
        """A request with the token attached (the token never leaves this object otherwise)."""
        return self.http.build_request(
            method,
            self.base_url + path,
            headers=self._headers,
            **kwargs,  # type: ignore[arg-type]
        )

    async def send(
        self,
        method: str,
        template: str,
        path: str,
        parse: Callable[[httpx.Response], T],
        *,
        json: object = None,
        params: dict[str, object] | None = None,
        idempotent: bool = True,
    ) -> T:
        """One JSON call; see `call` for what is retried."""

        async def exchange() -> httpx.Response:
            request = self.request(method, path, json=json, params=params)
            return await self.http.send(request)

        return await self.call(template, path, exchange, parse, idempotent=idempotent)

    async def call(
        self,
        template: str,
        path: str,
        exchange: Exchange,
        parse: Callable[[httpx.Response], T],
        *,
        idempotent: bool = True,
    ) -> T:
        """Retry 429 always, 5xx and network failures only when repeating is harmless;
        a non-idempotent write whose outcome is unknown raises OutcomeUnknown instead."""
        deadline = self._clock() + self.policy.total
        attempt = 0
        while True:
            try:
                return await self._attempt(template, path, exchange, parse)
            except MarketplaceRateLimited as exc:
                last: MarketplaceError = exc
            except _Failure as exc:
                if exc.sent and not idempotent:
                    raise OutcomeUnknown(exc.message) from exc
                last = MarketplaceUnavailable(exc.message)
            attempt += 1
            delay = backoff(
                attempt, base=self.policy.base, cap=self.policy.cap, retry_after=last.retry_after
            )
            if attempt >= self.policy.max_attempts or self._clock() + delay > deadline:
                raise last
            await self._sleep(delay)

    async def _attempt(
        self, template: str, path: str, exchange: Exchange, parse: Callable[[httpx.Response], T]
    ) -> T:
        if self.breaker.state == "open":
            raise self._open()
        await self._acquire(path)  # before claiming the half-open probe: this may wait or fail
        if not self.breaker.allow():
            raise self._open()
        started = self._clock()
        try:
            response = await exchange()
        except asyncio.CancelledError:
            self.breaker.abandon()
            raise
        except httpx.TransportError as exc:
            self._observe(template, None, started)
            message = f"CardTrader {template}: {type(exc).__name__}"
            self.breaker.record_failure(message)
            raise _Failure(message, sent=not isinstance(exc, _NOT_SENT)) from exc
        self._observe(template, response.status_code, started)
        return self._judge(template, response, parse)

    def _open(self) -> CircuitOpen:
        wait = self.breaker.retry_in()
        cause = self.breaker.last_failure or "repeated failures"
        return CircuitOpen(
            f"CardTrader circuit open for this token after {cause}",  # when: `retry_after`
            retry_after=wait,
        )

    def _judge(
        self, template: str, response: httpx.Response, parse: Callable[[httpx.Response], T]
    ) -> T:
        """Status → outcome; a 2xx that cannot be read counts as a server failure."""
        status = response.status_code
        if 200 <= status < 300:
            try:
                value = parse(response)
            except UnexpectedAnswer as exc:
                self.breaker.record_failure(exc.message)
                raise _Failure(exc.message, sent=True) from exc
            self.breaker.record_success()
            return value
        if status >= 500:
            message = error_for(response, template, None).message
            self.breaker.record_failure(message)
            raise _Failure(message, sent=True)
        self.breaker.record_success()  # the API answered: it is up, whatever it said
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        raise error_for(response, template, retry_after)

    async def _acquire(self, path: str) -> None:
        """Wait for a token of every bucket the path counts against (shared via the limiter)."""
        for limit in limits_for(path):
            capacity, per_seconds = limit.bucket_shape()
            key = f"ct:{self._key}:{limit.bucket}"
            waited = 0.0
            while True:
                decision = await self._limiter.try_acquire(key, capacity, per_seconds)
                if decision.allowed:
                    break
                delay = decision.retry_after + random.uniform(0, 0.01 + decision.retry_after / 4)  # noqa: S311
                if waited + delay > self.policy.rate_wait:
                    raise MarketplaceRateLimited(
                        f"CardTrader {limit.bucket} limit: no request slot within "
                        f"{self.policy.rate_wait:.0f}s",
                        decision.retry_after,
                    )
                await self._sleep(delay)
                waited += delay
            if waited and self._on_wait is not None:
                with contextlib.suppress(Exception):  # metrics must never break a call
                    self._on_wait(f"cardtrader_{limit.bucket}", waited)

    def _observe(self, template: str, status: int | None, started: float) -> None:
        if self._observer is not None:
            with contextlib.suppress(Exception):  # metrics must never break a call
                self._observer(template, status, self._clock() - started)

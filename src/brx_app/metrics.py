"""The Prometheus registry and every metric of the service, with small helpers to record them.

Labels are bounded sets (route templates, endpoint names, outcomes): never a user id, item id or
token, so cardinality stays fixed however many shops use the service.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    gc_collector,
    generate_latest,
    platform_collector,
    process_collector,
)

REGISTRY = CollectorRegistry(auto_describe=True)
process_collector.ProcessCollector(registry=REGISTRY)
platform_collector.PlatformCollector(registry=REGISTRY)
gc_collector.GCCollector(registry=REGISTRY)

_LATENCY = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
_SLOW = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 180)

HTTP_REQUESTS = Counter(
    "brx_http_requests_total",
    "HTTP requests answered",
    ["method", "route", "status"],
    registry=REGISTRY,
)
HTTP_LATENCY = Histogram(
    "brx_http_request_duration_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=_LATENCY,
    registry=REGISTRY,
)
CARDTRADER_CALLS = Counter(
    "brx_cardtrader_calls_total",
    "Calls to the CardTrader API",
    ["endpoint", "status"],
    registry=REGISTRY,
)
CARDTRADER_LATENCY = Histogram(
    "brx_cardtrader_call_duration_seconds",
    "CardTrader call latency",
    ["endpoint"],
    buckets=_SLOW,
    registry=REGISTRY,
)
RATE_LIMIT_WAITS = Counter(
    "brx_rate_limit_waits_total",
    "Times a caller had to wait for a rate-limit token",
    ["limiter"],
    registry=REGISTRY,
)
RATE_LIMIT_WAIT_SECONDS = Histogram(
    "brx_rate_limit_wait_seconds",
    "Time spent waiting for a rate-limit token",
    ["limiter"],
    buckets=_SLOW,
    registry=REGISTRY,
)
INBOUND_RATE_LIMITED = Counter(
    "brx_inbound_rate_limited_total", "API requests refused with 429", registry=REGISTRY
)
RATE_LIMITER_ERRORS = Counter(
    "brx_rate_limiter_errors_total",
    "Rate-limit checks that failed (limiter down) and were let through",
    registry=REGISTRY,
)
SYNC_DURATION = Histogram(
    "brx_sync_duration_seconds",
    "Duration of sync jobs",
    ["kind", "outcome"],
    buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1200, 3600),
    registry=REGISTRY,
)
SYNC_ITEMS = Counter(
    "brx_sync_items_total",
    "Products handled by sync jobs",
    ["kind", "result"],
    registry=REGISTRY,
)
WEBHOOKS = Counter(
    "brx_webhooks_total", "Webhook deliveries by outcome", ["outcome"], registry=REGISTRY
)
PUSH_FAILURES = Counter(
    "brx_push_failures_total",
    "Pushes to CardTrader that ended failed after their last retry",
    ["kind"],
    registry=REGISTRY,
)
QUEUE_DEPTH = Gauge(
    "brx_queue_depth", "Jobs waiting per queue (sampled at scrape)", ["queue"], registry=REGISTRY
)
DB_POOL_SIZE = Gauge(
    "brx_db_pool_size", "Connections the pool keeps open (its size)", ["pool"], registry=REGISTRY
)
DB_POOL_MAX_OVERFLOW = Gauge(
    "brx_db_pool_max_overflow",
    "Connections the pool may open beyond its size under load",
    ["pool"],
    registry=REGISTRY,
)
DB_POOL_IN_USE = Gauge(
    "brx_db_pool_in_use",
    "Connections checked out of the pool (sampled at scrape); usage = in_use / (size + max)",
    ["pool"],
    registry=REGISTRY,
)
DB_POOL_OVERFLOW = Gauge(
    "brx_db_pool_overflow",
    "Connections open beyond the pool size right now (never negative)",
    ["pool"],
    registry=REGISTRY,
)

SYNC_COUNTERS = ("created", "updated", "unchanged", "skipped", "deleted", "failed")


def observe_cardtrader_call(endpoint: str, status: int | None, seconds: float) -> None:
    """The CardTrader client's observer: `status` None means no answer (network, timeout)."""
    CARDTRADER_CALLS.labels(endpoint, str(status) if status is not None else "error").inc()
    CARDTRADER_LATENCY.labels(endpoint).observe(seconds)


def observe_rate_limit_wait(limiter: str, seconds: float) -> None:
    RATE_LIMIT_WAITS.labels(limiter).inc()
    RATE_LIMIT_WAIT_SECONDS.labels(limiter).observe(seconds)


def observe_sync(kind: str, outcome: str, seconds: float, counts: Mapping[str, int]) -> None:
    """One finished sync job: its duration and the products it created, updated, skipped..."""
    SYNC_DURATION.labels(kind, outcome).observe(seconds)
    for name in SYNC_COUNTERS:
        if counts.get(name):
            SYNC_ITEMS.labels(kind, name).inc(counts[name])


def observe_webhook(outcome: str) -> None:
    WEBHOOKS.labels(outcome).inc()


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    HTTP_REQUESTS.labels(method, route, str(status)).inc()
    HTTP_LATENCY.labels(method, route).observe(seconds)


def set_queue_depth(depths: Mapping[str, int]) -> None:
    for queue, depth in depths.items():
        QUEUE_DEPTH.labels(queue).set(depth)


def set_db_pool(pool: str, status: Mapping[str, int]) -> None:
    """The pool figures of `brx_adapters.postgres.pool_status` (absent ones are left out)."""
    for gauge, key in (
        (DB_POOL_SIZE, "size"),
        (DB_POOL_MAX_OVERFLOW, "max_overflow"),
        (DB_POOL_IN_USE, "checked_out"),
        (DB_POOL_OVERFLOW, "overflow"),
    ):
        if key in status:
            gauge.labels(pool).set(status[key])


def exposition() -> bytes:
    """The registry in Prometheus text format."""
    return generate_latest(REGISTRY)


CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


async def serve_metrics(
    port: int,
    sample: Callable[[], Awaitable[None]],
    host: str = "0.0.0.0",  # noqa: S104
) -> asyncio.Server:
    """`GET /metrics` on its own port, for processes without an HTTP API (the worker).

    On the process's own event loop rather than prometheus_client's `start_http_server`
    thread, so the gauges that need the loop (queue depth from Redis, pool usage) are sampled
    at scrape time, exactly as the API's `/metrics` does."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readline(), 5)
            while (await asyncio.wait_for(reader.readline(), 5)).strip():
                pass  # headers: nothing in them changes the answer
            method, _, rest = request.decode("latin-1").partition(" ")
            path = rest.split(" ", 1)[0].split("?", 1)[0]
            if method in ("GET", "HEAD") and path == "/metrics":
                await sample()
                status, kind, body = "200 OK", CONTENT_TYPE, exposition()
            else:
                status, kind, body = "404 Not Found", "text/plain", b"not found: try /metrics\n"
            head = (
                f"HTTP/1.1 {status}\r\nContent-Type: {kind}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            )
            writer.write(head.encode() + (body if method != "HEAD" else b""))
            await writer.drain()
        except (TimeoutError, ConnectionError, UnicodeError):
            pass  # a client that went away or never spoke: nothing to answer
        finally:
            writer.close()

    return await asyncio.start_server(answer, host, port)

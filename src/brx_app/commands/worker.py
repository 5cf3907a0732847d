"""`brx-sync worker`: the arq worker for webhooks and pushes (high), bulk syncs, and the rest.

`--queues high,bulk` serves only those queues (scale each kind apart); `--burst` exits once
they are empty. The wiring is the container's, as for the API: `BRX_QUEUE_NAMESPACE` is read
into the configuration, so an API and a worker started with the same value share the queues.
Postgres and Redis must answer within `STARTUP_WAIT_SECONDS` (one line and exit 1 if not);
`/metrics` is served on `WORKER_METRICS_PORT` (0: off).
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from brx_app.config import AppConfig, load_config
from brx_app.failures import ConfigError, StartupError
from brx_domain.jobs import Priority
from brx_domain.usecases.common import Ports

NEEDS = ("DATABASE_URL", "REDIS_URL")
NEEDS_IN_PRODUCTION = ("FERNET_KEY",)
DEPENDENCIES = ("postgresql", "redis")


def run(args: argparse.Namespace) -> int:
    from brx_app.logs import configure_logging
    from brx_app.worker import parse_queues

    problems: list[str] = []
    try:
        config: AppConfig | None = load_config(
            require=NEEDS, require_in_production=NEEDS_IN_PRODUCTION
        )
    except ConfigError as exc:
        problems, config = exc.problems, None
    try:
        queues = parse_queues(args.queues)
    except ValueError as exc:
        problems.append(f"--queues: {exc}")
    if problems or config is None:
        raise ConfigError(*problems)
    configure_logging("DEBUG" if config.debug else "INFO", development=config.is_development)
    asyncio.run(_main(config, queues, burst=bool(args.burst)))
    return 0


async def _main(config: AppConfig, queues: list[Priority], *, burst: bool) -> None:
    from arq.connections import RedisSettings

    from brx_app.container import build_container
    from brx_app.runtime import settle_heap
    from brx_app.worker import Lifecycle, build_workers
    from brx_app.worker_run import serve

    assert config.redis_url is not None
    container = build_container(config)
    runtime = container.runtime()
    try:
        await runtime.wait_until_up(DEPENDENCIES, within=config.startup_wait_seconds)
        endpoint = None
        if config.worker_metrics_port:
            endpoint = await _metrics_endpoint(config.worker_metrics_port, runtime.sample)
            runtime.closers.append(_closer(endpoint))
    except BaseException:
        await runtime.close()
        raise
    lifecycle = Lifecycle(
        _ports(container.ports(), runtime.close),
        namespace=config.queue_namespace,
        periodic_minutes=config.periodic_sync_minutes,
    )
    workers = build_workers(
        lifecycle, queues, redis_settings=RedisSettings.from_dsn(config.redis_url), burst=burst
    )
    settle_heap("worker")
    try:
        await serve(workers, lifecycle, burst=burst)
    finally:
        await runtime.close()  # a no-op when the lifecycle already closed it


def _ports(
    ports: Ports, close: Callable[[], Awaitable[Any]]
) -> Callable[[], Awaitable[tuple[Ports, Callable[[], Awaitable[Any]]]]]:
    async def make() -> tuple[Ports, Callable[[], Awaitable[Any]]]:
        return ports, close

    return make


async def _metrics_endpoint(port: int, sample: Callable[[], Awaitable[None]]) -> asyncio.Server:
    from brx_app import metrics

    try:
        return await metrics.serve_metrics(port, sample)
    except OSError as exc:  # another worker on this host has it: say so in one line
        raise StartupError(
            f"WORKER_METRICS_PORT: cannot listen on port {port} ({exc.strerror or exc}); "
            "give each worker on a host its own port, or 0 to turn it off"
        ) from None


def _closer(server: asyncio.Server) -> Callable[[], Awaitable[None]]:
    async def close() -> None:
        server.close()
        await server.wait_closed()

    return close

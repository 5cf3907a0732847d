"""`brx-sync worker`: the arq worker for webhooks and pushes (high), bulk syncs, and the rest.

`--queues high,bulk` serves only those queues (scale each kind apart); `--burst` exits once
they are empty. `BRX_QUEUE_NAMESPACE` prefixes every queue key, so test runs sharing a Redis
server stay apart (the API must use the same namespace; production leaves it empty).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
from collections.abc import Awaitable, Callable
from typing import Any

from brx_app.config import AppConfig, ConfigError, load_config
from brx_domain.usecases.common import Ports


def run(args: argparse.Namespace) -> int:
    from brx_app.logs import configure_logging
    from brx_app.worker import parse_queues

    config = load_config()
    if not config.redis_url:
        raise ConfigError("REDIS_URL: is required to run the worker")
    try:
        queues = parse_queues(args.queues)
    except ValueError as exc:
        raise ConfigError(f"--queues: {exc}") from None
    configure_logging("DEBUG" if config.debug else "INFO")
    namespace = os.environ.get("BRX_QUEUE_NAMESPACE", "")
    asyncio.run(_main(config, queues, burst=bool(args.burst), namespace=namespace))
    return 0


async def _main(config: AppConfig, queues: list[Any], *, burst: bool, namespace: str) -> None:
    from arq.connections import RedisSettings

    from brx_app.worker import Lifecycle, build_workers, serve

    assert config.redis_url is not None
    lifecycle = Lifecycle(
        _ports_factory(config, namespace),
        namespace=namespace,
        periodic_minutes=config.periodic_sync_minutes,
    )
    workers = build_workers(
        lifecycle, queues, redis_settings=RedisSettings.from_dsn(config.redis_url), burst=burst
    )
    await serve(workers, lifecycle, burst=burst)


def _ports_factory(
    config: AppConfig, namespace: str
) -> Callable[[], Awaitable[tuple[Ports, Callable[[], Awaitable[Any]]]]]:
    async def make() -> tuple[Ports, Callable[[], Awaitable[Any]]]:
        from brx_adapters.queue import ArqTaskQueue
        from brx_app.container import build_container
        from brx_app.metrics import observe_cardtrader_call

        container = build_container(config, observer=observe_cardtrader_call)
        runtime = container.runtime()
        ports: Ports = container.ports()
        if namespace:
            assert config.redis_url is not None
            queue = ArqTaskQueue.from_url(config.redis_url, namespace=namespace)
            runtime.closers.append(queue.close)
            ports = dataclasses.replace(ports, queue=queue)
        return ports, runtime.close

    return make

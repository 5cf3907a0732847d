"""The one composition root: which adapter plays which port, for every entry point (API,
worker, CLI commands, demo) and the tests. Nothing here does I/O at import time or while
building: pools and clients connect lazily. Everything that differs between runs (the queue
namespace, URLs, timeouts, pool sizes) comes from `AppConfig`; tests change a port through
the container's `override`, never by hand."""

from __future__ import annotations

from typing import Any

import httpx
from dependency_injector import containers, providers

from brx_app import metrics
from brx_app.config import AppConfig
from brx_app.failures import ConfigError
from brx_app.runtime import Runtime
from brx_domain.ports import (
    BlueprintCatalogue,
    Clock,
    IdSource,
    MarketplaceGateway,
    ProductLocks,
    RateLimiter,
    TaskQueue,
    TokenCipher,
    UnitOfWorkFactory,
)
from brx_domain.usecases import Ports, Settings
from brx_domain.usecases.common import WhenCardTraderDown

CARDTRADER_TIMEOUT = httpx.Timeout(30.0, read=180.0)  # a big export takes minutes to start
CARDTRADER_CONNECTIONS = httpx.Limits(max_connections=50)


def use_case_settings(config: AppConfig) -> Settings:
    return Settings(
        chunk_size=config.sync_chunk_size,
        max_delete_share=config.sync_max_delete_share,
        webhook_max_age_seconds=config.webhook_max_age_seconds,
        purchase_timeout_seconds=config.purchase_cardtrader_timeout_seconds,
        purchase_when_down=WhenCardTraderDown(config.purchase_when_cardtrader_down),
    )


def _port(protocol: Any) -> providers.Dependency[Any]:
    """A dependency checked against its port (the ports are `runtime_checkable`); `Any`
    because mypy takes a Protocol for an abstract class here."""
    return providers.Dependency(instance_of=protocol)


class Container(containers.DeclarativeContainer):
    """Ports are typed dependencies; `build_container` / `build_memory_container` fill them,
    tests override any of them."""

    config = providers.Dependency(instance_of=AppConfig)
    runtime = providers.Singleton(Runtime)
    uow = _port(UnitOfWorkFactory)
    queue = _port(TaskQueue)
    clock = _port(Clock)
    ids = _port(IdSource)
    cipher = _port(TokenCipher)
    marketplace = _port(MarketplaceGateway)
    catalogue = _port(BlueprintCatalogue)
    rate_limiter = _port(RateLimiter)
    locks = _port(ProductLocks)
    settings = providers.Callable(use_case_settings, config)
    ports = providers.Singleton(
        Ports,
        uow=uow,
        queue=queue,
        clock=clock,
        ids=ids,
        cipher=cipher,
        marketplace=marketplace,
        catalogue=catalogue,
        locks=locks,
        settings=settings,
    )


def _assemble(config: AppConfig, runtime: Runtime, **adapters: object) -> Container:
    """A container with one adapter per port (the keyword names are the provider names)."""
    container = Container(config=config, **adapters)
    container.runtime.override(providers.Object(runtime))
    return container


def _cipher(config: AppConfig) -> TokenCipher:
    from brx_adapters.crypto import FernetCipher

    if config.fernet_keys:
        return FernetCipher(config.fernet_keys)
    if config.is_production:
        raise ConfigError("FERNET_KEY: is required when ENVIRONMENT=production")
    from cryptography.fernet import Fernet

    return FernetCipher([Fernet.generate_key().decode()])  # development: this process only


def _cardtrader(config: AppConfig, runtime: Runtime, limiter: RateLimiter) -> MarketplaceGateway:
    """CardTrader over HTTP at CARDTRADER_API_BASE_URL; every call and every wait for a
    rate-limit slot is reported to metrics."""
    from brx_adapters.cardtrader import CardTraderGateway

    http = httpx.AsyncClient(timeout=CARDTRADER_TIMEOUT, limits=CARDTRADER_CONNECTIONS)
    runtime.closers.append(http.aclose)
    return CardTraderGateway(
        http,
        base_url=config.cardtrader_api_base_url,
        limiter=limiter,
        observer=metrics.observe_cardtrader_call,
        on_wait=metrics.observe_rate_limit_wait,
        export_timeout=CARDTRADER_TIMEOUT,
    )


def build_container(config: AppConfig) -> Container:
    """Production wiring: Postgres, Redis (queue + rate limits), MySQL catalogue, CardTrader."""
    import redis.asyncio as aioredis

    from brx_adapters import postgres
    from brx_adapters.queue import ArqTaskQueue
    from brx_adapters.redis import RedisRateLimiter
    from brx_adapters.system import SystemClock, UuidIds

    missing = [name for name in ("DATABASE_URL", "REDIS_URL") if not getattr(config, name.lower())]
    if missing:
        raise ConfigError(*(f"{name}: is required" for name in missing))
    assert config.database_url and config.redis_url
    runtime = Runtime()
    engine = postgres.create_engine(
        config.database_url, pool_size=config.db_pool_size, max_overflow=config.db_max_overflow
    )
    runtime.closers.append(engine.dispose)
    runtime.checks["postgresql"] = lambda: postgres.ping(engine)
    runtime.details["postgresql_pool"] = lambda: _as_awaitable(postgres.pool_status(engine))
    runtime.samplers.append(lambda: _sample_pool("postgresql", postgres.pool_status(engine)))
    runtime.composite_index = lambda: postgres.ensure_composite_index(engine)
    # no socket_timeout: the limiter bounds each call itself (cheaper; see RedisRateLimiter),
    # readiness bounds its ping
    redis = aioredis.Redis.from_url(config.redis_url, socket_connect_timeout=2)
    runtime.closers.append(redis.aclose)
    runtime.checks["redis"] = lambda: _ping_redis(redis)
    limiter = RedisRateLimiter(redis, prefix=config.queue_namespace + "brx:rl:")
    queue = ArqTaskQueue.from_url(config.redis_url, namespace=config.queue_namespace)
    runtime.closers.append(queue.close)
    runtime.details["queue_depth"] = queue.depth
    runtime.samplers.append(lambda: _sample_queue(queue))
    return _assemble(
        config,
        runtime,
        uow=postgres.PostgresUnitOfWorkFactory(engine),
        locks=postgres.PostgresProductLocks(engine),
        queue=queue,
        clock=SystemClock(),
        ids=UuidIds(),
        cipher=_cipher(config),
        marketplace=_cardtrader(config, runtime, limiter),
        catalogue=_catalogue(config, runtime),
        rate_limiter=limiter,
    )


def _catalogue(config: AppConfig, runtime: Runtime) -> BlueprintCatalogue:
    if not config.mysql_host:
        from brx_adapters.memory import MemoryCatalogue

        return MemoryCatalogue(None)  # no catalogue configured: every blueprint is accepted
    from brx_adapters.mysql import MySqlCatalogue

    catalogue = MySqlCatalogue.from_config(
        host=config.mysql_host,
        port=config.mysql_port,
        user=config.mysql_user,
        password=config.mysql_password,
        database=config.mysql_database,
        pool_size=config.mysql_pool_size,
        max_overflow=config.mysql_pool_max_overflow,
        tables=config.catalogue_table_list,
        cache_seconds=config.catalogue_cache_seconds,
    )
    runtime.closers.append(catalogue.close)
    runtime.checks["mysql"] = catalogue.ping
    return catalogue


def build_memory_container(
    config: AppConfig,
    *,
    marketplace: MarketplaceGateway | None = None,
    catalogue: BlueprintCatalogue | None = None,
    clock: Clock | None = None,
    ids: IdSource | None = None,
    run_jobs: bool = False,
) -> Container:
    """The embedded default (demo, unit tests): every store in memory. CardTrader is the
    in-memory fake unless a gateway is given. `run_jobs` runs each queued job at once on an
    in-process worker (the demo), retrying for INPROCESS_RETRY_HORIZON_SECONDS; otherwise
    jobs wait in the queue for the test to inspect."""
    from brx_adapters.memory import (
        MemoryCatalogue,
        MemoryMarketplaceGateway,
        MemoryProductLocks,
        MemoryRateLimiter,
        MemoryStore,
        MemoryTaskQueue,
        MemoryUnitOfWorkFactory,
    )
    from brx_adapters.system import SystemClock, UuidIds
    from brx_app.inprocess import InProcessWorker, retry_rule

    clock = clock or SystemClock()
    runtime = Runtime()
    worker = (
        InProcessWorker(retry=retry_rule(config.inprocess_retry_horizon_seconds))
        if run_jobs
        else None
    )
    queue = MemoryTaskQueue(on_enqueue=worker)
    runtime.samplers.append(lambda: _sample_queue(queue))
    container = _assemble(
        config,
        runtime,
        uow=MemoryUnitOfWorkFactory(MemoryStore()),
        locks=MemoryProductLocks(),
        queue=queue,
        clock=clock,
        ids=ids or UuidIds(),
        cipher=_cipher(config),
        marketplace=marketplace or MemoryMarketplaceGateway(),
        catalogue=catalogue or MemoryCatalogue(None),
        rate_limiter=MemoryRateLimiter(clock),
    )
    if worker is not None:
        worker.ports = container.ports()
        runtime.drain = worker.drain
    return container


def build_embedded_container(config: AppConfig, *, catalogue: BlueprintCatalogue) -> Container:
    """The demo: in-memory stores and an in-process worker, CardTrader over HTTP at
    CARDTRADER_API_BASE_URL (the sandbox) with the production client, limits and metrics."""
    from brx_adapters.memory import MemoryRateLimiter
    from brx_adapters.system import SystemClock

    runtime = Runtime()
    clock = SystemClock()
    gateway = _cardtrader(config, runtime, MemoryRateLimiter(clock))
    container = build_memory_container(
        config, marketplace=gateway, catalogue=catalogue, clock=clock, run_jobs=True
    )
    container.runtime().closers.extend(runtime.closers)
    return container


async def _ping_redis(redis: Any) -> None:
    await redis.ping()


async def _sample_pool(name: str, status: dict[str, Any]) -> None:
    metrics.set_db_pool(name, status)


async def _sample_queue(queue: TaskQueue) -> None:
    metrics.set_queue_depth(await queue.depth())


async def _as_awaitable(value: dict[str, Any]) -> dict[str, Any]:
    return value

"""The one composition root: which adapter plays which port. Used by the API, the worker, the
CLI and the tests. Nothing here does I/O at import time; `build_*` create clients lazily."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from dependency_injector import containers, providers

from brx_app.config import AppConfig
from brx_domain.ports import (
    BlueprintCatalogue,
    Clock,
    IdSource,
    MarketplaceGateway,
    RateLimiter,
    TaskQueue,
    TokenCipher,
)
from brx_domain.usecases import Ports, Settings
from brx_domain.usecases.common import WhenCardTraderDown

HealthCheck = Callable[[], Awaitable[None]]  # raises when the dependency is down


@dataclass
class Runtime:
    """What the process holds open (pools, clients) and how to close it, plus health checks."""

    checks: dict[str, HealthCheck] = field(default_factory=dict)
    closers: list[Callable[[], Awaitable[Any]]] = field(default_factory=list)
    details: dict[str, Callable[[], Awaitable[dict[str, Any]]]] = field(default_factory=dict)
    composite_index: Callable[[], Awaitable[bool]] | None = None  # None: not applicable

    async def close(self) -> None:
        for closer in reversed(self.closers):
            await closer()
        self.closers.clear()


def use_case_settings(config: AppConfig) -> Settings:
    return Settings(
        chunk_size=config.sync_chunk_size,
        max_delete_share=config.sync_max_delete_share,
        webhook_max_age_seconds=config.webhook_max_age_seconds,
        purchase_timeout_seconds=config.purchase_cardtrader_timeout_seconds,
        purchase_when_down=WhenCardTraderDown(config.purchase_when_cardtrader_down),
    )


class Container(containers.DeclarativeContainer):
    """Ports are declared as dependencies; `build_container` / `build_memory_container` fill
    them, tests override any of them."""

    config = providers.Dependency(instance_of=AppConfig)
    runtime = providers.Singleton(Runtime)
    uow: providers.Dependency[Any] = providers.Dependency()
    queue: providers.Dependency[Any] = providers.Dependency()
    clock: providers.Dependency[Any] = providers.Dependency()
    ids: providers.Dependency[Any] = providers.Dependency()
    cipher: providers.Dependency[Any] = providers.Dependency()
    marketplace: providers.Dependency[Any] = providers.Dependency()
    catalogue: providers.Dependency[Any] = providers.Dependency()
    rate_limiter: providers.Dependency[Any] = providers.Dependency()
    locks: providers.Dependency[Any] = providers.Dependency()
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
        from brx_app.config import ConfigError

        raise ConfigError("FERNET_KEY: is required when ENVIRONMENT=production")
    from cryptography.fernet import Fernet

    return FernetCipher([Fernet.generate_key().decode()])  # development: this process only


def _cardtrader(
    config: AppConfig,
    runtime: Runtime,
    limiter: RateLimiter,
    observer: Callable[[str, int | None, float], None] | None,
) -> MarketplaceGateway:
    import httpx

    from brx_adapters.cardtrader import CardTraderGateway

    http = httpx.AsyncClient(
        timeout=httpx.Timeout(30.0, read=180.0), limits=httpx.Limits(max_connections=50)
    )
    runtime.closers.append(http.aclose)
    return CardTraderGateway(
        http, base_url=config.cardtrader_api_base_url, limiter=limiter, observer=observer
    )


def build_container(
    config: AppConfig,
    *,
    observer: Callable[[str, int | None, float], None] | None = None,
) -> Container:
    """Production wiring: Postgres, Redis (queue + rate limits), MySQL catalogue, CardTrader."""
    import redis.asyncio as aioredis

    from brx_adapters import postgres
    from brx_adapters.queue import ArqTaskQueue
    from brx_adapters.redis import RedisRateLimiter
    from brx_adapters.system import SystemClock, UuidIds
    from brx_app.config import ConfigError

    if not config.database_url:
        raise ConfigError("DATABASE_URL: is required")
    if not config.redis_url:
        raise ConfigError("REDIS_URL: is required")
    runtime = Runtime()
    engine = postgres.create_engine(
        config.database_url, pool_size=config.db_pool_size, max_overflow=config.db_max_overflow
    )
    runtime.closers.append(engine.dispose)
    runtime.checks["postgresql"] = lambda: postgres.ping(engine)
    runtime.details["postgresql_pool"] = lambda: _as_awaitable(postgres.pool_status(engine))
    runtime.composite_index = lambda: postgres.ensure_composite_index(engine)
    redis = aioredis.Redis.from_url(config.redis_url, socket_timeout=5, socket_connect_timeout=2)
    runtime.closers.append(redis.aclose)
    runtime.checks["redis"] = lambda: _ping_redis(redis)
    limiter = RedisRateLimiter(redis)
    queue = ArqTaskQueue.from_url(config.redis_url)
    runtime.closers.append(queue.close)
    runtime.details["queue_depth"] = queue.depth
    return _assemble(
        config,
        runtime,
        uow=postgres.PostgresUnitOfWorkFactory(engine),
        locks=postgres.PostgresProductLocks(engine),
        queue=queue,
        clock=SystemClock(),
        ids=UuidIds(),
        cipher=_cipher(config),
        marketplace=_cardtrader(config, runtime, limiter, observer),
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
    queue: TaskQueue | None = None,
    clock: Clock | None = None,
    ids: IdSource | None = None,
) -> Container:
    """The embedded default (demo, unit tests): every store in memory. Pass a marketplace to
    talk to the sandbox over HTTP, or get the in-memory fake CardTrader."""
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

    clock = clock or SystemClock()
    return _assemble(
        config,
        Runtime(),
        uow=MemoryUnitOfWorkFactory(MemoryStore()),
        locks=MemoryProductLocks(),
        queue=queue or MemoryTaskQueue(),
        clock=clock,
        ids=ids or UuidIds(),
        cipher=_cipher(config),
        marketplace=marketplace or MemoryMarketplaceGateway(),
        catalogue=catalogue or MemoryCatalogue(None),
        rate_limiter=MemoryRateLimiter(clock),
    )


async def _ping_redis(redis: Any) -> None:
    await redis.ping()


async def _as_awaitable(value: dict[str, Any]) -> dict[str, Any]:
    return value

"""Configuration from the environment (names are a contract: see docs and the spec).

Every value is checked here, before any I/O, and every bad variable is reported at once: one
line each, naming the variable and what is wrong, never the value (it may be a secret). What a
command needs (`require=`) is checked here too, so `serve`, `worker` and `migrate` fail the
same way — exit status 2 from the CLI — whatever is wrong.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Collection, Mapping
from functools import cached_property
from typing import Any, Literal

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from brx_app import checks
from brx_app.failures import ConfigError
from brx_app.ssm import ClientFactory, SsmError, read_parameters


class Environment(enum.StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    STAGING = "staging"
    PRODUCTION = "production"


class AppConfig(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=False)

    environment: Environment = Field(Environment.DEVELOPMENT, alias="ENVIRONMENT")
    debug: bool = Field(False, alias="DEBUG")
    database_url: checks.DatabaseUrl | None = Field(None, alias="DATABASE_URL")
    db_pool_size: int = Field(10, ge=1, le=500, alias="DB_POOL_SIZE")
    db_max_overflow: int = Field(10, ge=0, le=1000, alias="DB_MAX_OVERFLOW")
    redis_url: checks.RedisUrl | None = Field(None, alias="REDIS_URL")
    queue_namespace: checks.Namespace = Field("", alias="BRX_QUEUE_NAMESPACE")
    mysql_host: checks.Host | None = Field(None, alias="MYSQL_HOST")
    mysql_port: int = Field(3306, ge=1, le=65535, alias="MYSQL_PORT")
    mysql_user: checks.Text = Field("root", min_length=1, max_length=80, alias="MYSQL_USER")
    mysql_password: checks.Text = Field("", alias="MYSQL_PASSWORD")
    mysql_database: checks.Identifier = Field("cards_db", alias="MYSQL_DATABASE")
    mysql_pool_size: int = Field(5, ge=1, le=200, alias="MYSQL_POOL_SIZE")
    mysql_pool_max_overflow: int = Field(5, ge=0, le=200, alias="MYSQL_POOL_MAX_OVERFLOW")
    catalogue_tables: checks.Identifiers = Field(
        "cards_prints,pk_prints,sealed_products", alias="CATALOGUE_TABLES"
    )
    catalogue_cache_seconds: int = Field(300, ge=0, alias="CATALOGUE_CACHE_SECONDS")
    fernet_key: checks.FernetKeys | None = Field(None, alias="FERNET_KEY")
    jwt_public_key: checks.RsaPublicKey | None = Field(None, alias="JWT_PUBLIC_KEY")
    jwt_issuer: checks.Text | None = Field(None, alias="JWT_ISSUER")
    jwt_audience: checks.Text | None = Field(None, alias="JWT_AUDIENCE")
    jwt_admin_claim: checks.AdminClaim = Field("role=admin", alias="JWT_ADMIN_CLAIM")
    cardtrader_api_base_url: checks.HttpUrl = Field(
        "https://api.cardtrader.com/api/v2", alias="CARDTRADER_API_BASE_URL"
    )
    public_base_url: checks.HttpUrl = Field("http://localhost:8000", alias="PUBLIC_BASE_URL")
    allowed_origins: checks.Origins = Field("", alias="ALLOWED_ORIGINS")
    rate_limit_requests: int = Field(200, ge=1, alias="RATE_LIMIT_REQUESTS")
    rate_limit_window_seconds: int = Field(10, ge=1, alias="RATE_LIMIT_WINDOW_SECONDS")
    webhook_max_age_seconds: int = Field(7 * 24 * 3600, ge=60, alias="WEBHOOK_MAX_AGE_SECONDS")
    webhook_max_body_bytes: int = Field(1024 * 1024, ge=1024, alias="WEBHOOK_MAX_BODY_BYTES")
    sync_chunk_size: int = Field(5000, ge=100, le=100_000, alias="SYNC_CHUNK_SIZE")
    sync_max_delete_share: float = Field(0.5, ge=0, le=1, alias="SYNC_MAX_DELETE_SHARE")
    periodic_sync_minutes: int = Field(0, ge=0, alias="PERIODIC_SYNC_MINUTES")
    purchase_cardtrader_timeout_seconds: float = Field(
        3.0, gt=0, le=60, alias="PURCHASE_CARDTRADER_TIMEOUT_SECONDS"
    )
    purchase_when_cardtrader_down: Literal["queue", "refuse"] = Field(
        "queue", alias="PURCHASE_WHEN_CARDTRADER_DOWN"
    )
    inprocess_retry_horizon_seconds: float = Field(
        15 * 60.0, gt=0, le=6 * 3600, alias="INPROCESS_RETRY_HORIZON_SECONDS"
    )
    worker_metrics_port: int = Field(9464, ge=0, le=65535, alias="WORKER_METRICS_PORT")
    startup_wait_seconds: float = Field(30.0, ge=0, le=600, alias="STARTUP_WAIT_SECONDS")
    aws_ssm_enabled: bool = Field(False, alias="AWS_SSM_ENABLED")
    aws_region: checks.AwsRegion | None = Field(None, alias="AWS_REGION")
    jwt_public_key_ssm_path: checks.SsmPath | None = Field(None, alias="JWT_PUBLIC_KEY_SSM_PATH")
    fernet_key_ssm_path: checks.SsmPath | None = Field(None, alias="FERNET_KEY_SSM_PATH")

    @property
    def is_production(self) -> bool:
        return self.environment is Environment.PRODUCTION

    @property
    def is_development(self) -> bool:
        return self.environment is Environment.DEVELOPMENT

    @cached_property
    def origins(self) -> list[str]:
        return checks.split(self.allowed_origins)

    @cached_property
    def fernet_keys(self) -> list[str]:
        return checks.split(self.fernet_key or "")

    @cached_property
    def catalogue_table_list(self) -> list[str]:
        return checks.split(self.catalogue_tables)


_SSM_SECRETS = {  # variable -> the variable naming its SSM parameter
    "JWT_PUBLIC_KEY": "JWT_PUBLIC_KEY_SSM_PATH",
    "FERNET_KEY": "FERNET_KEY_SSM_PATH",
}


def load_config(
    ssm_client: ClientFactory | None = None,
    *,
    require: Collection[str] = (),
    require_in_production: Collection[str] = (),
    **overrides: object,
) -> AppConfig:
    """Read the environment (and SSM when enabled). Raises ConfigError listing every bad or
    missing variable (those in `require`, and in production `require_in_production` too)."""
    try:
        config = AppConfig(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:  # report what is missing too, from the raw values
        bad = _problems(exc.errors())
        production = _raw("ENVIRONMENT", overrides).lower() == Environment.PRODUCTION
        needed = [*require, *(require_in_production if production else ())]
        absent = [n for n in needed if not _raw(n, overrides) and f"{n}:" not in str(bad)]
        raise ConfigError(*bad, *_missing(absent, production)) from None
    if config.aws_ssm_enabled:
        fetched = _from_ssm(config, ssm_client)
        if fetched:
            try:
                config = AppConfig(**{**overrides, **fetched})  # type: ignore[arg-type]
            except ValidationError as exc:
                raise ConfigError(*_problems(exc.errors())) from None
    needed = [*require, *(require_in_production if config.is_production else ())]
    missing = [name for name in needed if not getattr(config, name.lower())]
    problems = [*_conflicts(config), *_missing(missing, config.is_production)]
    if problems:
        raise ConfigError(*problems)
    return config


def _conflicts(config: AppConfig) -> list[str]:
    """Rules over more than one variable (each variable is valid on its own)."""
    if config.db_pool_size + config.db_max_overflow < 2:
        # a CardTrader write holds one connection for its product lock while it records the
        # write on another (brx_adapters.postgres.locks): with one, no write could ever run
        return [
            "DB_POOL_SIZE: with DB_MAX_OVERFLOW must allow at least 2 connections "
            "(a CardTrader write holds one for its product lock and records on another)"
        ]
    return []


def _raw(name: str, overrides: Mapping[str, object]) -> str:
    """The value as given (an override, else the environment, whatever the case)."""
    if name in overrides:
        return str(overrides[name] or "")
    return next((v for k, v in os.environ.items() if k.upper() == name), "").strip()


def _missing(names: Collection[str], production: bool) -> list[str]:
    when = " when ENVIRONMENT=production" if production else ""
    return [f"{name}: is required{when}" for name in dict.fromkeys(names)]


def _problems(errors: list[Any]) -> list[str]:
    """One line per variable (its first problem); pydantic's wording, minus its prefixes."""
    lines: dict[str, str] = {}
    for error in errors:
        name = str(error["loc"][0]).upper() if error.get("loc") else "configuration"
        message = str(error["msg"]).removeprefix("Value error, ")
        lines.setdefault(name, f"{name}: {message}")
    return list(lines.values())


def _from_ssm(config: AppConfig, client: ClientFactory | None) -> dict[str, str]:
    """The secrets the environment left unset, read from their SSM parameters."""
    if not config.aws_region:
        raise ConfigError("AWS_REGION: is required when AWS_SSM_ENABLED=true")
    wanted = {
        variable: path
        for variable, path_variable in _SSM_SECRETS.items()
        if not getattr(config, variable.lower())
        and (path := getattr(config, path_variable.lower()))
    }
    try:
        return read_parameters(wanted, config.aws_region, client)
    except SsmError as exc:
        raise ConfigError(f"{exc.variable}: {exc}") from None

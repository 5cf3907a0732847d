"""Configuration from the environment (names are a contract: see docs and the spec)."""

from __future__ import annotations

import enum
from functools import cached_property
from typing import Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from brx_app.ssm import ClientFactory, resolve_ssm


class Environment(enum.StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    STAGING = "staging"
    PRODUCTION = "production"


class ConfigError(Exception):
    """A missing or malformed setting; the message names the variable (one clear line)."""


class AppConfig(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=False)

    environment: Environment = Field(Environment.DEVELOPMENT, alias="ENVIRONMENT")
    debug: bool = Field(False, alias="DEBUG")
    database_url: str | None = Field(None, alias="DATABASE_URL")
    db_pool_size: int = Field(10, ge=1, le=500, alias="DB_POOL_SIZE")
    db_max_overflow: int = Field(10, ge=0, le=1000, alias="DB_MAX_OVERFLOW")
    redis_url: str | None = Field(None, alias="REDIS_URL")
    mysql_host: str | None = Field(None, alias="MYSQL_HOST")
    mysql_port: int = Field(3306, ge=1, le=65535, alias="MYSQL_PORT")
    mysql_user: str = Field("root", alias="MYSQL_USER")
    mysql_password: str = Field("", alias="MYSQL_PASSWORD")
    mysql_database: str = Field("cards_db", alias="MYSQL_DATABASE")
    mysql_pool_size: int = Field(5, ge=1, le=200, alias="MYSQL_POOL_SIZE")
    mysql_pool_max_overflow: int = Field(5, ge=0, le=200, alias="MYSQL_POOL_MAX_OVERFLOW")
    catalogue_tables: str = Field(
        "cards_prints,pk_prints,sealed_products", alias="CATALOGUE_TABLES"
    )
    catalogue_cache_seconds: int = Field(300, ge=0, alias="CATALOGUE_CACHE_SECONDS")
    fernet_key: str | None = Field(None, alias="FERNET_KEY")
    jwt_public_key: str | None = Field(None, alias="JWT_PUBLIC_KEY")
    jwt_issuer: str | None = Field(None, alias="JWT_ISSUER")
    jwt_audience: str | None = Field(None, alias="JWT_AUDIENCE")
    jwt_admin_claim: str = Field("role=admin", alias="JWT_ADMIN_CLAIM")
    cardtrader_api_base_url: str = Field(
        "https://api.cardtrader.com/api/v2", alias="CARDTRADER_API_BASE_URL"
    )
    public_base_url: str = Field("http://localhost:8000", alias="PUBLIC_BASE_URL")
    allowed_origins: str = Field("", alias="ALLOWED_ORIGINS")
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
    aws_ssm_enabled: bool = Field(False, alias="AWS_SSM_ENABLED")
    aws_region: str | None = Field(None, alias="AWS_REGION")
    jwt_public_key_ssm_path: str | None = Field(None, alias="JWT_PUBLIC_KEY_SSM_PATH")
    fernet_key_ssm_path: str | None = Field(None, alias="FERNET_KEY_SSM_PATH")

    @field_validator("jwt_public_key")
    @classmethod
    def _pem_newlines(cls, value: str | None) -> str | None:
        """Accept a PEM with literal `\\n` (how it fits in one environment line)."""
        return value.replace("\\n", "\n") if value else value

    @property
    def is_production(self) -> bool:
        return self.environment is Environment.PRODUCTION

    @property
    def is_development(self) -> bool:
        return self.environment is Environment.DEVELOPMENT

    @cached_property
    def origins(self) -> list[str]:
        return [o.strip() for o in self.allowed_origins.split(",") if o.strip()]

    @cached_property
    def fernet_keys(self) -> list[str]:
        return [k.strip() for k in (self.fernet_key or "").split(",") if k.strip()]

    @cached_property
    def catalogue_table_list(self) -> list[str]:
        return [t.strip() for t in self.catalogue_tables.split(",") if t.strip()]


def load_config(ssm_client: ClientFactory | None = None, **overrides: object) -> AppConfig:
    """Read the environment (and SSM when enabled); a bad value raises ConfigError naming
    the variable."""
    try:
        config = AppConfig(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]) if first.get("loc") else "configuration"
        raise ConfigError(f"{name.upper()}: {first['msg']}") from None
    config = resolve_ssm(config, ssm_client)
    if config.is_production:
        for name, value in (
            ("DATABASE_URL", config.database_url),
            ("REDIS_URL", config.redis_url),
            ("FERNET_KEY", config.fernet_key),
            ("JWT_PUBLIC_KEY", config.jwt_public_key),
        ):
            if not value:
                raise ConfigError(f"{name}: is required when ENVIRONMENT=production")
    return config

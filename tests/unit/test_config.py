"""Configuration: one clear line naming the variable, production requirements, SSM secrets."""

from __future__ import annotations

from typing import Any

import pytest

from brx_app.config import ConfigError, load_config


class FakeSsm:
    def __init__(self, values: dict[str, str], fail: bool = False) -> None:
        self.values, self.fail, self.asked = values, fail, []

    def get_parameter(self, *, Name: str, WithDecryption: bool) -> dict[str, Any]:
        self.asked.append((Name, WithDecryption))
        if self.fail:
            raise RuntimeError("AccessDenied")
        return {"Parameter": {"Name": Name, "Value": self.values[Name]}}


def test_a_malformed_number_names_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DB_POOL_SIZE", "many")

    with pytest.raises(ConfigError, match=r"^DB_POOL_SIZE: "):
        load_config()


def test_production_without_a_public_key_stops_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "ENVIRONMENT": "production",
        "DATABASE_URL": "postgresql://x/y",
        "REDIS_URL": "redis://x",
        "FERNET_KEY": "k",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("JWT_PUBLIC_KEY", raising=False)

    with pytest.raises(ConfigError, match=r"^JWT_PUBLIC_KEY: is required"):
        load_config()


def test_ssm_fills_only_the_secrets_that_are_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SSM_ENABLED", "true")
    monkeypatch.setenv("JWT_PUBLIC_KEY_SSM_PATH", "/prod/ebartex/jwt_public_key")
    monkeypatch.setenv("FERNET_KEY_SSM_PATH", "/prod/ebartex/fernet_key")
    monkeypatch.setenv("FERNET_KEY", "from-env")
    monkeypatch.delenv("JWT_PUBLIC_KEY", raising=False)
    ssm = FakeSsm({"/prod/ebartex/jwt_public_key": "-----BEGIN PUBLIC KEY-----\\nabc"})

    config = load_config(ssm_client=lambda region: ssm)

    assert config.jwt_public_key == "-----BEGIN PUBLIC KEY-----\nabc"
    assert config.fernet_key == "from-env"
    assert ssm.asked == [("/prod/ebartex/jwt_public_key", True)]


def test_an_unreadable_ssm_parameter_names_the_variable_not_the_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_SSM_ENABLED", "true")
    monkeypatch.setenv("FERNET_KEY_SSM_PATH", "/prod/ebartex/fernet_key")
    monkeypatch.delenv("FERNET_KEY", raising=False)

    with pytest.raises(
        ConfigError,
        match=r"^FERNET_KEY: could not read SSM parameter "
        r"/prod/ebartex/fernet_key \(RuntimeError\)$",
    ):
        load_config(ssm_client=lambda region: FakeSsm({}, fail=True))


def test_ssm_off_never_builds_a_client(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_SSM_ENABLED", raising=False)

    def boom(region: str | None) -> FakeSsm:
        raise AssertionError("SSM must not be contacted when disabled")

    assert load_config(ssm_client=boom).aws_ssm_enabled is False

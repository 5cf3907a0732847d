"""Configuration: one clear line per bad variable (all at once), what a command requires,
production requirements, SSM secrets validated like any other value."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.fernet import Fernet

from brx_app.commands.keys import generate_rsa_pem
from brx_app.config import load_config
from brx_app.failures import ConfigError

PUBLIC_PEM = generate_rsa_pem()[1].decode()


class FakeSsm:
    def __init__(self, values: dict[str, str], fail: bool = False) -> None:
        self.values, self.fail, self.asked = values, fail, []

    def get_parameter(self, *, Name: str, WithDecryption: bool) -> dict[str, Any]:
        self.asked.append((Name, WithDecryption))
        if self.fail:
            raise RuntimeError("AccessDenied")
        return {"Parameter": {"Name": Name, "Value": self.values[Name]}}


def problems(**env: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(**env)
    return caught.value.problems


def test_a_malformed_number_names_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DB_POOL_SIZE", "many")

    with pytest.raises(ConfigError, match=r"^DB_POOL_SIZE: "):
        load_config()


def test_a_pool_of_one_connection_is_refused_beside_what_is_missing() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(require=["DATABASE_URL"], DB_POOL_SIZE="1", DB_MAX_OVERFLOW="0")
    found = caught.value.problems

    assert found[0].startswith("DB_POOL_SIZE: with DB_MAX_OVERFLOW must allow at least 2")
    assert any(line.startswith("DATABASE_URL: is required") for line in found[1:])
    assert load_config(DB_POOL_SIZE="1", DB_MAX_OVERFLOW="1").db_pool_size == 1


def test_every_bad_variable_is_reported_at_once_without_its_value() -> None:
    found = problems(
        DATABASE_URL="not-a-url",
        REDIS_URL="localhost:6379",
        FERNET_KEY="abc",
        MYSQL_PORT="70000",
        PUBLIC_BASE_URL="ftp://example.com",
    )

    names = [line.split(":", 1)[0] for line in found]
    assert names == [
        "DATABASE_URL",
        "REDIS_URL",
        "MYSQL_PORT",
        "FERNET_KEY",
        "PUBLIC_BASE_URL",
    ]
    assert all("\n" not in line for line in found)
    assert not any(value in line for line in found for value in ("not-a-url", "abc", "ftp"))


def test_a_url_with_a_password_is_never_echoed() -> None:
    (line,) = problems(DATABASE_URL="mysql://admin:hunter2@db/x")

    assert line.startswith("DATABASE_URL: unsupported scheme 'mysql'")
    assert "hunter2" not in line


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DATABASE_URL", "postgresql://user:pw@db:5432/brx"),
        ("DATABASE_URL", "postgresql+asyncpg://db/brx"),
        ("REDIS_URL", "rediss://:secret@cache:6380/2"),
        ("REDIS_URL", "unix:///run/redis.sock"),
        ("MYSQL_HOST", "mysql.example.com"),
        ("MYSQL_HOST", ""),
        ("ALLOWED_ORIGINS", "https://ebartex.it, https://www.ebartex.it"),
        ("AWS_REGION", "eu-south-1"),
        ("BRX_QUEUE_NAMESPACE", "test:42:"),
    ],
)
def test_well_formed_values_are_accepted(variable: str, value: str) -> None:
    load_config(**{variable: value})


def test_a_pem_on_one_line_is_accepted_and_unfolded() -> None:
    config = load_config(JWT_PUBLIC_KEY=PUBLIC_PEM.strip().replace("\n", "\\n"))

    assert config.jwt_public_key == PUBLIC_PEM


def test_several_fernet_keys_are_checked_one_by_one() -> None:
    good = Fernet.generate_key().decode()

    assert load_config(FERNET_KEY=f"{good}, {good}").fernet_keys == [good, good]
    (line,) = problems(FERNET_KEY=f"{good},{good[:-2]}")
    assert line.startswith("FERNET_KEY: key #2 is not a Fernet key")


def test_what_a_command_requires_is_reported_with_the_rest() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(require=("DATABASE_URL", "REDIS_URL"))

    assert caught.value.problems == ["DATABASE_URL: is required", "REDIS_URL: is required"]


def test_production_requires_its_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "ENVIRONMENT": "production",
        "DATABASE_URL": "postgresql://x/y",
        "REDIS_URL": "redis://x",
        "FERNET_KEY": Fernet.generate_key().decode(),
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("JWT_PUBLIC_KEY", raising=False)

    load_config(require=("DATABASE_URL",))  # outside production the secrets are optional
    with pytest.raises(ConfigError, match=r"^JWT_PUBLIC_KEY: is required when ENVIRONMENT="):
        load_config(require_in_production=("FERNET_KEY", "JWT_PUBLIC_KEY"))


def test_ssm_fills_only_the_secrets_that_are_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SSM_ENABLED", "true")
    monkeypatch.setenv("AWS_REGION", "eu-south-1")
    monkeypatch.setenv("JWT_PUBLIC_KEY_SSM_PATH", "/prod/ebartex/jwt_public_key")
    monkeypatch.setenv("FERNET_KEY_SSM_PATH", "/prod/ebartex/fernet_key")
    key = Fernet.generate_key().decode()
    monkeypatch.setenv("FERNET_KEY", key)
    monkeypatch.delenv("JWT_PUBLIC_KEY", raising=False)
    one_line = PUBLIC_PEM.strip().replace("\n", "\\n")
    ssm = FakeSsm({"/prod/ebartex/jwt_public_key": one_line})

    config = load_config(ssm_client=lambda region: ssm)

    assert config.jwt_public_key == PUBLIC_PEM
    assert config.fernet_key == key
    assert ssm.asked == [("/prod/ebartex/jwt_public_key", True)]


def test_a_malformed_secret_from_ssm_is_reported_like_one_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_SSM_ENABLED", "true")
    monkeypatch.setenv("AWS_REGION", "eu-south-1")
    monkeypatch.setenv("FERNET_KEY_SSM_PATH", "/prod/ebartex/fernet_key")
    monkeypatch.delenv("FERNET_KEY", raising=False)
    ssm = FakeSsm({"/prod/ebartex/fernet_key": "not-a-key"})

    with pytest.raises(ConfigError, match=r"^FERNET_KEY: key #1 is not a Fernet key"):
        load_config(ssm_client=lambda region: ssm)


def test_an_unreadable_ssm_parameter_names_the_variable_not_the_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_SSM_ENABLED", "true")
    monkeypatch.setenv("AWS_REGION", "eu-south-1")
    monkeypatch.setenv("FERNET_KEY_SSM_PATH", "/prod/ebartex/fernet_key")
    monkeypatch.delenv("FERNET_KEY", raising=False)

    with pytest.raises(
        ConfigError,
        match=r"^FERNET_KEY: could not read SSM parameter "
        r"/prod/ebartex/fernet_key \(RuntimeError\)$",
    ):
        load_config(ssm_client=lambda region: FakeSsm({}, fail=True))


def test_ssm_needs_a_region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SSM_ENABLED", "true")
    monkeypatch.delenv("AWS_REGION", raising=False)

    with pytest.raises(ConfigError, match=r"^AWS_REGION: is required when AWS_SSM_ENABLED"):
        load_config(ssm_client=lambda region: FakeSsm({}))


def test_ssm_off_never_builds_a_client(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_SSM_ENABLED", raising=False)

    def boom(region: str | None) -> FakeSsm:
        raise AssertionError("SSM must not be contacted when disabled")

    assert load_config(ssm_client=boom).aws_ssm_enabled is False

"""Bad configuration as an operator meets it: the real `brx-sync` entry point in a subprocess,
for `serve`, `worker` and `migrate`. Exit status 2 and exactly one line per bad variable on
stderr, all at once, naming it; nothing else before or after (no traceback, no log line).

The table holds one malformed value for every variable the configuration reads. Each command
runs once with all of them (module-scoped: validation happens before any I/O, so a run takes
the interpreter's start-up time), and every (variable, command) pair is its own test."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from brx_app.commands.keys import generate_rsa_pem
from brx_app.config import AppConfig

COMMANDS = ("serve", "worker", "migrate")
MALFORMED = {
    "ENVIRONMENT": "live",
    "DEBUG": "maybe",
    "DATABASE_URL": "not-a-url",
    "DB_POOL_SIZE": "0",
    "DB_MAX_OVERFLOW": "-1",
    "REDIS_URL": "localhost:6379",
    "BRX_QUEUE_NAMESPACE": "two words",
    "MYSQL_HOST": "mysql://db",
    "MYSQL_PORT": "port",
    "MYSQL_USER": "",
    "MYSQL_PASSWORD": "line\nbreak",
    "MYSQL_DATABASE": "cards db",
    "MYSQL_POOL_SIZE": "0",
    "MYSQL_POOL_MAX_OVERFLOW": "lots",
    "CATALOGUE_TABLES": "cards prints",
    "CATALOGUE_CACHE_SECONDS": "-5",
    "FERNET_KEY": "abc",
    "JWT_PUBLIC_KEY": "not a pem",
    "JWT_ISSUER": "tab\there",
    "JWT_AUDIENCE": "new\nline",
    "JWT_ADMIN_CLAIM": "=superuser",
    "CARDTRADER_API_BASE_URL": "api.cardtrader.com",
    "PUBLIC_BASE_URL": "localhost:8000",
    "ALLOWED_ORIGINS": "https://ebartex.it,ebartex.it",
    "RATE_LIMIT_REQUESTS": "0",
    "RATE_LIMIT_WINDOW_SECONDS": "ten",
    "WEBHOOK_MAX_AGE_SECONDS": "10",
    "WEBHOOK_MAX_BODY_BYTES": "1",
    "PURCHASE_CARDTRADER_TIMEOUT_SECONDS": "0",
    "PURCHASE_WHEN_CARDTRADER_DOWN": "retry",
    "SYNC_CHUNK_SIZE": "10",
    "SYNC_MAX_DELETE_SHARE": "2",
    "PERIODIC_SYNC_MINUTES": "-1",
    "WORKER_METRICS_PORT": "99999",
    "INPROCESS_RETRY_HORIZON_SECONDS": "0",
    "STARTUP_WAIT_SECONDS": "forever",
    "AWS_SSM_ENABLED": "perhaps",
    "AWS_REGION": "Europe",
    "JWT_PUBLIC_KEY_SSM_PATH": "not a path",
    "FERNET_KEY_SSM_PATH": "/a b",
}
GOOD = {
    "ENVIRONMENT": "development",
    "DATABASE_URL": "postgresql://brx:secret@127.0.0.1:1/brx",
    "REDIS_URL": "redis://127.0.0.1:1/0",
    "FERNET_KEY": Fernet.generate_key().decode(),
    "JWT_PUBLIC_KEY": generate_rsa_pem()[1].decode(),
    "STARTUP_WAIT_SECONDS": "0",
}
REQUIRED = {
    ("serve", "development"): ("DATABASE_URL", "REDIS_URL"),
    ("serve", "production"): ("DATABASE_URL", "REDIS_URL", "FERNET_KEY", "JWT_PUBLIC_KEY"),
    ("worker", "development"): ("DATABASE_URL", "REDIS_URL"),
    ("worker", "production"): ("DATABASE_URL", "REDIS_URL", "FERNET_KEY"),
    ("migrate", "development"): ("DATABASE_URL",),
    ("migrate", "production"): ("DATABASE_URL",),
}


def brx_sync(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """The installed entry point (`brx_app.cli:main`), in a clean environment."""
    clean = {k: v for k, v in os.environ.items() if k.upper() not in MALFORMED}
    return subprocess.run(
        [sys.executable, "-c", "import sys; from brx_app.cli import main; sys.exit(main())", *args],
        env={**clean, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def problems(result: subprocess.CompletedProcess[str], command: str) -> dict[str, str]:
    """{variable: what is wrong}; fails unless every stderr line is a configuration line."""
    prefix = f"brx-sync {command}: configuration error: "
    lines = result.stderr.splitlines()
    assert result.stdout == ""
    assert all(line.startswith(prefix) for line in lines), result.stderr
    found = dict(line.removeprefix(prefix).split(": ", 1) for line in lines)
    assert len(found) == len(lines)  # one line per variable
    return found


def test_the_table_covers_every_variable_of_the_configuration() -> None:
    aliases = {str(field.alias) for field in AppConfig.model_fields.values()}
    assert aliases == set(MALFORMED)


@pytest.fixture(scope="module")
def all_bad(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[int, dict[str, str]]]:
    cwd = tmp_path_factory.mktemp("config")
    runs = {}
    for command in COMMANDS:
        result = brx_sync(command, env=MALFORMED, cwd=cwd)
        runs[command] = (result.returncode, problems(result, command))
    return runs


@pytest.mark.parametrize("command", COMMANDS)
def test_every_bad_variable_is_one_line_and_exit_2(
    all_bad: dict[str, tuple[int, dict[str, str]]], command: str
) -> None:
    returncode, found = all_bad[command]

    assert returncode == 2
    assert set(found) == set(MALFORMED)


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("variable", sorted(MALFORMED))
def test_each_variable_says_what_is_wrong_without_its_value(
    all_bad: dict[str, tuple[int, dict[str, str]]], command: str, variable: str
) -> None:
    message = all_bad[command][1][variable]

    assert message
    if len(MALFORMED[variable]) > 3:
        assert MALFORMED[variable] not in message


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize(
    ("variable", "value"),
    [("DATABASE_URL", "not-a-url"), ("REDIS_URL", "localhost:6379"), ("FERNET_KEY", "abc")],
)
def test_the_examples_of_the_issue_alone(
    tmp_path: Path, command: str, variable: str, value: str
) -> None:
    result = brx_sync(command, env={**GOOD, variable: value}, cwd=tmp_path)

    assert result.returncode == 2
    assert list(problems(result, command)) == [variable]


@pytest.mark.parametrize(("command", "environment"), sorted(REQUIRED))
def test_what_a_command_needs_is_required_all_at_once(
    tmp_path: Path, command: str, environment: str
) -> None:
    needed = REQUIRED[(command, environment)]
    env = {k: v for k, v in GOOD.items() if k not in needed}
    env["ENVIRONMENT"] = environment
    env["DB_POOL_SIZE"] = "none"  # a malformed value is reported beside the missing ones

    result = brx_sync(command, env=env, cwd=tmp_path)

    assert result.returncode == 2
    found = problems(result, command)
    assert set(found) == {"DB_POOL_SIZE", *needed}
    assert all(found[name].startswith("is required") for name in needed)


def test_serve_with_several_workers_fails_in_the_parent(tmp_path: Path) -> None:
    result = brx_sync(
        "serve", "--workers", "2", "--port", "1", env={**GOOD, "FERNET_KEY": "abc"}, cwd=tmp_path
    )

    assert result.returncode == 2
    assert list(problems(result, "serve")) == ["FERNET_KEY"]


@pytest.mark.parametrize("command", ["worker", "migrate"])
def test_an_unreachable_database_at_start_is_one_line_and_exit_1(
    tmp_path: Path, command: str
) -> None:
    result = brx_sync(command, env=GOOD, cwd=tmp_path)  # Postgres on port 1: nobody answers

    assert result.returncode == 1
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"brx-sync {command}: ")
    assert "secret" not in line

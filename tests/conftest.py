"""Shared test settings. Integration fixtures live in tests/integration/fixtures_*.py."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("ci", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("default", deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

# Fixtures of the outside systems (used by tests/integration; importing them does no I/O).
pytest_plugins = [
    "tests.integration.fixtures_postgres",
    "tests.integration.fixtures_redis",
    "tests.integration.fixtures_sandbox",
    "tests.integration.fixtures_mysql",
    "tests.integration.fixtures_stack",
    "tests.reliability.report",
]

RELIABILITY = Path(__file__).parent / "reliability"


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """tests/reliability (minutes of faults on the whole stack) runs only when named on the
    command line, as `nox -s reliability` does; `pytest tests` leaves it out."""
    if collection_path != RELIABILITY:
        return None
    named = (Path(arg.split("::")[0]).resolve() for arg in config.args)
    return not any(path == RELIABILITY or RELIABILITY in path.parents for path in named)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def free_port() -> Callable[[], int]:
    """A port nothing listens on now, for a subprocess that must be told its port."""
    return _free_port

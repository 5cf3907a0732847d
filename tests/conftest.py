"""Shared test settings. Integration fixtures live in tests/integration/fixtures_*.py."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable

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
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def free_port() -> Callable[[], int]:
    """A port nothing listens on now, for a subprocess that must be told its port."""
    return _free_port

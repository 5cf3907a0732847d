"""Shared test settings. Integration fixtures live in tests/integration/fixtures_*.py."""

from __future__ import annotations

import os

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
]

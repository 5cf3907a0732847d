"""Integration fixtures: each outside system has its own plugin module. Every fixture creates
its own database / key prefix and removes only what it created."""

pytest_plugins = [
    "tests.integration.fixtures_postgres",
    "tests.integration.fixtures_redis",
    "tests.integration.fixtures_sandbox",
    "tests.integration.fixtures_mysql",
]

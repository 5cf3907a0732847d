"""`brx-sync migrate` as an operator runs it: progress on stdout, idempotent, and one clear
line (without the password) when the database cannot be reached."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration


def migrate(database_url: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "ENVIRONMENT": "development",
        "STARTUP_WAIT_SECONDS": "1",
    }
    return subprocess.run(
        [sys.executable, "-m", "brx_app.cli", "migrate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_migrate_applies_every_revision_then_reports_up_to_date(scratch_database: str) -> None:
    first = migrate(scratch_database)
    second = migrate(scratch_database)

    assert first.returncode == 0, first.stderr
    assert "migrated (empty) -> " in first.stdout
    assert second.returncode == 0, second.stderr
    assert "already up to date" in second.stdout


def test_an_unreachable_database_is_one_clear_line_without_the_password() -> None:
    result = migrate("postgresql://postgres:hunter2@127.0.0.1:1/brx_nowhere")

    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "cannot migrate 127.0.0.1:1/brx_nowhere" in lines[0]
    assert "hunter2" not in result.stderr + result.stdout

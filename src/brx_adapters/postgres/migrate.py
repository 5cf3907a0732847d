"""Applying the versioned migrations to head: from the CLI, from tests, from any caller.

The alembic configuration is built in code from the packaged `migrations` folder, so an
installed wheel migrates without an `alembic.ini`. An advisory lock makes two concurrent
`migrate` runs (two replicas starting) take turns instead of racing.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from brx_adapters.postgres.engine import async_url

MIGRATIONS = Path(__file__).parent / "migrations"
LOCK_KEY = 7_264_932_001  # arbitrary, fixed: pg_advisory_lock id of `brx-sync migrate`
CONNECT_TIMEOUT = 10.0  # seconds; an unreachable database fails fast instead of hanging

Progress = Callable[[str], None]


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def upgrade_async(url: str, progress: Progress | None = None) -> str | None:
    """Apply every pending revision; returns the revision the database is at afterwards."""
    say = progress or (lambda _message: None)
    engine = create_async_engine(
        async_url(url), poolclass=NullPool, connect_args={"timeout": CONNECT_TIMEOUT}
    )
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": LOCK_KEY})
            try:
                before = await conn.run_sync(_current)
                say(f"database at revision {before or '(empty)'}; head is {head_revision()}")
                await conn.run_sync(_upgrade)
                after = await conn.run_sync(_current)
            finally:
                await conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY})
                await conn.commit()
    finally:
        await engine.dispose()
    say("already up to date" if before == after else f"migrated {before or '(empty)'} -> {after}")
    return after


def upgrade(url: str, progress: Progress | None = None) -> str | None:
    """Synchronous entry point; safe to call even from inside a running event loop (it then
    runs the migration on a helper thread with its own loop)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(upgrade_async(url, progress))
    result: list[str | None] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            result.append(asyncio.run(upgrade_async(url, progress)))
        except BaseException as exc:  # handed back to the caller's thread below
            errors.append(exc)

    thread = threading.Thread(target=work, name="brx-migrate")
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return result[0]


def _current(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def _upgrade(conn: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = conn
    command.upgrade(config, "head")
    conn.commit()

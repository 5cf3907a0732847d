"""`brx-sync migrate`: bring the database named by DATABASE_URL to the newest schema.

Idempotent (a second run reports "already up to date"). An unreachable database is one clear
line on stderr and exit status 1; the URL is shown without its password.
"""

from __future__ import annotations

import argparse
import sys

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from brx_app.config import ConfigError, load_config


def run(args: argparse.Namespace) -> int:
    from brx_adapters.postgres import upgrade

    config = load_config()
    if not config.database_url:
        raise ConfigError("DATABASE_URL: is required to migrate")
    where = safe_url(config.database_url)
    print(f"migrating {where}", flush=True)
    try:
        revision = upgrade(config.database_url, progress=_say)
    except (OSError, TimeoutError, SQLAlchemyError) as exc:
        print(f"brx-sync migrate: cannot migrate {where}: {_reason(exc)}", file=sys.stderr)
        return 1
    except Exception as exc:  # asyncpg's own errors (unknown database, bad password ...)
        if type(exc).__module__.startswith("asyncpg"):
            print(f"brx-sync migrate: cannot migrate {where}: {_reason(exc)}", file=sys.stderr)
            return 1
        raise
    print(f"done: schema at revision {revision}", flush=True)
    return 0


def safe_url(url: str) -> str:
    """host:port/database only: never a password in output."""
    try:
        parsed = make_url(url)
    except Exception:
        return "(unparseable DATABASE_URL)"
    return f"{parsed.host or 'localhost'}:{parsed.port or 5432}/{parsed.database or ''}"


def _reason(exc: BaseException) -> str:
    cause = exc
    while cause.__cause__ is not None:  # the driver's own error names the problem best
        cause = cause.__cause__
    text = str(cause).strip().splitlines()[0] if str(cause).strip() else ""
    return f"{type(cause).__name__}: {text}" if text else type(cause).__name__


def _say(message: str) -> None:
    print(f"  {message}", flush=True)

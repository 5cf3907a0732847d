"""`brx-sync migrate`: bring the database named by DATABASE_URL to the newest schema.

Idempotent (a second run reports "already up to date"). A database that does not accept
connections yet (starting beside the service) is retried for STARTUP_WAIT_SECONDS; one that
never does, or refuses us (bad password, unknown database), is one line on stderr and exit
status 1. The URL is shown without its password.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from brx_app.config import load_config

NEEDS = ("DATABASE_URL",)


def run(args: argparse.Namespace) -> int:
    config = load_config(require=NEEDS)
    from brx_adapters.postgres.migrate import upgrade_async
    from brx_app.runtime import retry_until

    assert config.database_url is not None
    url, where = config.database_url, safe_url(config.database_url)
    said: list[str] = []

    def say(message: str) -> None:
        if not said:
            print(f"migrating {where}", flush=True)
        said.append(message)
        print(f"  {message}", flush=True)

    deadline = time.monotonic() + config.startup_wait_seconds
    try:
        revision = asyncio.run(
            retry_until(lambda: upgrade_async(url, say), deadline=deadline, transient=_unreachable)
        )
    except Exception as exc:  # the driver's errors come in many types: one line for all
        print(f"brx-sync migrate: cannot migrate {where}: {_reason(exc)}", file=sys.stderr)
        return 1
    print(f"done: schema at revision {revision}", flush=True)
    return 0


def safe_url(url: str) -> str:
    """host:port/database only: never a password in output."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.hostname or 'localhost'}:{parts.port or 5432}/{parts.path.strip('/')}"


def _causes(exc: BaseException) -> list[BaseException]:
    chain = [exc]
    while chain[-1].__cause__ is not None and len(chain) < 10:
        chain.append(chain[-1].__cause__)
    return chain


def _unreachable(exc: BaseException) -> bool:
    """Nobody answered (yet): worth another try. A refusal (password, database) is not."""
    return any(
        isinstance(cause, OSError | TimeoutError)
        or type(cause).__name__ == "CannotConnectNowError"  # asyncpg: the server is starting
        for cause in _causes(exc)
    )


def _reason(exc: BaseException) -> str:
    cause = _causes(exc)[-1]  # the driver's own error names the problem best
    text = str(cause).strip().splitlines()[0] if str(cause).strip() else ""
    return f"{type(cause).__name__}: {text}" if text else type(cause).__name__

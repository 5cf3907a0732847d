"""`brx-sync serve`: the HTTP API under uvicorn (uvloop + httptools), JSON logs on stderr.

The configuration is read and checked here, in the parent process, before uvicorn starts: a
bad setting is one line per variable and exit status 2, also with `--workers N` (the children
would otherwise crash and be respawned forever).

SIGTERM drains (`brx_app.shutdown`): readiness fails at once, the listener keeps accepting for
`--drain-seconds`, then requests in flight get `--grace-seconds` and the process exits 0. With
`--workers N` uvicorn's supervisor stops its children at once: no drain, only the grace."""

from __future__ import annotations

import argparse
import logging
from typing import Any

from brx_app.config import load_config
from brx_app.logs import configure_logging

NEEDS = ("DATABASE_URL", "REDIS_URL")
NEEDS_IN_PRODUCTION = ("FERNET_KEY", "JWT_PUBLIC_KEY")
log = logging.getLogger("brx.serve")


def uvicorn_options(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "host": args.host,
        "port": args.port,
        "loop": "uvloop",
        "http": "httptools",
        "lifespan": "on",
        "access_log": False,  # the app logs each request itself, as JSON with its request id
        "log_config": None,
        "proxy_headers": True,
        "server_header": False,
        "timeout_graceful_shutdown": args.grace_seconds,
    }


def run(args: argparse.Namespace) -> int:
    import uvicorn

    config = load_config(require=NEEDS, require_in_production=NEEDS_IN_PRODUCTION)
    configure_logging(
        logging.DEBUG if config.debug else logging.INFO, development=config.is_development
    )
    workers = int(getattr(args, "workers", 1) or 1)
    if workers > 1:  # each worker process imports the app (and builds its own pools)
        if args.drain_seconds:
            log.warning("--drain-seconds applies with --workers 1 only: SIGTERM stops at once")
        uvicorn.run("brx_app.asgi:app", workers=workers, **uvicorn_options(args))
        return 0
    from brx_app.container import build_container
    from brx_app.http import create_app
    from brx_app.runtime import settle_heap
    from brx_app.shutdown import DrainingServer

    container = build_container(config)
    server = DrainingServer(
        uvicorn.Config(create_app(container), **uvicorn_options(args)),
        drain_seconds=args.drain_seconds,
        on_drain=container.runtime().stop_accepting,
    )
    settle_heap("api")
    server.run()
    return 0

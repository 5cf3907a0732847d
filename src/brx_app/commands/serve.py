"""`brx-sync serve`: the HTTP API under uvicorn (uvloop + httptools), JSON logs.

The configuration is read and the app built here, before uvicorn starts, so a bad setting is
one clear line from the CLI instead of a traceback from inside the server."""

from __future__ import annotations

import argparse
import logging
from typing import Any

from brx_app.config import load_config
from brx_app.logs import configure_logging


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
    }


def run(args: argparse.Namespace) -> int:
    import uvicorn

    config = load_config()
    configure_logging(logging.DEBUG if config.debug else logging.INFO)
    workers = int(getattr(args, "workers", 1) or 1)
    if workers > 1:  # each worker process imports the app (and builds its own pools)
        uvicorn.run("brx_app.asgi:app", workers=workers, **uvicorn_options(args))
        return 0
    from brx_app.container import build_container
    from brx_app.http import create_app
    from brx_app.metrics import observe_cardtrader_call

    app = create_app(build_container(config, observer=observe_cardtrader_call))
    uvicorn.run(app, **uvicorn_options(args))
    return 0

"""The ASGI entry point for uvicorn and other servers (`brx_app.asgi:app`); also what each
process of `brx-sync serve --workers N` imports, with the logging of `serve`."""

import logging

from brx_app.config import load_config
from brx_app.container import build_container
from brx_app.http import create_app
from brx_app.logs import configure_logging
from brx_app.runtime import settle_heap

_config = load_config()
configure_logging(
    logging.DEBUG if _config.debug else logging.INFO, development=_config.is_development
)
app = create_app(build_container(_config))
settle_heap("api")

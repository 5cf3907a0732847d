"""The HTTP API (Falcon ASGI): `create_app(container)` is the one entry point."""

from brx_app.http.app import create_app

__all__ = ["create_app"]

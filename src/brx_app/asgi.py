"""The ASGI entry point for uvicorn and other servers (`brx_app.asgi:app`)."""

from brx_app.http import create_app

app = create_app()

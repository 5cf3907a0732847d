"""`create_sandbox_app(state)`: the CardTrader API v2 simulator as one ASGI application
(Falcon for the routes, the gate in front of it for auth, faults and rate limits)."""

from __future__ import annotations

import uuid
from typing import Any

import falcon
import falcon.asgi

from cardtrader_sandbox.api import add_api_routes
from cardtrader_sandbox.control import add_control_routes
from cardtrader_sandbox.gate import ASGIApp, Gate
from cardtrader_sandbox.operations import SandboxError
from cardtrader_sandbox.state import SandboxState
from cardtrader_sandbox.webhooks import WebhookSender


async def _api_error(
    req: falcon.asgi.Request, resp: falcon.asgi.Response, ex: SandboxError, params: dict[str, Any]
) -> None:
    resp.status = ex.status
    resp.media = ex.body()


async def _http_error(
    req: falcon.asgi.Request,
    resp: falcon.asgi.Response,
    ex: falcon.HTTPError,
    params: dict[str, Any],
) -> None:
    """Falcon's own errors (unknown route, malformed JSON) in CardTrader's error shape."""
    code = "not_found" if ex.status_code == 404 else "bad_request"
    resp.status = ex.status
    resp.media = {
        "error_code": code,
        "errors": [],
        "extra": {"message": ex.title or ""},
        "request_id": str(uuid.uuid4()),
    }


class _Lifecycle:
    """Closes the webhook client when the server stops."""

    def __init__(self, sender: WebhookSender) -> None:
        self.sender = sender

    async def process_shutdown(self, scope: Any, event: Any) -> None:
        await self.sender.aclose()


def create_sandbox_app(state: SandboxState) -> ASGIApp:
    sender = WebhookSender()
    app = falcon.asgi.App(middleware=[_Lifecycle(sender)])
    app.req_options.strip_url_path_trailing_slash = True
    add_api_routes(app, state)
    add_control_routes(app, state, sender)
    app.add_error_handler(falcon.HTTPError, _http_error)
    app.add_error_handler(SandboxError, _api_error)
    return Gate(state, app)

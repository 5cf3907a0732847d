"""The operator console: static files of this package, served with a strict Content-Security-
Policy, and the one development-only helper it needs (a signed test order via the sandbox).

The page holds no secret and no server-side session: it calls the same authenticated API as any
client with the token the operator pastes. The policy allows only this origin and no inline
script or style, so an injected string can never run, and the page cannot be framed.
"""

from __future__ import annotations

from importlib.resources import files
from typing import Any
from uuid import UUID

import falcon
import falcon.asgi
import httpx
from pydantic import MISSING

from brx_app.http.errors import ApiError
from brx_app.http.io import read_json
from brx_app.http.middleware import PUBLIC
from brx_app.http.openapi import Op, Route
from brx_app.http.resources.webhooks import WEBHOOK_PATH
from brx_app.http.responses import TestOrderOut
from brx_app.http.schemas import TestOrderRequest
from brx_domain.usecases import Ports
from brx_domain.usecases.sync import get_status

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
ASSETS = {
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
}


def read_asset(name: str) -> bytes:
    return (files("brx_app.http") / "console" / name).read_bytes()


class ConsoleAsset:
    """One file of the console, read once at start-up (the package does not change under a
    running process)."""

    auth = PUBLIC

    def __init__(self, name: str) -> None:
        self.body, self.content_type = read_asset(name), ASSETS[name]

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        resp.content_type = self.content_type
        resp.data = self.body
        resp.set_headers(HEADERS)


class TestOrder:
    """Development only: asks the CardTrader sandbox (CARDTRADER_API_BASE_URL) to sell one of
    the user's products to a buyer, which sends the signed webhook to this service as
    CardTrader would. The sandbox's control surface sits beside its API (`/_sandbox/orders`)."""

    def __init__(self, ports: Ports, sandbox_api: str, public_base_url: str) -> None:
        self.ports = ports
        self.control = sandbox_api.rstrip("/").removesuffix("/api/v2") + "/_sandbox/orders"
        self.base = public_base_url.rstrip("/")
        self.http: httpx.AsyncClient | None = None

    async def close(self) -> None:
        if self.http is not None:
            await self.http.aclose()

    async def on_post(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, user_id: UUID
    ) -> None:
        body = await read_json(req, TestOrderRequest)
        settings = await get_status(self.ports, user_id)  # 404 until the user is set up
        order: dict[str, Any] = {
            "kind": "paid",
            "quantity": body.quantity,
            "test": body.test,
            "token": self.ports.cipher.decrypt(settings.cardtrader_token_encrypted),
            "webhook_url": self.base + WEBHOOK_PATH.format(user_id=user_id),
        }
        if body.product_id is not MISSING:
            order["product_id"] = body.product_id
        self.http = self.http or httpx.AsyncClient(timeout=10.0)
        try:
            answer = await self.http.post(self.control, json=order)
        except httpx.HTTPError:
            raise ApiError(
                503, "service_unavailable", "the CardTrader sandbox is not reachable"
            ) from None
        if answer.status_code >= 400:
            raise ApiError(422, "unprocessable", _sandbox_message(answer))
        resp.media = _summary(answer.json())


def _sandbox_message(answer: httpx.Response) -> str:
    try:
        extra = answer.json().get("extra") or {}
        return str(extra.get("message") or "the sandbox refused the order")
    except ValueError:
        return "the sandbox refused the order"


def _summary(sandbox: dict[str, Any]) -> dict[str, Any]:
    order = sandbox.get("order") or {}
    deliveries = sandbox.get("deliveries") or []
    items = order.get("order_items") or []
    return {
        "order_id": order.get("id"),
        "product_id": items[0].get("product_id") if items else None,
        "quantity": items[0].get("quantity") if items else None,
        "webhook_statuses": [d.get("status") for d in deliveries if isinstance(d, dict)],
    }


def asset_routes() -> list[Route]:
    """`/console` is the page; its script and style sit beside it under fixed names."""
    return [
        Route(
            "/console" if name == "index.html" else f"/console/{name}",
            ConsoleAsset(name),
            {"GET": Op(f"Operator console: {name}", None, content_type=ASSETS[name].split(";")[0])},
        )
        for name in ASSETS
    ]


def development_routes(container: Any, prefix: str) -> list[Route]:
    config = container.config()
    resource = TestOrder(container.ports(), config.cardtrader_api_base_url, config.public_base_url)
    container.runtime().closers.append(resource.close)
    return [
        Route(
            f"{prefix}/dev/test-order/{{user_id}}",
            resource,
            {
                "POST": Op(
                    "Send a signed test order through the CardTrader sandbox (development only)",
                    TestOrderOut,
                    body=TestOrderRequest,
                    errors=(404, 422, 503),
                )
            },
        )
    ]

"""The ASGI layer in front of the Falcon app: for /api/v2 it applies injected faults (latency,
dropped connections, writes applied but their answer lost, 500/502, 429 storms), bearer auth,
CardTrader's rate limits, and records every request with its final status. The /_sandbox
control surface passes straight through."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from cardtrader_sandbox.limits import (
    OVERALL,
    LoggedRequest,
    SandboxLimit,
    retry_after_value,
    token_hash,
)
from cardtrader_sandbox.state import SandboxState

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[..., Awaitable[None]]
TRANSPORT_KEY = "brx.transport"
_BAD_GATEWAY = (
    b"<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway"
    b"</h1></center><hr><center>cloudflare</center></body></html>"
)


def bearer(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() or None if scheme.lower() == "bearer" else None
    return None


async def respond(
    send: Send, status: int, body: bytes, content_type: bytes, extra: list[Any] | None = None
) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    await send(
        {"type": "http.response.start", "status": status, "headers": headers + (extra or [])}
    )
    await send({"type": "http.response.body", "body": body})


async def respond_json(
    send: Send, status: int, media: object, extra: list[Any] | None = None
) -> None:
    await respond(send, status, json.dumps(media).encode(), b"application/json", extra)


class Gate:
    """Wraps the Falcon app; see the module docstring for what happens to /api/v2 requests."""

    def __init__(self, state: SandboxState, inner: ASGIApp) -> None:
        self.state = state
        self.inner = inner

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/v2"):
            await self.inner(scope, receive, send)
            return
        token = bearer(scope)
        status = [0]

        async def recording_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self._handle(scope, receive, recording_send, token)
        finally:
            entry = LoggedRequest(
                token_hash(token) if token else None,
                scope["method"],
                scope["path"],
                time.time(),
                status[0],
            )
            self.state.log.record(entry)

    async def _handle(self, scope: Scope, receive: Receive, send: Send, token: str | None) -> None:
        state = self.state
        if state.faults.latency_ms > 0:
            await asyncio.sleep(state.faults.latency_ms / 1000)
        fault = state.pick_fault(time.monotonic())
        if fault == "drop":
            await self._drop(scope, send)
            return
        if fault == "error":
            await self._server_error(send)
            return
        seller = state.seller(token)
        if seller is None or token is None:
            await respond_json(
                send,
                401,
                {
                    "error_code": "unauthorized",
                    "errors": [],
                    "extra": {"message": "Unauthorized"},
                    "request_id": str(uuid.uuid4()),
                },
            )
            return
        if fault == "storm":
            await self._too_many(send, OVERALL, 1.0)
            return
        limited = state.limiter.check(token, scope["path"], time.monotonic())
        if limited is not None:
            await self._too_many(send, *limited)
            return
        scope["brx.seller"] = seller
        if state.take_lost_answer(scope["method"]):
            await self._apply_then_drop(scope, receive, send)
            return
        await self.inner(scope, receive, send)

    async def _apply_then_drop(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The write happens; its answer never reaches the client (a timeout on the way back)."""

        async def swallow(message: Message) -> None:
            return None

        await self.inner(scope, receive, swallow)
        await self._drop(scope, send)

    async def _too_many(self, send: Send, limit: SandboxLimit, wait: float) -> None:
        """429 with CardTrader's bare body; `Retry-After` only if configured."""
        value = retry_after_value(self.state.faults.retry_after, wait, time.time())
        extra = [(b"retry-after", value.encode())] if value else []
        await respond_json(send, 429, {"error": limit.message}, extra)

    async def _server_error(self, send: Send) -> None:
        if self.state.rng.random() < 0.5:
            await respond_json(send, 500, {"errors": ["Internal Server Error"]})
        else:
            await respond(send, 502, _BAD_GATEWAY, b"text/html")

    async def _drop(self, scope: Scope, send: Send) -> None:
        """Close the connection without an answer (needs the transport our uvicorn protocol
        puts in the scope); elsewhere, start an answer and abandon it, which also cuts it."""
        transport = scope.get(TRANSPORT_KEY)
        if transport is not None:
            transport.close()
            await asyncio.sleep(0.01)
            return
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"100")]}
        )

"""Cross-cutting concerns, in order: request id + access log + metrics, authentication and the
user binding, the per-user rate limit, and the process's shutdown (connections closed while
it stops, then what it holds)."""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

import falcon.asgi

from brx_app import metrics
from brx_app.http.auth import Principal, TokenVerifier, bind_user
from brx_app.http.errors import ApiError
from brx_app.http.io import path_params
from brx_app.logs import request_id_var
from brx_domain.ports import RateLimiter

log = logging.getLogger("brx.http.access")
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

_LINE = "%s %s %s"  # method, route template, status
PUBLIC, USER, OPERATOR = "public", "user", "operator"


class RequestContextMiddleware:
    """A request id on every response and log line (the client's if sane), an access log line,
    and the request metrics labelled by route template, never by concrete path."""

    async def process_request(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        incoming = req.get_header("X-Request-ID")
        request_id = incoming if incoming and _SAFE_ID.match(incoming) else uuid.uuid4().hex
        req.context.request_id = request_id
        req.context.started = time.perf_counter()
        req.context.rid_token = request_id_var.set(request_id)

    async def process_response(
        self,
        req: falcon.asgi.Request,
        resp: falcon.asgi.Response,
        resource: object,
        req_succeeded: bool,
    ) -> None:
        resp.set_header("X-Request-ID", req.context.request_id)
        seconds = time.perf_counter() - req.context.started
        route = req.uri_template or "unmatched"
        status = resp.status_code
        metrics.observe_request(req.method, route, status, seconds)
        if log.isEnabledFor(logging.INFO):  # the record made directly: no caller lookup
            extra = {"status": status, "route": route, "duration_ms": round(seconds * 1000, 2)}
            line = (req.method, route, status)
            record = log.makeRecord(log.name, logging.INFO, "", 0, _LINE, line, None, extra=extra)
            log.handle(record)
        request_id_var.reset(req.context.rid_token)


class AuthMiddleware:
    """Resources declare `auth` (public, user or operator; user when absent: secure by default).
    Once the caller is known, the path parameters are validated (`io.path_params`) and a path
    `user_id` must be the caller's own. A public resource reads its own path (the webhook
    receiver answers every bad path with the same 401)."""

    def __init__(self, verifier: TokenVerifier) -> None:
        self.verifier = verifier

    async def process_resource(
        self,
        req: falcon.asgi.Request,
        resp: falcon.asgi.Response,
        resource: object,
        params: dict[str, Any],
    ) -> None:
        level = getattr(resource, "auth", USER)
        if resource is None or level == PUBLIC or req.method == "OPTIONS":
            return
        principal = self.verifier.verify(req.get_header("Authorization"))
        if level == OPERATOR and not principal.admin:
            raise ApiError(403, "forbidden", "this endpoint is for operators")
        params.update(path_params(params))  # typed and bounded, else a 400 naming it
        if "user_id" in params:
            params["user_id"] = bind_user(principal, params["user_id"])
        req.context.principal = principal


class RateLimitMiddleware:
    """Per-user token bucket shared by every replica. When the limiter itself fails the request
    goes through (the API must stay usable), counted and logged at most every 30 s."""

    def __init__(self, limiter: RateLimiter, capacity: int, per_seconds: float) -> None:
        self.limiter, self.capacity, self.per_seconds = limiter, capacity, per_seconds
        self._last_warning = 0.0

    async def process_resource(
        self,
        req: falcon.asgi.Request,
        resp: falcon.asgi.Response,
        resource: object,
        params: dict[str, Any],
    ) -> None:
        principal: Principal | None = getattr(req.context, "principal", None)
        if principal is None:
            return
        try:
            decision = await self.limiter.try_acquire(
                f"api:{principal.user_id}", self.capacity, self.per_seconds
            )
        except Exception:  # limiter down: fail open, visibly
            self._fail_open()
            return
        resp.set_header("X-RateLimit-Limit", str(decision.limit))
        resp.set_header("X-RateLimit-Remaining", str(max(decision.remaining, 0)))
        if not decision.allowed:
            metrics.INBOUND_RATE_LIMITED.inc()
            retry = str(max(1, int(decision.retry_after + 0.999)))
            raise ApiError(
                429,
                "rate_limited",
                f"too many requests; retry in {retry} s",
                details={"retry_after": decision.retry_after},
                headers={
                    "Retry-After": retry,
                    "X-RateLimit-Limit": str(decision.limit),
                    "X-RateLimit-Remaining": "0",
                },
            )

    def _fail_open(self) -> None:
        metrics.RATE_LIMITER_ERRORS.inc()
        now = time.monotonic()
        if now - self._last_warning > 30:
            self._last_warning = now
            log.warning("rate limiter unavailable; letting requests through", exc_info=True)


class LifespanMiddleware:
    """Closes pools and clients when the server stops (ASGI lifespan); while it is stopping,
    every answer closes its connection (`runtime.stop_accepting`)."""

    def __init__(self, runtime: Any) -> None:
        self.runtime = runtime

    async def process_response(
        self,
        req: falcon.asgi.Request,
        resp: falcon.asgi.Response,
        resource: object,
        req_succeeded: bool,
    ) -> None:
        if self.runtime.stopping:
            resp.set_header("Connection", "close")

    async def process_startup(self, scope: Any, event: Any) -> None:
        return None

    async def process_shutdown(self, scope: Any, event: Any) -> None:
        await self.runtime.close()


def request_id_of(req: falcon.asgi.Request) -> str | None:
    """The id `RequestContext` gave this request, for use cases that queue work (the worker
    logs it beside the job)."""
    found = getattr(req.context, "request_id", None)
    return str(found) if found else None

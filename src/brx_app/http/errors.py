"""Every error becomes the one JSON shape, in this one place: domain families to statuses,
validation to 400 naming the field, Falcon's own errors re-shaped, and anything unexpected to a
generic 500 whose stack trace goes to the log and never to the client."""

from __future__ import annotations

import logging
from typing import Any

import falcon
import falcon.asgi
from pydantic import ValidationError

from brx_app.logs import request_id_var
from brx_domain.errors import (
    Conflict,
    DependencyUnavailable,
    DomainError,
    InsufficientStock,
    InvalidInput,
    MarketplaceError,
    MarketplaceNotFound,
    MarketplaceRateLimited,
    MarketplaceUnauthorized,
    MarketplaceUnavailable,
    MarketplaceValidation,
    NotFound,
    Unauthenticated,
)
from brx_domain.idempotency import IdempotencyKeyReused

log = logging.getLogger("brx.http")

# Most specific first: the first family an error belongs to decides its status.
DOMAIN_STATUS: tuple[tuple[type[DomainError], int], ...] = (
    (InvalidInput, 400),
    (InsufficientStock, 400),
    (Unauthenticated, 401),
    (NotFound, 404),
    (Conflict, 409),
    (IdempotencyKeyReused, 422),
    (MarketplaceUnauthorized, 422),  # the CardTrader token given to us is not accepted
    (MarketplaceValidation, 422),
    (MarketplaceRateLimited, 503),
    (MarketplaceUnavailable, 503),
    (MarketplaceNotFound, 502),
    (MarketplaceError, 502),
    (DependencyUnavailable, 503),
)

HTTP_CODES = {
    400: "invalid_input",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    411: "length_required",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "unprocessable",
    429: "rate_limited",
    503: "service_unavailable",
}


class ApiError(Exception):
    """An HTTP-level refusal raised by the edge itself (403, 413, 415, 429, 503 ...)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.details, self.headers = details, headers or {}


def trace_id(req: falcon.asgi.Request) -> str:
    return str(getattr(req.context, "request_id", None) or request_id_var.get() or "-")


def render(
    req: falcon.asgi.Request,
    resp: falcon.asgi.Response,
    status: int,
    code: str,
    message: str,
    details: Any = None,
) -> None:
    resp.status = status
    resp.media = {
        "error": {"code": code, "message": message, "details": details},
        "trace_id": trace_id(req),
    }


def status_of(exc: DomainError) -> int:
    for family, status in DOMAIN_STATUS:
        if isinstance(exc, family):
            return status
    return 400


async def on_domain_error(
    req: falcon.asgi.Request, resp: falcon.asgi.Response, exc: DomainError, params: Any
) -> None:
    status = status_of(exc)
    if status >= 500:
        log.warning("dependency failure: %s", exc.code, extra={"error_code": exc.code})
    if status == 401:
        resp.set_header("WWW-Authenticate", "Bearer")
    retry_after = getattr(exc, "retry_after", None)
    if status == 503:
        resp.set_header("Retry-After", str(max(1, round(retry_after or 5))))
    render(req, resp, status, exc.code, exc.message, exc.details)


async def on_api_error(
    req: falcon.asgi.Request, resp: falcon.asgi.Response, exc: ApiError, params: Any
) -> None:
    for name, value in exc.headers.items():
        resp.set_header(name, value)
    render(req, resp, exc.status, exc.code, exc.message, exc.details)


async def on_validation_error(
    req: falcon.asgi.Request, resp: falcon.asgi.Response, exc: ValidationError, params: Any
) -> None:
    """400 naming the first offending field (pydantic's own text, without the input echoed);
    a model-level rule names its field in the error's context (`schemas.refused`)."""
    errors = exc.errors(include_url=False, include_input=False)
    first = errors[0] if errors else {"loc": (), "msg": "invalid input"}
    details = {
        "field": _field(first),
        "errors": [{"field": _field(e), "message": e["msg"]} for e in errors[:20]],
    }
    render(req, resp, 400, "invalid_input", f"{details['field']}: {first['msg']}", details)


def _field(error: Any) -> str:
    loc = ".".join(str(part) for part in error["loc"])
    return loc or str((error.get("ctx") or {}).get("field") or "body")


async def on_http_error(
    req: falcon.asgi.Request, resp: falcon.asgi.Response, exc: falcon.HTTPError, params: Any
) -> None:
    """Falcon's own refusals (unknown route, wrong method, bad JSON) in our shape."""
    status = exc.status_code
    for name, value in dict(exc.headers or {}).items():
        resp.set_header(name, value)
    message = exc.description or exc.title or "request refused"
    render(req, resp, status, HTTP_CODES.get(status, "http_error"), str(message))


async def on_unexpected(
    req: falcon.asgi.Request, resp: falcon.asgi.Response, exc: Exception, params: Any
) -> None:
    log.error(
        "unhandled error on %s %s",
        req.method,
        req.uri_template or req.path,
        exc_info=(type(exc), exc, exc.__traceback__),
    )
    render(req, resp, 500, "internal_error", "internal server error; quote the trace_id")


def register_error_handlers(app: falcon.asgi.App[Any, Any]) -> None:
    """The one place where exceptions meet HTTP (Falcon picks the most specific handler)."""
    app.add_error_handler(Exception, on_unexpected)
    app.add_error_handler(falcon.HTTPError, on_http_error)
    app.add_error_handler(DomainError, on_domain_error)
    app.add_error_handler(ApiError, on_api_error)
    app.add_error_handler(ValidationError, on_validation_error)

"""Reading requests at the edge, the one way every resource does it: path parameters, query
strings and JSON bodies through the pydantic models of `schemas.py` (each a 400 naming the
field), bodies read with a hard bound (Content-Length is checked first but never trusted alone)
and decoded by the domain's JSON reader (depth, U+0000, lone surrogates, NaN)."""

from __future__ import annotations

from typing import Any, TypeVar

import falcon.asgi
from pydantic import BaseModel

from brx_app.http.errors import ApiError
from brx_app.http.schemas import PathParams
from brx_domain.json_input import decode_object
from brx_domain.limits import JSON_BODY_MAX

M = TypeVar("M", bound=BaseModel)


def path_params(params: dict[str, Any]) -> dict[str, Any]:
    """The route's path parameters, typed and bounded by `PathParams`."""
    return PathParams.model_validate(params).model_dump()


def query(req: falcon.asgi.Request, model: type[M]) -> M:
    """The query string validated by `model`; a repeated parameter counts as its last value."""
    raw = {k: (v[-1] if isinstance(v, list) else v) for k, v in req.params.items()}
    return model.model_validate(raw)


async def read_body(req: falcon.asgi.Request, limit: int) -> bytes:
    """The raw body, read once per request (kept on the request for a second reader, such as
    the idempotency check and then the responder)."""
    kept: bytes | None = getattr(req.context, "raw_body", None)
    if kept is not None:
        return kept
    too_large = ApiError(
        413,
        "payload_too_large",
        f"request body is larger than {limit} bytes",
        details={"limit": limit},
    )
    if req.content_length is not None and req.content_length > limit:
        raise too_large
    body: bytes = await req.stream.read(limit + 1)
    if len(body) > limit:
        raise too_large
    req.context.raw_body = body
    return body


def _is_json(content_type: str | None) -> bool:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


async def read_json(req: falcon.asgi.Request, model: type[M], limit: int = JSON_BODY_MAX) -> M:
    """415 unless JSON, 413 over `limit`, 400 for malformed JSON or a field `model` refuses.
    An empty body is validated as `{}` (so the model names what is missing)."""
    body = await read_body(req, limit)
    if not body.strip():
        return model.model_validate({})
    if not _is_json(req.content_type):
        raise ApiError(415, "unsupported_media_type", "send the body as application/json")
    return model.model_validate(decode_object(body))

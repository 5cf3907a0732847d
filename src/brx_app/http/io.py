"""Reading requests at the edge: query strings and JSON bodies through pydantic models, and
bodies read with a hard bound (Content-Length is checked first but never trusted alone)."""

from __future__ import annotations

import json
from typing import Any, TypeVar

import falcon.asgi
from pydantic import BaseModel

from brx_app.http.errors import ApiError

M = TypeVar("M", bound=BaseModel)

JSON_BODY_LIMIT = 64 * 1024
INT64 = 2**63 - 1


def query(req: falcon.asgi.Request, model: type[M]) -> M:
    """The query string validated by `model`; a repeated parameter counts as its last value."""
    raw = {k: (v[-1] if isinstance(v, list) else v) for k, v in req.params.items()}
    return model.model_validate(raw)


async def read_body(req: falcon.asgi.Request, limit: int) -> bytes:
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
    return body


def _is_json(content_type: str | None) -> bool:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


async def read_json(req: falcon.asgi.Request, model: type[M], limit: int = JSON_BODY_LIMIT) -> M:
    """415 unless JSON, 413 over `limit`, 400 for malformed JSON or a field `model` refuses."""
    body = await read_body(req, limit)
    if body.strip() and not _is_json(req.content_type):
        raise ApiError(415, "unsupported_media_type", "send the body as application/json")
    try:
        raw: Any = json.loads(body) if body.strip() else {}
    except (ValueError, UnicodeDecodeError):
        raise ApiError(
            400, "invalid_input", "body: is not valid JSON", details={"field": "body"}
        ) from None
    if not isinstance(raw, dict):
        raise ApiError(
            400, "invalid_input", "body: must be a JSON object", details={"field": "body"}
        )
    return model.model_validate(raw)


def path_int(value: str, field: str) -> int:
    """A positive id from the path; anything else is a 400 naming the parameter."""
    if not (value.isascii() and value.isdigit() and len(value) <= 19 and 1 <= int(value) <= INT64):
        raise ApiError(
            400, "invalid_input", f"{field}: must be a positive integer", details={"field": field}
        )
    return int(value)

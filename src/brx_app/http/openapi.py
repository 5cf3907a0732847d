"""OpenAPI 3.1 from the route table and the same pydantic models that validate requests.

Every route `create_app` adds is described by a `Route`, so a route cannot be served without
being documented (a test walks Falcon's router to prove it)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from brx_app.http.idempotency import is_idempotent
from brx_app.http.middleware import OPERATOR, PUBLIC, USER
from brx_app.http.responses import ErrorBody
from brx_app.http.schemas import IdempotencyHeader, PathParams

REF = "#/components/schemas/{model}"
PATH_PARAMS: dict[str, dict[str, Any]] = PathParams.model_json_schema()["properties"]
ERROR_TEXT = {
    400: "Bad input (the offending field is named)",
    401: "Missing or invalid token or signature",
    403: "Not the caller's user, or not an operator",
    404: "Not found (or not the caller's)",
    409: "Conflict with the current state",
    413: "Body too large",
    415: "Body is not JSON",
    422: "Semantically invalid",
    429: "Rate limited (see Retry-After)",
    502: "CardTrader answered with an error",
    503: "A dependency is unavailable",
}


@dataclass(frozen=True)
class Op:
    summary: str
    response: type[BaseModel] | None
    status: int = 200
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    errors: tuple[int, ...] = ()
    content_type: str = "application/json"
    probe: bool = False  # a health probe: its 503 is the same model as its 200, not an error


@dataclass(frozen=True)
class Route:
    path: str
    resource: object
    ops: Mapping[str, Op] = field(default_factory=dict)

    @property
    def auth(self) -> str:
        return str(getattr(self.resource, "auth", USER))


Refs = Mapping[tuple[Any, Any], dict[str, Any]]


def _pairs(routes: Iterable[Route]) -> list[tuple[type[BaseModel], Any]]:
    """Request bodies in validation mode, responses in serialization mode (pydantic names
    the two `-Input`/`-Output` only when they differ)."""
    found: dict[tuple[type[BaseModel], str], None] = {(ErrorBody, "serialization"): None}
    for route in routes:
        for op in route.ops.values():
            if op.response is not None:
                found[(op.response, "serialization")] = None
            for request in (op.body, op.query):
                if request is not None:
                    found[(request, "validation")] = None
    return list(found)


def _parameters(
    route: Route, method: str, op: Op, refs: Refs, defs: Mapping[str, Any]
) -> list[dict[str, Any]]:
    params = [
        {"name": name, "in": "path", "required": True, "schema": PATH_PARAMS[name]}
        for name in re.findall(r"{(\w+)}", route.path)
    ]
    if op.query is not None:
        model = refs[(op.query, "validation")]["$ref"].rsplit("/", 1)[-1]
        for name, prop in defs[model].get("properties", {}).items():
            params.append({"name": name, "in": "query", "required": False, "schema": prop})
    if _idempotent(route, method):
        [(name, prop)] = IdempotencyHeader.model_json_schema()["properties"].items()
        description = prop.pop("description", "")
        params.append(
            {
                "name": name,
                "in": "header",
                "required": False,
                "schema": prop,
                "description": description,
            }
        )
    return params


def _idempotent(route: Route, method: str) -> bool:
    """Read off the responder itself (`@idempotent`), so the document follows the code."""
    return is_idempotent(getattr(route.resource, f"on_{method.lower()}", None))


def _error_codes(route: Route, method: str, op: Op) -> list[int]:
    codes = set(op.errors)
    if _idempotent(route, method):
        codes |= {400, 409, 422}
    if route.auth in (USER, OPERATOR):
        codes |= {401, 403, 429, 503}
    if route.ops and any(p in route.path for p in ("{user_id}", "{item_id}")):
        codes.add(400)
    if op.body is not None:
        codes |= {400, 413, 415}
    if op.query is not None:
        codes.add(400)
    return sorted(codes)


def _operation(
    route: Route, method: str, op: Op, refs: Refs, defs: Mapping[str, Any]
) -> dict[str, Any]:
    success: dict[str, Any] = {"description": op.summary}
    if op.response is not None:
        success["content"] = {op.content_type: {"schema": refs[(op.response, "serialization")]}}
    elif op.content_type != "application/json":
        success["content"] = {op.content_type: {"schema": {"type": "string"}}}
    responses: dict[str, Any] = {str(op.status): success}
    if op.probe and op.response is not None:
        responses["503"] = {
            "description": "Not ready: a dependency is down, or the process is stopping",
            "content": {op.content_type: {"schema": refs[(op.response, "serialization")]}},
        }
    for code in _error_codes(route, method, op):
        responses[str(code)] = {
            "description": ERROR_TEXT.get(code, "Error"),
            "content": {"application/json": {"schema": refs[(ErrorBody, "serialization")]}},
        }
    slug = re.sub(r"[^a-z0-9]+", "_", route.path.lower()).strip("_")
    out: dict[str, Any] = {
        "summary": op.summary,
        "operationId": f"{method.lower()}_{slug}",
        "parameters": _parameters(route, method, op, refs, defs),
        "responses": responses,
    }
    if op.body is not None:
        schema = refs[(op.body, "validation")]
        out["requestBody"] = {"required": True, "content": {"application/json": {"schema": schema}}}
    out["security"] = [] if route.auth == PUBLIC else [{"bearerAuth": []}]
    return out


def build_openapi(routes: Iterable[Route], *, version: str) -> dict[str, Any]:
    routes = list(routes)
    refs, top = models_json_schema(_pairs(routes), ref_template=REF)
    defs = top.get("$defs", {})
    paths: dict[str, Any] = {}
    for route in routes:
        item = paths.setdefault(route.path, {})
        for method, op in route.ops.items():
            item[method.lower()] = _operation(route, method, op, refs, defs)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "BRX Sync",
            "version": version,
            "description": "Keeps a card shop's inventory and its CardTrader listing the same.",
        },
        "paths": paths,
        "components": {
            "schemas": defs,
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
        },
    }

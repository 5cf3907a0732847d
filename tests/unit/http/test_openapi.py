"""The OpenAPI document is generated from the route table: every route Falcon serves is in it."""

from __future__ import annotations

from typing import Any

import falcon.asgi

from brx_app.http import create_app
from tests.unit.http.conftest import Api


def served_routes(app: falcon.asgi.App[Any, Any]) -> set[tuple[str, str]]:
    """(template, METHOD) for every responder the app's router holds (except OPTIONS)."""
    found: set[tuple[str, str]] = set()
    nodes = list(app._router._roots)
    while nodes:
        node = nodes.pop()
        nodes.extend(node.children)
        if node.method_map:
            for method, responder in node.method_map.items():
                if method != "OPTIONS" and not getattr(responder, "__name__", "").startswith(
                    "method_not_allowed"
                ):
                    found.add((node.uri_template, method))
    return found


async def test_every_served_route_is_documented(api: Api) -> None:
    app = create_app(api.container)
    result = await api.conductor.simulate_get("/openapi.json")
    document = result.json
    documented = {
        (path, method.upper()) for path, item in document["paths"].items() for method in item
    }
    served = served_routes(app) - {("/openapi.json", "GET")}
    assert served == documented
    assert document["openapi"].startswith("3.1")


async def test_every_schema_reference_resolves(api: Api) -> None:
    document = (await api.conductor.simulate_get("/openapi.json")).json
    schemas = document["components"]["schemas"]
    refs: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "$ref" in node:
                refs.append(node["$ref"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document)
    assert refs
    assert all(ref.removeprefix("#/components/schemas/") in schemas for ref in refs)
    assert "ErrorBody" in schemas and "ItemUpdate" in schemas


def _nulls(node: Any, components: dict[str, Any], seen: set[str], where: str) -> list[str]:
    """Where a schema admits null (a `null` type or a `null` default), following $refs."""
    found: list[str] = []
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            name = ref.rsplit("/", 1)[-1]
            if name not in seen:
                seen.add(name)
                found += _nulls(components[name], components, seen, name)
        if node.get("type") == "null" or ("default" in node and node["default"] is None):
            found.append(where)
        for key, child in node.items():
            found += _nulls(child, components, seen, f"{where}.{key}")
    elif isinstance(node, list):
        for child in node:
            found += _nulls(child, components, seen, where)
    return found


async def test_no_request_field_admits_null(api: Api) -> None:
    """Optional request fields are `T | MISSING`: left out, never null (CardTrader's webhook
    envelope, which the service does not design, is the one exception)."""
    document = (await api.conductor.simulate_get("/openapi.json")).json
    components = document["components"]["schemas"]
    found: list[str] = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            where = f"{method.upper()} {path}"
            for param in operation["parameters"]:
                found += _nulls(param["schema"], components, set(), f"{where} {param['name']}")
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body and body["schema"]["$ref"] != "#/components/schemas/WebhookEvent":
                found += _nulls(body["schema"], components, set(), where)
    assert found == []

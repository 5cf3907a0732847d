"""The API reference: every operation has a readable id, a tag, a description and an example
that its own pydantic models accept; the webhook documents its `Signature` header."""

from __future__ import annotations

import re
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from brx_app.http.app import api_routes, public_routes
from brx_app.http.reference import DOCS, TAGS
from tests.unit.http.conftest import Api


def _operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method.upper(), path): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
    }


@pytest.fixture
async def document(api: Api) -> dict[str, Any]:
    return dict((await api.conductor.simulate_get("/openapi.json")).json)


async def test_every_operation_has_a_readable_id_a_known_tag_and_a_description(
    document: dict[str, Any],
) -> None:
    operations = _operations(document)
    missing = sorted(set(operations) - set(DOCS))
    assert not missing, f"add them to brx_app/http/reference.py: {missing}"
    ids = [op["operationId"] for op in operations.values()]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z]+(?:[A-Z][a-z]+)+|[a-z]+", i) for i in ids), ids
    tags = {t["name"] for t in document["tags"]}
    assert tags == {t["name"] for t in TAGS}
    for key, operation in operations.items():
        assert len(operation["tags"]) == 1 and operation["tags"][0] in tags, key
        assert len(operation["description"]) > len(operation["summary"]) // 2, key
    used = {op["tags"][0] for op in operations.values()}
    assert used == tags, "a tag without operations"


async def test_every_example_is_accepted_by_the_operations_own_models(api: Api) -> None:
    routes = api_routes(api.container) + public_routes(api.container)
    checked = 0
    for route in routes:
        for method, op in route.ops.items():
            doc = DOCS[(method, route.path)]
            if op.response is not None:
                _accepts(op.response, doc.example, route.path)
                checked += 1
            else:  # text: /metrics has an example, pages need none
                assert op.content_type != "application/json", route.path
            assert (doc.request is None) == (op.body is None), (method, route.path)
            if op.body is not None:
                _accepts(op.body, doc.request, route.path)
    assert checked == sum(isinstance(d.example, dict) for d in DOCS.values())


def _accepts(model: type[BaseModel], example: Any, where: str) -> None:
    try:
        model.model_validate(example)
    except ValidationError as exc:  # pragma: no cover - the message is the point
        pytest.fail(f"{where}: the example does not fit {model.__name__}: {exc}")


async def test_examples_are_in_the_served_document(document: dict[str, Any]) -> None:
    for key, operation in _operations(document).items():
        success = next(v for k, v in operation["responses"].items() if k.startswith("2"))
        examples = [m.get("example") for m in success["content"].values()]
        assert examples == [DOCS[key].example], key
        if "requestBody" in operation:
            body = operation["requestBody"]["content"]["application/json"]
            assert body["example"] == DOCS[key].request, key


async def test_the_webhook_documents_its_signature_header_and_needs_no_token(
    document: dict[str, Any],
) -> None:
    webhook = document["paths"]["/api/v1/sync/webhook/user/{user_id}"]["post"]
    headers = [p for p in webhook["parameters"] if p["in"] == "header"]
    assert [(h["name"], h["required"]) for h in headers] == [("Signature", True)]
    assert "HMAC-SHA256" in headers[0]["description"]
    assert webhook["security"] == []
    assert "401" in webhook["responses"]

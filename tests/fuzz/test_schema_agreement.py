"""The OpenAPI document and the validation agree: whatever the document accepts, the API
accepts (schemathesis generates valid requests from /openapi.json; none may be refused as
invalid input), and what the API refuses the document refuses too (each refused payload is
checked against the document's own schema with a JSON Schema validator).

A client generated from the document therefore never sends what is then refused. Business
refusals (not enough stock, an unknown item, a conflict) are not schema questions and are
allowed; a 400 `invalid_input` is not."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import jsonschema_rs
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from brx_app.commands.keys import generate_rsa_pem
from brx_app.commands.token import mint_access_token
from brx_app.http import create_app
from tests.unit.http.conftest import CT_TOKEN, build_api

PRIVATE, PUBLIC = generate_rsa_pem()
CONTAINER, (CLOCK, GATEWAY) = build_api(PRIVATE, PUBLIC, RATE_LIMIT_REQUESTS="1000000000")
ACCOUNT = GATEWAY.add_account(CT_TOKEN)
USER = uuid.uuid4()
HEADERS = {"Authorization": f"Bearer {mint_access_token(PRIVATE, str(USER), minutes=240)}"}
APP = create_app(CONTAINER)
SCHEMA = schemathesis.openapi.from_asgi("/openapi.json", APP)
DOCUMENT: dict[str, Any] = SCHEMA.raw_schema
ITEM = "/api/v1/sync/inventory/{user_id}/item/{item_id}"
PURCHASE = "/api/v1/sync/purchase/{user_id}/item/{item_id}"
SETUP = "/api/v1/sync/setup-test-user"


async def _seed() -> int:
    from brx_domain.inventory import InventoryItem
    from brx_domain.usecases.users import register_user

    await register_user(CONTAINER.ports(), USER, CT_TOKEN)
    async with CONTAINER.uow()() as uow:
        item = await uow.items.add(InventoryItem(0, USER, 101, 10**9, 100, external_stock_id="1"))
        await uow.commit()
    return item.id


ITEM_ID = asyncio.run(_seed())


def _validator(path: str, method: str) -> Any:
    """The document's schema of the operation's body (formats such as `uuid` checked too)."""
    operation = DOCUMENT["paths"][path][method.lower()]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    root = {**schema, "components": DOCUMENT["components"]}
    return jsonschema_rs.validator_for(root, validate_formats=True)


def _refused_as_input(response: Any) -> bool:
    if response.status_code == 422:
        # a generated Idempotency-Key reused with another body is a business refusal
        return bool(response.json()["error"]["code"] != "idempotency_key_reused")
    return response.status_code == 400 and response.json()["error"]["code"] == "invalid_input"


# --- the document's requests are accepted ----------------------------------------------------

BODY_OPERATIONS = [(ITEM, "PUT"), (PURCHASE, "POST")]
QUERY_OPERATIONS = [
    ("/api/v1/sync/inventory/{user_id}", "GET"),
    ("/api/v1/sync/inventory/{user_id}/item/{item_id}/history", "GET"),
    ("/api/v1/sync/sync-from-cardtrader/{user_id}", "POST"),
    ("/api/v1/sync/task/{task_id}", "GET"),
]


@pytest.mark.parametrize(("path", "method"), BODY_OPERATIONS + QUERY_OPERATIONS)
def test_every_request_the_document_accepts_is_accepted(path: str, method: str) -> None:
    operation = SCHEMA[path][method]
    validator = _validator(path, method) if (path, method) in BODY_OPERATIONS else None

    @given(operation.as_strategy())
    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    def check(case: Any) -> None:
        if "user_id" in case.path_parameters:
            case.path_parameters["user_id"] = str(USER)
        if "item_id" in case.path_parameters:
            case.path_parameters["item_id"] = ITEM_ID
        if validator is not None:
            assert validator.is_valid(case.body), case.body  # the generator keeps to the schema
        response = case.call(headers=HEADERS)
        assert response.status_code < 500, response.text
        assert not _refused_as_input(response), (case.body, case.query, response.text)

    check()


def test_every_setup_request_the_document_accepts_is_accepted() -> None:
    operation = SCHEMA[SETUP]["POST"]
    validator = _validator(SETUP, "post")

    @given(operation.as_strategy())
    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    def check(case: Any) -> None:
        assert validator.is_valid(case.body), case.body
        response = case.call()
        # the token is not CardTrader's (422 from CardTrader's answer), but never bad input
        assert response.status_code in (200, 422), response.text
        assert response.status_code == 200 or response.json()["error"]["code"] != "invalid_input"

    check()


# --- what the API refuses, the document refuses ----------------------------------------------

REFUSED: list[tuple[str, str, Any]] = [
    (ITEM, "put", {}),
    (ITEM, "put", {"price_cents": None}),
    (ITEM, "put", {"quantity": -1}),
    (ITEM, "put", {"quantity": 2**31}),
    (ITEM, "put", {"quantity": "3"}),
    (ITEM, "put", {"quantity": 1.5}),
    (ITEM, "put", {"graded": 1}),
    (ITEM, "put", {"description": "x" * 2001}),
    (ITEM, "put", {"description": "box\x00"}),
    (ITEM, "put", {"blueprint_id": 5}),
    (ITEM, "put", {"properties": None}),
    (ITEM, "put", {"properties": {"mtg_foil": None}}),
    (ITEM, "put", {"properties": {"mtg_foil": "true"}}),
    (ITEM, "put", {"properties": {"condition": "Pristine"}}),
    (ITEM, "put", {"properties": {"condition": "nEaR mInT"}}),
    (ITEM, "put", {"properties": {"mtg_language": "klingon"}}),
    (ITEM, "put", {"properties": {"extra": {"nested": 1}}}),
    (ITEM, "put", {"properties": {"extra": None}}),
    (ITEM, "put", {"properties": {"extra": "x" * 257}}),
    (ITEM, "put", {"properties": {"k" * 65: 1}}),
    (ITEM, "put", {"properties": {"": 1}}),
    (ITEM, "put", {"properties": {"k\x00": 1}}),
    (ITEM, "put", {"properties": {f"k{i}": i for i in range(51)}}),
    (PURCHASE, "post", {}),
    (PURCHASE, "post", {"purchaseQuantity": 0}),
    (PURCHASE, "post", {"purchaseQuantity": None}),
    (PURCHASE, "post", {"purchaseQuantity": True}),
    (PURCHASE, "post", {"quantity": 2**31}),
    (PURCHASE, "post", {"purchaseQuantity": 1, "quantity": 1}),
    (PURCHASE, "post", {"purchaseQuantity": 1, "note": "gift"}),
    (SETUP, "post", {"user_id": str(USER)}),
    (SETUP, "post", {"user_id": "nope", "cardtrader_token": "t"}),
    (SETUP, "post", {"user_id": str(USER), "cardtrader_token": ""}),
    (SETUP, "post", {"user_id": str(USER), "cardtrader_token": "tök"}),
    (SETUP, "post", {"user_id": str(USER), "cardtrader_token": "a b"}),
    (SETUP, "post", {"user_id": str(USER), "cardtrader_token": "\x00"}),
    (SETUP, "post", {"user_id": str(USER), "cardtrader_token": "t" * 4097}),
]


@pytest.mark.parametrize(("path", "method", "body"), REFUSED)
def test_what_the_api_refuses_the_document_refuses(path: str, method: str, body: Any) -> None:
    operation = SCHEMA[path][method.upper()]
    case = operation.Case(
        path_parameters={"user_id": str(USER), "item_id": ITEM_ID} if "{" in path else {},
        body=body,
        media_type="application/json",
    )

    response = case.call(headers=HEADERS)

    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_input"
    assert not _validator(path, method).is_valid(body)

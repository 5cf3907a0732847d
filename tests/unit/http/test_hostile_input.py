"""Hostile input is a 4xx naming the field, with nothing changed: bodies nested far beyond the
interpreter's stack, U+0000 (Postgres cannot store it) and lone surrogates, NaN, control
characters and absurd lengths in path parameters, a CardTrader token that cannot travel in an
HTTP header. Real signatures and tokens; the in-memory stores show that nothing was written."""

from __future__ import annotations

import json
from typing import Any

import pytest

from brx_domain.usecases.webhooks import sign
from tests.unit.http.conftest import Api


def _secret(api: Api) -> str:
    encrypted = api.store.settings[api.user_id].webhook_secret_encrypted
    assert encrypted is not None
    return str(api.container.cipher().decrypt(encrypted))


def _envelope(api: Api, data: str) -> bytes:
    now = int(api.clock.now().timestamp())
    return (
        f'{{"id": "evt-deep", "time": {now}, "cause": "order.create", "object_class": "Order",'
        f' "object_id": 7, "mode": "live", "data": {data}}}'
    ).encode()


async def _signed(api: Api, body: bytes) -> Any:
    return await api.conductor.simulate_post(
        f"/api/v1/sync/webhook/user/{api.user_id}",
        body=body,
        headers={"Content-Type": "application/json", "Signature": sign(body, _secret(api))},
    )


def _assert_refused(result: Any, field: str) -> None:
    assert result.status_code == 400, result.text
    assert result.json["error"]["details"]["field"] == field
    assert "Traceback" not in result.text


async def test_a_signed_webhook_nested_100000_deep_is_400_and_stores_nothing(api: Api) -> None:
    await api.register()

    result = await _signed(api, b"[" * 100_000 + b"]" * 100_000)

    _assert_refused(result, "body")
    assert not api.store.webhooks and api.queue.pop_all() == []


async def test_a_valid_envelope_with_data_nested_50000_deep_is_400(api: Api) -> None:
    await api.register()

    result = await _signed(api, _envelope(api, '{"a": ' * 50_000 + "1" + "}" * 50_000))

    _assert_refused(result, "body")
    assert "nested deeper than" in result.json["error"]["message"]
    assert not api.store.webhooks and api.queue.pop_all() == []


async def test_data_nested_past_the_limit_but_within_the_stack_names_where(api: Api) -> None:
    await api.register()

    result = await _signed(api, _envelope(api, '{"a": ' * 40 + "1" + "}" * 40))

    assert result.status_code == 400
    assert result.json["error"]["details"]["field"].startswith("data.a.a")
    assert not api.store.webhooks


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ('{"state": "paid\\u0000"}', "data.state"),
        ('{"state": "paid", "note": "\\ud800"}', "data.note"),
        ('{"state": "paid", "x\\u0000": 1}', "data.x\\u0000"),
        ('{"state": "paid", "total": NaN}', "body"),
    ],
)
async def test_a_signed_webhook_with_unstorable_text_is_400_naming_it(
    api: Api, data: str, field: str
) -> None:
    await api.register()

    result = await _signed(api, _envelope(api, data))

    _assert_refused(result, field)
    assert not api.store.webhooks


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"description": "box\x00 12"}, "description"),
        ({"user_data_field": "\x00"}, "user_data_field"),
        ({"properties": {"mtg_rarity": "R\x00"}}, "properties.mtg_rarity"),
        ({"properties": {"k\x00": "v"}}, "properties.k\\u0000"),
        ({"description": "\ud800"}, "description"),
    ],
)
async def test_unstorable_text_in_an_edit_is_400_naming_the_field(
    api: Api, body: dict[str, Any], field: str
) -> None:
    item_id = await api.add_item(5)
    before = api.store.items[item_id]

    result = await api.conductor.simulate_put(
        f"/api/v1/sync/inventory/{api.user_id}/item/{item_id}",
        body=json.dumps(body).encode(),
        headers={**api.auth(), "Content-Type": "application/json"},
    )

    _assert_refused(result, field)
    assert api.store.items[item_id] == before
    assert api.queue.pop_all() == []


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/v1/sync/task/%00", "task_id"),
        ("/api/v1/sync/task/a%01b", "task_id"),
        ("/api/v1/sync/task/%C3%A9", "task_id"),
        ("/api/v1/sync/task/" + "a" * 256, "task_id"),
        ("/api/v1/sync/inventory/{user}/item/%00", "item_id"),
        ("/api/v1/sync/inventory/{user}/item/" + "9" * 20, "item_id"),
        ("/api/v1/sync/inventory/{user}/item/0", "item_id"),
        ("/api/v1/sync/status/%00", "user_id"),
        ("/api/v1/sync/status/" + "a" * 5000, "user_id"),
    ],
)
async def test_a_bad_path_parameter_is_400_naming_it(api: Api, path: str, field: str) -> None:
    result = await api.conductor.simulate_get(path.format(user=api.user_id), headers=api.auth())

    _assert_refused(result, field)


async def test_a_bad_path_is_still_401_without_a_token(api: Api) -> None:
    result = await api.conductor.simulate_get("/api/v1/sync/task/%00")

    assert result.status_code == 401


@pytest.mark.parametrize("token", ["\x00", "tök-en", "to ken", "tok\nen", "tok\ten", "", " "])
async def test_a_cardtrader_token_that_cannot_be_sent_is_400_and_never_reaches_cardtrader(
    api: Api, token: str
) -> None:
    for _ in range(3):  # a breaker fed by these would open: every answer stays the same 400
        result = await api.conductor.simulate_post(
            "/api/v1/sync/setup-test-user",
            json={"user_id": str(api.user_id), "cardtrader_token": token},
        )
        _assert_refused(result, "cardtrader_token")
    assert api.user_id not in api.store.settings

    fine = await api.conductor.simulate_post(
        "/api/v1/sync/setup-test-user",
        json={"user_id": str(api.user_id), "cardtrader_token": "ct-token-of-the-shop"},
    )
    assert fine.status_code == 200

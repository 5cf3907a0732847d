"""U+0000 against the production wiring: Postgres refuses it in text and jsonb, so each must be a
400 naming the field at the edge, with the row, the ledger and the queue unchanged, and the
service still answering afterwards (the refused request must not poison the connection)."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest

from brx_domain.usecases.webhooks import sign
from tests.integration.test_http_api import CT_TOKEN, LiveApi, live  # noqa: F401 - fixture

pytestmark = pytest.mark.integration


async def _state(api: LiveApi, item_id: int) -> tuple[Any, ...]:
    async with api.container.uow()() as uow:
        item = await uow.items.get(api.user_id, item_id)
        history = await uow.ledger.history(api.user_id, item_id, 100, 0)
    return item, len(history), sum((await api.container.queue().depth()).values())


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"description": "box\x0012"}, "description"),
        ({"user_data_field": "\x00"}, "user_data_field"),
        ({"properties": {"mtg_rarity": "R\x00"}}, "properties.mtg_rarity"),
        ({"properties": {"k\x00": "v"}}, "properties.k\\u0000"),
    ],
)
async def test_nul_in_an_edit_is_400_naming_the_field_and_changes_nothing(
    live: LiveApi,  # noqa: F811
    body: dict[str, Any],
    field: str,
) -> None:
    item_id = await live.add_item(5)
    before = await _state(live, item_id)
    path = f"/api/v1/sync/inventory/{live.user_id}/item/{item_id}"

    result = await live.conductor.simulate_put(
        path,
        body=json.dumps(body).encode(),
        headers={**live.auth(), "Content-Type": "application/json"},
    )

    assert result.status_code == 400, result.text
    assert result.json["error"]["details"]["field"] == field
    assert await _state(live, item_id) == before
    fine = await live.conductor.simulate_put(path, json={"description": "ok"}, headers=live.auth())
    assert fine.status_code == 200


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/api/v1/sync/task/%00", {}, "task_id"),
        ("/api/v1/sync/inventory/{user}", {"q": "cove\x00"}, "q"),
        ("/api/v1/sync/inventory/{user}", {"external_stock_id": "\x00"}, "external_stock_id"),
    ],
)
async def test_nul_in_a_path_or_query_is_400_naming_it(
    live: LiveApi,  # noqa: F811
    path: str,
    params: dict[str, str],
    field: str,
) -> None:
    result = await live.conductor.simulate_get(
        path.format(user=live.user_id), params=params, headers=live.auth()
    )

    assert result.status_code == 400, result.text
    assert result.json["error"]["details"]["field"] == field


async def test_a_signed_webhook_with_nul_is_400_and_nothing_is_stored(
    live: LiveApi,  # noqa: F811
) -> None:
    setup = await live.conductor.simulate_post(
        "/api/v1/sync/setup-test-user",
        json={"user_id": str(live.user_id), "cardtrader_token": CT_TOKEN},
    )
    assert setup.status_code == 200
    delivery = f"evt-{uuid.uuid4()}"
    body = json.dumps(
        {
            "id": delivery,
            "time": int(time.time()),
            "cause": "order.create",
            "object_class": "Order",
            "object_id": 9,
            "mode": "live",
            "data": {"id": 9, "state": "paid", "buyer": {"username": "bad\x00guy"}},
        }
    ).encode()
    secret = live.container.cipher().decrypt((await _settings(live)).webhook_secret_encrypted or "")

    result = await live.conductor.simulate_post(
        f"/api/v1/sync/webhook/user/{live.user_id}",
        body=body,
        headers={"Content-Type": "application/json", "Signature": sign(body, secret)},
    )

    assert result.status_code == 400, result.text
    assert result.json["error"]["details"]["field"] == "data.buyer.username"
    async with live.container.uow()() as uow:
        assert await uow.webhooks.get(live.user_id, delivery) is None


async def _settings(api: LiveApi) -> Any:
    async with api.container.uow()() as uow:
        return await uow.settings.get(api.user_id)

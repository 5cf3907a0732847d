"""`PUT/DELETE /connection/{user_id}` over the in-memory adapters: connect with a checked token,
disconnect (webhooks refused, nothing sent to CardTrader), purge (everything forgotten)."""

from __future__ import annotations

import json
import time

from brx_app.http.responses import ConnectionOut, DisconnectedOut, SyncStatusOut
from brx_app.jobs import run_job
from brx_domain.errors import MarketplaceUnavailable
from brx_domain.sync import OperationStatus
from brx_domain.usecases.webhooks import sign
from tests.unit.http.conftest import CT_TOKEN, Api

BASE = "/api/v1/sync"


def _connection(api: Api) -> str:
    return f"{BASE}/connection/{api.user_id}"


async def _connect(api: Api, token: str = CT_TOKEN) -> object:
    return await api.conductor.simulate_put(
        _connection(api), json={"cardtrader_token": token}, headers=api.auth()
    )


async def _webhook(api: Api, delivery_id: str = "d-1") -> object:
    body = json.dumps(
        {"id": delivery_id, "time": int(time.time()), "cause": "order.create",
         "object_class": "Order", "object_id": 1, "mode": "live", "data": {}}
    ).encode()  # fmt: skip
    secret = api.account.shared_secret
    return await api.conductor.simulate_post(
        f"{BASE}/webhook/user/{api.user_id}",
        body=body,
        headers={"Content-Type": "application/json", "Signature": sign(body, secret)},
    )


async def test_connecting_checks_the_token_and_answers_the_webhook_url(api: Api) -> None:
    answer = await _connect(api)

    assert answer.status_code == 200
    body = ConnectionOut.model_validate(answer.json)
    assert body.connected is True and body.user_id == api.user_id
    assert body.cardtrader_user_id == api.account.seller_id
    assert body.webhook_url == f"https://sync.example.com{BASE}/webhook/user/{api.user_id}"
    stored = api.store.settings[api.user_id]
    assert CT_TOKEN not in stored.cardtrader_token_encrypted
    assert api.container.cipher().decrypt(stored.cardtrader_token_encrypted) == CT_TOKEN
    status = await api.conductor.simulate_get(f"{BASE}/status/{api.user_id}", headers=api.auth())
    assert SyncStatusOut.model_validate(status.json).connected is True


async def test_a_refused_token_is_422_naming_it_and_stores_nothing(api: Api) -> None:
    answer = await _connect(api, "not-a-cardtrader-token")

    assert answer.status_code == 422
    assert answer.json["error"]["details"]["field"] == "cardtrader_token"
    assert "not-a-cardtrader-token" not in json.dumps(answer.json)
    assert api.user_id not in api.store.settings


async def test_cardtrader_down_is_503_and_stores_nothing(api: Api) -> None:
    api.account.fail_next(MarketplaceUnavailable("CardTrader is down"))
    answer = await _connect(api)

    assert answer.status_code == 503
    assert api.user_id not in api.store.settings


async def test_connecting_someone_else_is_403(api: Api) -> None:
    other = f"{BASE}/connection/00000000-0000-4000-8000-000000000001"
    answer = await api.conductor.simulate_put(
        other, json={"cardtrader_token": CT_TOKEN}, headers=api.auth()
    )
    assert answer.status_code == 403


async def test_replacing_the_token_keeps_the_inventory(api: Api) -> None:
    await _connect(api)
    item_id = await api.add_item(3)
    replacement = "a-new-token"
    api.gateway.add_account(replacement)

    answer = await _connect(api, replacement)

    assert answer.status_code == 200
    assert api.store.items[item_id].quantity == 3
    stored = api.store.settings[api.user_id].cardtrader_token_encrypted
    assert api.container.cipher().decrypt(stored) == replacement


async def test_a_disconnected_user_is_refused_webhooks_and_syncs_and_pushes(api: Api) -> None:
    await _connect(api)
    item_id = await api.add_item(3)
    assert (await _webhook(api, "before")).status_code == 200

    gone = await api.conductor.simulate_delete(_connection(api), headers=api.auth())
    webhook = await _webhook(api, "after")
    status = await api.conductor.simulate_get(f"{BASE}/status/{api.user_id}", headers=api.auth())
    start = await api.conductor.simulate_post(f"{BASE}/start/{api.user_id}", headers=api.auth())

    assert gone.status_code == 200 and DisconnectedOut.model_validate(gone.json).purged is False
    assert webhook.status_code == 401 and (api.user_id, "after") not in api.store.webhooks
    assert status.json["connected"] is False
    assert start.status_code == 409 and start.json["error"]["code"] == "not_connected"
    assert api.store.items[item_id].quantity == 3  # a disconnect keeps the data

    again = await _connect(api)
    assert again.status_code == 200
    assert (await _webhook(api, "reconnected")).status_code == 200


async def test_purging_erases_the_user_and_a_second_purge_is_404(api: Api) -> None:
    await _connect(api)
    await api.add_item(3)
    await _webhook(api)
    other_item = await api.add_item(2, user_id=api.user_id.__class__(int=api.user_id.int ^ 1))

    purged = await api.conductor.simulate_delete(
        _connection(api), params={"purge": "true"}, headers=api.auth()
    )
    again = await api.conductor.simulate_delete(
        _connection(api), params={"purge": "true"}, headers=api.auth()
    )
    status = await api.conductor.simulate_get(f"{BASE}/status/{api.user_id}", headers=api.auth())

    assert purged.status_code == 200
    body = DisconnectedOut.model_validate(purged.json)
    assert body.purged and body.removed["settings"] == 1 and body.removed["items"] == 1
    assert api.user_id not in api.store.settings and not api.store.items_of(api.user_id)
    assert not [op for op in api.store.operations.values() if op.user_id == api.user_id]
    assert other_item in api.store.items  # nobody else's rows
    assert again.status_code == 404
    assert status.status_code == 404


async def test_a_bad_purge_value_is_400_naming_purge(api: Api) -> None:
    await _connect(api)
    answer = await api.conductor.simulate_delete(
        _connection(api), params={"purge": "maybe"}, headers=api.auth()
    )
    assert answer.status_code == 400 and answer.json["error"]["details"]["field"] == "purge"
    assert api.store.settings[api.user_id].connected


async def test_pushes_queued_for_a_disconnected_user_are_not_sent(api: Api) -> None:
    await _connect(api)
    item_id = await api.add_item(3)
    await api.conductor.simulate_delete(_connection(api), headers=api.auth())
    api.account.calls.clear()

    edit = await api.conductor.simulate_put(
        f"{BASE}/inventory/{api.user_id}/item/{item_id}", json={"quantity": 5}, headers=api.auth()
    )
    for job in api.queue.pop_all():
        await run_job(api.container.ports(), job.job, job.job_id)

    operation = api.store.operations[edit.json["task_id"]]
    assert operation.status is OperationStatus.FAILED
    assert str(operation.metadata["error"]).startswith("not_connected")
    assert api.account.calls == []  # CardTrader never heard of it

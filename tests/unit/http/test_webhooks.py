"""The webhook receiver: signature over the raw body, one 401 for every rejection, size limit,
freshness, durable dedup by delivery id, fast acknowledgement, test mode kept off live stock."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from brx_domain.usecases.webhooks import sign
from tests.unit.http.conftest import Api


def _event(api: Api, event_id: str = "evt-1", **overrides: Any) -> bytes:
    body = {
        "id": event_id,
        "time": int(api.clock.now().timestamp()),
        "cause": "order.create",
        "object_class": "Order",
        "object_id": 77,
        "mode": "live",
        "data": {
            "id": 77,
            "state": "paid",
            "order_items": [{"product_id": 555, "quantity": 1}],
        },
        **overrides,
    }
    return json.dumps(body).encode()


def _secret(api: Api) -> str:
    encrypted = api.store.settings[api.user_id].webhook_secret_encrypted
    assert encrypted is not None
    return str(api.container.cipher().decrypt(encrypted))


async def _deliver(
    api: Api, body: bytes, signature: str | None, user_id: uuid.UUID | str | None = None
) -> Any:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["Signature"] = signature
    return await api.conductor.simulate_post(
        f"/api/v1/sync/webhook/user/{user_id or api.user_id}", body=body, headers=headers
    )


async def test_a_signed_delivery_is_stored_queued_and_acknowledged(api: Api) -> None:
    await api.register()
    body = _event(api)
    result = await _deliver(api, body, sign(body, _secret(api)))
    assert result.status_code == 200
    assert result.json["status"] == "accepted"
    assert result.json["webhook_id"] == "evt-1"
    assert result.json["user_id"] == str(api.user_id)
    assert isinstance(result.json["processing_time_ms"], float)
    assert (api.user_id, "evt-1") in api.store.webhooks
    assert [job.job for job in api.queue.pop_all()] == ["apply_webhook"]


async def test_the_same_delivery_sent_many_times_concurrently_is_stored_and_queued_once(
    api: Api,
) -> None:
    await api.register()
    body = _event(api)
    signature = sign(body, _secret(api))
    results = await asyncio.gather(*(_deliver(api, body, signature) for _ in range(10)))
    assert {r.status_code for r in results} == {200}
    assert {r.json["webhook_id"] for r in results} == {"evt-1"}
    assert len(api.queue.pop_all()) == 1


async def test_every_rejection_is_the_same_401_with_nothing_stored(api: Api) -> None:
    await api.register()
    unknown = uuid.uuid4()
    body = _event(api)
    good = sign(body, _secret(api))
    stale = _event(api, "evt-old", time=int(api.clock.now().timestamp()) - 8 * 24 * 3600)
    future = _event(api, "evt-new", time=int(api.clock.now().timestamp()) + 3600)
    results = [
        await _deliver(api, body, None),
        await _deliver(api, body, "bm90IGEgc2lnbmF0dXJl"),
        await _deliver(api, body + b" ", good),
        await _deliver(api, body, sign(body, "other-secret")),
        await _deliver(api, body, good, user_id=unknown),
        await _deliver(api, body, good, user_id="not-a-uuid"),
        await _deliver(api, stale, sign(stale, _secret(api))),
        await _deliver(api, future, sign(future, _secret(api))),
    ]
    assert [r.status_code for r in results] == [401] * len(results)
    assert len({json.dumps(r.json["error"]) for r in results}) == 1
    assert not api.store.webhooks
    assert api.queue.pop_all() == []


async def test_a_body_over_the_limit_is_413_even_when_content_length_lies(api: Api) -> None:
    await api.register()
    huge = b"{" + b" " * (1024 * 1024 + 10) + b"}"
    honest = await _deliver(api, huge, sign(huge, _secret(api)))
    lying = await api.conductor.simulate_post(
        f"/api/v1/sync/webhook/user/{api.user_id}",
        body=huge,
        headers={"Content-Length": "10", "Signature": sign(huge, _secret(api))},
    )
    assert honest.status_code == 413
    assert honest.json["error"]["code"] == "payload_too_large"
    assert lying.status_code in (400, 401, 413)  # never read past the bound, never stored
    assert not api.store.webhooks


async def test_a_signed_body_that_is_not_json_is_400(api: Api) -> None:
    await api.register()
    body = b"{not json"
    result = await _deliver(api, body, sign(body, _secret(api)))
    assert result.status_code == 400
    assert not api.store.webhooks


async def test_test_mode_deliveries_are_recorded_but_never_queued_for_live_stock(
    api: Api,
) -> None:
    await api.register()
    body = _event(api, "evt-test", mode="test")
    result = await _deliver(api, body, sign(body, _secret(api)))
    assert result.status_code == 200
    assert api.queue.pop_all() == []
    assert all(op.status.value == "completed" for op in api.store.operations.values())

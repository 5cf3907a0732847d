"""`Idempotency-Key` on the shop's writes, over the in-memory adapters: a repeat returns the
first answer and changes nothing; another request under the key is 422; keys are per user."""

from __future__ import annotations

import asyncio
import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.http.conftest import Api

BASE = "/api/v1/sync"


def _purchase(api: Api, item_id: int) -> str:
    return f"{BASE}/purchase/{api.user_id}/item/{item_id}"


def _item(api: Api, item_id: int) -> str:
    return f"{BASE}/inventory/{api.user_id}/item/{item_id}"


def _keyed(api: Api, key: str, user_id: uuid.UUID | None = None) -> dict[str, str]:
    return {**api.auth(user_id), "Idempotency-Key": key}


async def test_a_repeated_purchase_returns_the_first_answer_and_sells_once(api: Api) -> None:
    item_id = await api.add_listed_item(5)
    headers = _keyed(api, "order-1001")
    first = await api.conductor.simulate_post(
        _purchase(api, item_id), json={"purchaseQuantity": 2}, headers=headers
    )
    again = await api.conductor.simulate_post(
        _purchase(api, item_id), json={"purchaseQuantity": 2}, headers=headers
    )

    assert first.status_code == again.status_code == 200
    assert again.json == first.json and first.json["remaining_quantity"] == 3
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert api.store.items[item_id].quantity == 3
    assert [p.quantity for p in api.account.products.values()] == [3]  # CardTrader: once too


async def test_the_same_key_with_another_body_is_422_and_changes_nothing(api: Api) -> None:
    item_id = await api.add_listed_item(5)
    headers = _keyed(api, "k")
    await api.conductor.simulate_post(
        _purchase(api, item_id), json={"purchaseQuantity": 1}, headers=headers
    )
    other = await api.conductor.simulate_post(
        _purchase(api, item_id), json={"purchaseQuantity": 3}, headers=headers
    )
    other_item = await api.conductor.simulate_post(
        _purchase(api, await api.add_listed_item(5)), json={"purchaseQuantity": 1}, headers=headers
    )

    for refused in (other, other_item):
        assert refused.status_code == 422
        assert refused.json["error"]["code"] == "idempotency_key_reused"
        assert refused.json["error"]["details"]["field"] == "Idempotency-Key"
    assert api.store.items[item_id].quantity == 4


async def test_keys_are_per_user(api: Api) -> None:
    other_user = uuid.uuid4()
    mine, theirs = await api.add_listed_item(5), await api.add_listed_item(5, other_user)

    a = await api.conductor.simulate_post(
        _purchase(api, mine), json={"purchaseQuantity": 1}, headers=_keyed(api, "shared")
    )
    b = await api.conductor.simulate_post(
        f"{BASE}/purchase/{other_user}/item/{theirs}",
        json={"purchaseQuantity": 1},
        headers=_keyed(api, "shared", other_user),
    )

    assert a.status_code == b.status_code == 200
    assert api.store.items[mine].quantity == api.store.items[theirs].quantity == 4


async def test_concurrent_twins_sell_once_and_the_others_wait_or_replay(api: Api) -> None:
    item_id = await api.add_listed_item(10)
    headers = _keyed(api, "double-click")
    answers = await asyncio.gather(
        *(
            api.conductor.simulate_post(
                _purchase(api, item_id), json={"purchaseQuantity": 1}, headers=headers
            )
            for _ in range(8)
        )
    )

    statuses = sorted(a.status_code for a in answers)
    assert set(statuses) <= {200, 409} and statuses.count(200) >= 1
    sold = [a.json for a in answers if a.status_code == 200]
    assert all(body == sold[0] for body in sold)
    for waiting in (a for a in answers if a.status_code == 409):
        assert waiting.json["error"]["code"] == "idempotency_in_progress"
    assert api.store.items[item_id].quantity == 9


async def test_a_refused_request_releases_its_key_for_a_corrected_retry(api: Api) -> None:
    item_id = await api.add_listed_item(2)
    headers = _keyed(api, "retry-me")
    short = await api.conductor.simulate_post(
        _purchase(api, item_id), json={"purchaseQuantity": 3}, headers=headers
    )
    corrected = await api.conductor.simulate_post(
        _purchase(api, item_id), json={"purchaseQuantity": 2}, headers=headers
    )

    assert short.status_code == 400 and corrected.status_code == 200
    assert api.store.items[item_id].quantity == 0


async def test_a_key_lives_24_hours(api: Api) -> None:
    item_id = await api.add_listed_item(5)
    headers = _keyed(api, "day")
    send = {"json": {"purchaseQuantity": 1}, "headers": headers}
    await api.conductor.simulate_post(_purchase(api, item_id), **send)
    api.clock.advance(hours=23, minutes=59)
    await api.conductor.simulate_post(_purchase(api, item_id), **send)
    assert api.store.items[item_id].quantity == 4

    api.clock.advance(minutes=2)
    later = await api.conductor.simulate_post(_purchase(api, item_id), **send)
    assert later.status_code == 200 and "Idempotent-Replayed" not in later.headers
    assert api.store.items[item_id].quantity == 3


async def test_edits_and_deletes_replay_too(api: Api) -> None:
    item_id = await api.add_listed_item(5)
    edit = {"json": {"quantity": 7}, "headers": _keyed(api, "edit")}
    edited = [await api.conductor.simulate_put(_item(api, item_id), **edit) for _ in range(2)]
    gone = [
        await api.conductor.simulate_delete(_item(api, item_id), headers=_keyed(api, "del"))
        for _ in range(2)
    ]

    assert edited[0].json == edited[1].json and edited[0].status_code == 200
    assert gone[0].status_code == gone[1].status_code == 200  # not 404: the first answer
    assert gone[0].json == gone[1].json
    assert [job.job for job in api.queue.pop_all()] == ["push_update", "push_delete"]


async def test_no_key_means_no_replay(api: Api) -> None:
    item_id = await api.add_listed_item(5)
    for _ in range(2):
        await api.conductor.simulate_post(
            _purchase(api, item_id), json={"purchaseQuantity": 1}, headers=api.auth()
        )
    assert api.store.items[item_id].quantity == 3
    assert api.store.idempotency == {}


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.one_of(
        st.just(""),
        st.text(min_size=256, max_size=300, alphabet="abc"),
        st.text(min_size=1, max_size=20).filter(  # what a client strips is another key
            lambda k: k == k.strip() and any(not "\x21" <= ch <= "\x7e" for ch in k)
        ),
    )
)
async def test_a_malformed_key_is_400_naming_the_header_and_sells_nothing(
    api: Api, key: str
) -> None:
    item_id = await api.add_listed_item(5)
    headers = {**api.auth(), "Idempotency-Key": key}
    try:
        answer = await api.conductor.simulate_post(
            _purchase(api, item_id), json={"purchaseQuantity": 1}, headers=headers
        )
    except (UnicodeEncodeError, ValueError):  # not even sendable as a header: nothing to test
        return
    if not key.strip():
        # HTTP strips surrounding blanks; a blank value is no key at all for the server
        assert answer.status_code in (200, 400)
        return
    assert answer.status_code == 400
    assert answer.json["error"]["details"]["field"] == "Idempotency-Key"
    assert api.store.items[item_id].quantity == 5


async def test_the_openapi_document_lists_the_header_on_the_three_writes(api: Api) -> None:
    document = (await api.conductor.simulate_get("/openapi.json")).json
    keyed = {
        (path, method)
        for path, item in document["paths"].items()
        for method, op in item.items()
        if any(p["in"] == "header" and p["name"] == "Idempotency-Key" for p in op["parameters"])
    }
    assert keyed == {
        (f"{BASE}/purchase/{{user_id}}/item/{{item_id}}", "post"),
        (f"{BASE}/inventory/{{user_id}}/item/{{item_id}}", "put"),
        (f"{BASE}/inventory/{{user_id}}/item/{{item_id}}", "delete"),
    }
    purchase = document["paths"][f"{BASE}/purchase/{{user_id}}/item/{{item_id}}"]["post"]
    assert {"409", "422"} <= set(purchase["responses"])

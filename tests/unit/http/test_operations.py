"""`/operations/{user_id}` and its retry, over the in-memory adapters: every push visible with
why it failed, and a failed one queued again as a new task that lands."""

from __future__ import annotations

import logging
import uuid

import pytest

from brx_app import metrics
from brx_app.http.responses import OperationsOut, RetryAccepted
from brx_app.jobs import run_job
from brx_app.logs import RING
from brx_domain.errors import MarketplaceValidation
from brx_domain.inventory import InventoryItem
from brx_domain.sync import OperationStatus
from tests.unit.http.conftest import Api

BASE = "/api/v1/sync"


@pytest.fixture(autouse=True)
def ring_on_root() -> object:
    """The /debug-logs buffer, attached as `configure_logging` does in a served process."""
    root = logging.getLogger()
    root.addHandler(RING)
    yield RING
    root.removeHandler(RING)


async def _run_queued(api: Api) -> None:
    for job in api.queue.pop_all():
        await run_job(api.container.ports(), job.job, job.job_id)


async def _failed_push(api: Api) -> tuple[int, str]:
    """An edit whose push CardTrader refuses for good (a validation error is not retried)."""
    product = api.account.add_product(1234, 3)
    async with api.container.uow()() as uow:
        item = await uow.items.add(
            InventoryItem(0, api.user_id, 1234, 3, 100, external_stock_id=str(product.id))
        )
        await uow.commit()
    item_id = item.id
    api.account.fail_next(MarketplaceValidation("quantity: is invalid", {"quantity": ["bad"]}))
    edit = await api.conductor.simulate_put(
        f"{BASE}/inventory/{api.user_id}/item/{item_id}", json={"quantity": 5}, headers=api.auth()
    )
    await _run_queued(api)
    return item_id, str(edit.json["task_id"])


async def _list(api: Api, **params: str) -> OperationsOut:
    answer = await api.conductor.simulate_get(
        f"{BASE}/operations/{api.user_id}", params=params, headers=api.auth()
    )
    assert answer.status_code == 200, answer.json
    return OperationsOut.model_validate(answer.json)


async def test_operations_are_listed_newest_first_with_what_they_concern(api: Api) -> None:
    item_id = await api.add_listed_item(4)
    await api.conductor.simulate_post(
        f"{BASE}/purchase/{api.user_id}/item/{item_id}",
        json={"purchaseQuantity": 1},
        headers=api.auth(),
    )
    api.clock.advance(1)
    await api.conductor.simulate_post(f"{BASE}/start/{api.user_id}", headers=api.auth())

    page = await _list(api)
    purchases = await _list(api, type="purchase")

    assert page.total == 2
    assert [o.operation_type for o in page.items] == ["bulk_sync", "purchase"]
    assert purchases.total == 1 and purchases.items[0].item_id == item_id
    assert purchases.items[0].blueprint_id == 1234 and purchases.items[0].attempts == 1
    assert purchases.items[0].status == "completed" and purchases.items[0].last_error is None


async def test_bad_filters_and_pages_are_400_naming_the_parameter(api: Api) -> None:
    for params, field in (
        ({"status": "done"}, "status"),
        ({"type": "refund"}, "type"),
        ({"limit": "0"}, "limit"),
        ({"offset": "-1"}, "offset"),
    ):
        answer = await api.conductor.simulate_get(
            f"{BASE}/operations/{api.user_id}", params=params, headers=api.auth()
        )
        assert answer.status_code == 400 and answer.json["error"]["details"]["field"] == field


async def test_a_failed_push_shows_cardtraders_error_is_counted_and_logged(api: Api) -> None:
    await api.register()
    before = metrics.PUSH_FAILURES.labels("update")._value.get()
    _, task_id = await _failed_push(api)

    failed = await _list(api, status="failed")
    logs = await api.conductor.simulate_get(
        f"{BASE}/debug-logs", headers=api.auth(admin=True), params={"limit": "20"}
    )

    assert [o.operation_id for o in failed.items] == [task_id]
    assert failed.items[0].last_error == "marketplace_validation: quantity: is invalid"
    assert failed.items[0].attempts == 1
    assert metrics.PUSH_FAILURES.labels("update")._value.get() == before + 1
    assert any(task_id in r["message"] for r in logs.json["records"])


async def test_retrying_a_failed_push_queues_it_again_and_it_lands(api: Api) -> None:
    await api.register()
    _, task_id = await _failed_push(api)

    answer = await api.conductor.simulate_post(
        f"{BASE}/operations/{api.user_id}/{task_id}/retry", headers=api.auth()
    )
    retry = RetryAccepted.model_validate(answer.json)
    await _run_queued(api)
    again = await api.conductor.simulate_post(
        f"{BASE}/operations/{api.user_id}/{task_id}/retry", headers=api.auth()
    )

    assert answer.status_code == 202 and retry.task_id == f"{task_id}.retry1"
    assert api.store.operations[retry.task_id].status is OperationStatus.COMPLETED
    assert [p.quantity for p in api.account.products.values()] == [5]
    assert again.status_code == 409
    listed = {o.operation_id: o for o in (await _list(api)).items}
    assert listed[task_id].retried_by == retry.task_id
    assert listed[retry.task_id].retry_of == task_id and listed[retry.task_id].attempts == 2


async def test_only_a_failed_operation_of_the_caller_can_be_retried(api: Api) -> None:
    item_id = await api.add_listed_item(4)
    bought = await api.conductor.simulate_post(
        f"{BASE}/purchase/{api.user_id}/item/{item_id}",
        json={"purchaseQuantity": 1},
        headers=api.auth(),
    )
    done = str(bought.json["task_id"])  # completed: confirmed with CardTrader
    other = uuid.uuid4()

    completed = await api.conductor.simulate_post(
        f"{BASE}/operations/{api.user_id}/{done}/retry", headers=api.auth()
    )
    unknown = await api.conductor.simulate_post(
        f"{BASE}/operations/{api.user_id}/nope/retry", headers=api.auth()
    )
    someone_elses = await api.conductor.simulate_post(
        f"{BASE}/operations/{other}/{done}/retry", headers=api.auth(other)
    )

    assert completed.status_code == 409
    assert unknown.status_code == 404 and someone_elses.status_code == 404

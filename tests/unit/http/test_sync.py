"""Bulk sync, reconciliation, status, progress and task endpoints."""

from __future__ import annotations

import uuid

from brx_app.http.responses import Accepted, ProgressOut, ReconcileAccepted, SyncStatusOut, TaskOut
from tests.unit.http.conftest import Api


async def test_start_accepts_once_then_409_unless_forced(api: Api) -> None:
    await api.register()
    path = f"/api/v1/sync/start/{api.user_id}"
    first = await api.conductor.simulate_post(path, headers=api.auth())
    again = await api.conductor.simulate_post(path, headers=api.auth())
    forced = await api.conductor.simulate_post(path, params={"force": "true"}, headers=api.auth())
    assert (first.status_code, again.status_code, forced.status_code) == (202, 409, 202)
    assert Accepted.model_validate(first.json).task_id != forced.json["task_id"]
    assert again.json["error"]["code"] == "sync_in_progress"


async def test_start_for_a_user_without_settings_is_404(api: Api) -> None:
    result = await api.conductor.simulate_post(
        f"/api/v1/sync/start/{api.user_id}", headers=api.auth()
    )
    assert result.status_code == 404


async def test_status_progress_and_task_answer_in_the_seed_shapes(api: Api) -> None:
    await api.register()
    started = await api.conductor.simulate_post(
        f"/api/v1/sync/start/{api.user_id}", headers=api.auth()
    )
    status = await api.conductor.simulate_get(
        f"/api/v1/sync/status/{api.user_id}", headers=api.auth()
    )
    progress = await api.conductor.simulate_get(
        f"/api/v1/sync/progress/{api.user_id}", headers=api.auth()
    )
    task = await api.conductor.simulate_get(
        f"/api/v1/sync/task/{started.json['task_id']}", headers=api.auth()
    )
    assert SyncStatusOut.model_validate(status.json).sync_status == "initial_sync"
    assert ProgressOut.model_validate(progress.json).operation_id == started.json["task_id"]
    assert TaskOut.model_validate(task.json).status == "PENDING"
    assert task.json["ready"] is False


async def test_sync_from_cardtrader_queues_a_reconciliation_for_one_blueprint(api: Api) -> None:
    await api.register()
    result = await api.conductor.simulate_post(
        f"/api/v1/sync/sync-from-cardtrader/{api.user_id}",
        params={"blueprint_id": "42", "dry_run": "true"},
        headers=api.auth(),
    )
    body = ReconcileAccepted.model_validate(result.json)
    assert result.status_code == 202
    assert (body.blueprint_id, body.dry_run) == (42, True)
    assert [job.job for job in api.queue.pop_all()] == ["reconcile"]


async def test_a_bad_blueprint_id_is_400(api: Api) -> None:
    await api.register()
    result = await api.conductor.simulate_post(
        f"/api/v1/sync/sync-from-cardtrader/{api.user_id}",
        params={"blueprint_id": "-3"},
        headers=api.auth(),
    )
    assert result.status_code == 400
    assert result.json["error"]["details"]["field"] == "blueprint_id"


async def test_the_webhook_url_uses_the_public_base_url(api: Api) -> None:
    await api.register()
    result = await api.conductor.simulate_get(
        f"/api/v1/sync/webhook-url/{api.user_id}", headers=api.auth()
    )
    assert result.json["webhook_url"] == (
        f"https://sync.example.com/api/v1/sync/webhook/user/{api.user_id}"
    )
    assert result.json["webhook_secret_configured"] is True
    assert set(result.json["instructions"]) == {"step_1", "step_2", "step_3", "step_4"}


async def test_the_webhook_url_of_a_user_not_set_up_says_no_secret(api: Api) -> None:
    other = uuid.uuid4()
    result = await api.conductor.simulate_get(
        f"/api/v1/sync/webhook-url/{other}", headers=api.auth(other)
    )
    assert result.json["webhook_secret_configured"] is False

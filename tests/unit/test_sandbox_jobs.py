"""Bulk jobs: the lifecycle over real time and per-item results in payload order."""

from __future__ import annotations

import time

from cardtrader_sandbox.jobs import JobTiming, new_job
from tests.unit.test_sandbox_helpers import Sandbox


def test_job_is_pending_then_running_then_completed() -> None:
    job = new_job("bulk_destroy", [{"id": 1}], now=100.0, timing=JobTiming(1.0, 2.0, 0.0))

    early, middle = job.state(100.5), job.state(102.0)
    job.applied = True
    late = job.state(103.5)

    assert (early, middle, late) == ("pending", "running", "completed")


def _wait_and_get(sb: Sandbox, job: str) -> dict[str, object]:
    time.sleep(0.15)
    result: dict[str, object] = sb.call("GET", f"/jobs/{job}").json
    return result


def test_bulk_update_results_come_back_in_payload_order() -> None:
    sb = Sandbox()
    magic = [p["id"] for p in sb.export() if "mtg_language" in p["properties_hash"]]
    a, b = magic[:2]
    items = [{"id": a, "quantity": 5}, {"id": 1}, {"id": b, "properties": {"mtg_rarity": "x"}}]

    job = sb.call("POST", "/products/bulk_update", json={"products": items}).json["job"]
    final = _wait_and_get(sb, job)

    assert final["state"] == "completed"
    assert final["results"] == [
        {"job_index": 0, "product_id": a, "result": "ok"},
        {"job_index": 1, "result": "error", "errors": {"id": ["Product not found"]}},
        {
            "job_index": 2,
            "product_id": b,
            "result": "warning",
            "warnings": {
                "properties": {"mtg_rarity": ["Read only property mtg_rarity has been ignored"]}
            },
        },
    ]
    assert final["stats"] == {"ok": 1, "warning": 1, "error": 1}


def test_bulk_writes_happen_only_when_the_job_completes() -> None:
    sb = Sandbox()
    victim = sb.export()[0]["id"]

    job = sb.call("POST", "/products/bulk_destroy", json={"products": [{"id": victim}]}).json
    before = {p["id"] for p in sb.export()}
    _wait_and_get(sb, job["job"])
    after = {p["id"] for p in sb.export()}

    assert victim in before
    assert victim not in after


def test_bulk_create_gives_each_new_product_an_id() -> None:
    sb = Sandbox()
    bp = sb.export()[0]["blueprint_id"]
    items = [
        {"blueprint_id": bp, "price": 2, "quantity": 1, "description": f"n{i}"} for i in range(3)
    ]

    job = sb.call("POST", "/products/bulk_create", json={"products": items}).json["job"]
    final = _wait_and_get(sb, job)

    ids = [r["product_id"] for r in final["results"]]  # type: ignore[attr-defined]
    assert len(ids) == 3
    assert set(ids) <= {p["id"] for p in sb.export()}


def test_an_empty_job_is_unprocessable() -> None:
    sb = Sandbox()

    job = sb.call("POST", "/products/bulk_update", json={"products": []}).json["job"]

    assert _wait_and_get(sb, job)["state"] == "unprocessable"


def test_a_job_is_invisible_to_another_token() -> None:
    sb = Sandbox(tokens=("t1", "t2"))

    job = sb.call("POST", "/products/bulk_destroy", json={"products": [{"id": 5}]}).json["job"]

    assert sb.call("GET", f"/jobs/{job}", token="t2").status_code == 404


def test_bulk_without_products_is_a_missing_parameter() -> None:
    answer = Sandbox().call("POST", "/products/bulk_create", json={})

    assert answer.json["error_code"] == "missing_parameter"

"""The typed outbox: each job's arguments survive the operation row's JSON unchanged, and
rows written by the untyped outbox read back as the same arguments."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from brx_domain.jobs import (
    ApplyWebhook,
    BulkSync,
    Job,
    JobName,
    Priority,
    PushDelete,
    PushPurchase,
    PushUpdate,
    Reconcile,
    args_of,
    decode,
    encode,
)

ids = st.integers(min_value=1, max_value=2**31 - 1)
text = st.text(min_size=1, max_size=40)
args = st.one_of(
    st.builds(BulkSync, st.booleans()),
    st.builds(Reconcile, st.none() | ids, st.booleans(), st.booleans()),
    st.builds(PushUpdate, ids),
    st.builds(PushDelete, ids, ids.map(str), ids),
    st.builds(PushPurchase, ids, ids, ids.map(str), ids, ids),
    st.builds(ApplyWebhook, text),
)


@given(args, st.none() | text)
def test_a_job_survives_its_stored_json(job_args: object, request_id: str | None) -> None:
    job = Job(job_args, request_id)  # type: ignore[arg-type]

    stored = json.loads(json.dumps({"job": encode(job)}))

    assert decode(stored) == job


@pytest.mark.parametrize(
    ("stored", "expected", "priority"),
    [
        (
            {"name": "bulk_sync", "queue": "brx:bulk", "args": {"force": True}},
            BulkSync(True),
            Priority.BULK,
        ),
        (
            {
                "name": "reconcile",
                "queue": "brx:default",
                "args": {"blueprint_id": None, "dry_run": True, "force": False},
            },
            Reconcile(None, True),
            Priority.DEFAULT,
        ),
        (
            {"name": "push_update", "queue": "brx:high", "args": {"item_id": 7}},
            PushUpdate(7),
            Priority.HIGH,
        ),
        (
            {
                "name": "push_purchase",
                "queue": "brx:high",
                "args": {
                    "item_id": 7,
                    "quantity": 2,
                    "external_stock_id": "55",
                    "blueprint_id": 16,
                    "quantity_before": 5,
                },
            },
            PushPurchase(7, 2, "55", 16, 5),
            Priority.HIGH,
        ),
        (
            {"name": "apply_webhook", "queue": "brx:high", "args": {"delivery_id": "d-1"}},
            ApplyWebhook("d-1"),
            Priority.HIGH,
        ),
    ],
)
def test_rows_of_the_untyped_outbox_read_as_their_arguments(
    stored: dict[str, object], expected: object, priority: Priority
) -> None:
    job = decode({"job": stored, "trigger": "manual"})

    assert job is not None and job.args == expected
    assert (job.priority, job.request_id) == (priority, None)


def test_the_priority_follows_from_the_job_not_from_a_stored_queue() -> None:
    job = decode({"job": {"name": "bulk_sync", "queue": "brx:high", "args": {}}})

    assert job is not None and job.priority is Priority.BULK and job.name is JobName.BULK_SYNC


def test_an_operation_without_a_job_has_none_and_asking_its_arguments_is_refused() -> None:
    assert decode({"progress": {}}) is None
    with pytest.raises(LookupError):
        args_of({"progress": {}}, PushUpdate)
    with pytest.raises(LookupError):
        args_of({"job": encode(Job(PushUpdate(1)))}, PushDelete)
    with pytest.raises(LookupError, match="lacks arguments"):
        decode({"job": {"name": "push_purchase", "args": {"item_id": 1}}})

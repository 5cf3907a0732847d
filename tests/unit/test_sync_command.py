"""`brx-sync sync`'s display: one line per change of the progress when not on a terminal, the
queued state until a worker takes the job, and an outcome line that says why a sync failed."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime

from brx_app.commands.sync import ProgressBar, outcome
from brx_domain.sync import OperationStatus, OperationType, SyncOperation, SyncProgress


def operation(
    status: OperationStatus = OperationStatus.PENDING, **metadata: object
) -> SyncOperation:
    return SyncOperation(
        user_id=uuid.uuid4(),
        operation_id="op-1",
        operation_type=OperationType.BULK_SYNC,
        status=status,
        metadata=metadata,
        created_at=datetime(2025, 1, 1, tzinfo=UTC),
    )


def test_the_bar_prints_each_change_once_and_starts_queued() -> None:
    out = io.StringIO()
    bar = ProgressBar(out)
    half = SyncProgress(processed=50, total_products=100, created=50, progress_percent=50)

    bar.show(operation())
    bar.show(operation())
    bar.show(operation(attempts=1, progress=half.to_dict()))
    bar.show(operation(attempts=1, progress=half.to_dict()))

    lines = out.getvalue().splitlines()
    assert lines[0].startswith("queued: waiting for a brx-sync worker")
    assert lines[1] == (
        "[" + "#" * 15 + "-" * 15 + "]  50%  50/100 products: 50 created, 0 updated, "
        "0 skipped, 0 deleted, 0 failed"
    )
    assert len(lines) == 2


def test_a_failed_outcome_names_the_reason() -> None:
    failed = operation(OperationStatus.FAILED, error="CardTrader refused the token")

    assert outcome(failed).startswith("failed: 0/0 products")
    assert outcome(failed).endswith("(CardTrader refused the token)")

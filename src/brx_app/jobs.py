"""The one table of queued jobs: which use case runs each `JobName`, and what ends its
operation when the worker gives up. The arq worker and the in-process worker both use it, so a
job behaves the same in production, in the demo and in tests."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from brx_app import metrics
from brx_domain.sync import SyncOperation
from brx_domain.usecases.common import JobName, Ports
from brx_domain.usecases.operations import give_up
from brx_domain.usecases.pushes import push_delete, push_purchase, push_update
from brx_domain.usecases.sync import fail_bulk_sync, run_bulk_sync, run_reconciliation
from brx_domain.usecases.webhooks import apply_webhook

Run = Callable[[Ports, str], Awaitable[Any]]
GiveUp = Callable[[Ports, str, BaseException], Awaitable[None]]


@dataclass(frozen=True)
class JobSpec:
    run: Run
    give_up: GiveUp


JOBS: dict[JobName, JobSpec] = {
    JobName.BULK_SYNC: JobSpec(run_bulk_sync, fail_bulk_sync),
    JobName.RECONCILE: JobSpec(run_reconciliation, give_up),
    JobName.PUSH_UPDATE: JobSpec(push_update, give_up),
    JobName.PUSH_DELETE: JobSpec(push_delete, give_up),
    JobName.PUSH_PURCHASE: JobSpec(push_purchase, give_up),
    JobName.APPLY_WEBHOOK: JobSpec(apply_webhook, give_up),
}

SYNC_JOBS = {JobName.BULK_SYNC, JobName.RECONCILE}  # their duration and items are metrics


def spec_of(job_name: str) -> JobSpec:
    try:
        return JOBS[JobName(job_name)]
    except ValueError:
        raise LookupError(f"unknown job {job_name!r}") from None


async def run_job(ports: Ports, job_name: str, operation_id: str) -> None:
    """Run the job's use case once; transient failures propagate for the caller to retry.
    A sync that ended (completed or failed) is recorded in the sync metrics."""
    started = time.monotonic()
    result = await spec_of(job_name).run(ports, operation_id)
    if job_name in SYNC_JOBS and isinstance(result, SyncOperation):
        seconds = time.monotonic() - started
        metrics.observe_sync(job_name, result.status.value, seconds, result.progress.to_dict())


async def give_up_job(ports: Ports, job_name: str, operation_id: str, exc: BaseException) -> None:
    """The last attempt failed: end the operation `failed` with a readable reason."""
    await spec_of(job_name).give_up(ports, operation_id, exc)

"""The one table of queued jobs: which use case runs each `JobName`, and what ends its
operation when the worker gives up. The arq worker and the in-process worker both use it, so a
job behaves the same in production, in the demo and in tests."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from brx_app import metrics
from brx_domain.jobs import JobName
from brx_domain.sync import OperationStatus, SyncOperation
from brx_domain.usecases.common import Ports, error_text
from brx_domain.usecases.operations import give_up
from brx_domain.usecases.pushes import push_delete, push_purchase, push_update
from brx_domain.usecases.sync import fail_bulk_sync, run_bulk_sync, run_reconciliation
from brx_domain.usecases.webhooks import apply_webhook

log = logging.getLogger("brx.jobs")

Run = Callable[[Ports, str], Awaitable[Any]]
GiveUp = Callable[[Ports, str, BaseException], Awaitable[None]]


@dataclass(frozen=True)
class JobSpec:
    run: Run
    give_up: GiveUp


PUSHES = {JobName.PUSH_UPDATE: "update", JobName.PUSH_DELETE: "delete",
          JobName.PUSH_PURCHASE: "purchase"}  # fmt: skip

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
    A sync that ended (completed or failed) is recorded in the sync metrics; a push that ended
    failed is counted and logged."""
    started = time.monotonic()
    result = await spec_of(job_name).run(ports, operation_id)
    if job_name in SYNC_JOBS and isinstance(result, SyncOperation):
        seconds = time.monotonic() - started
        metrics.observe_sync(job_name, result.status.value, seconds, result.progress.to_dict())
    if isinstance(result, SyncOperation) and result.status is OperationStatus.FAILED:
        _report_failed_push(job_name, operation_id, str(result.metadata.get("error")))


async def give_up_job(ports: Ports, job_name: str, operation_id: str, exc: BaseException) -> None:
    """The last attempt failed: end the operation `failed` with a readable reason. A push
    that ends this way is counted and logged (the shop's change never reached CardTrader)."""
    await spec_of(job_name).give_up(ports, operation_id, exc)
    _report_failed_push(job_name, operation_id, error_text(exc))


def _report_failed_push(job_name: str, operation_id: str, reason: str) -> None:
    """A push that ended `failed` (refused by CardTrader, or out of retries) is counted and
    logged: the shop's change never reached CardTrader until someone retries it."""
    kind = PUSHES.get(JobName(job_name))
    if kind is None:
        return
    metrics.PUSH_FAILURES.labels(kind).inc()
    log.error(
        "push %s of operation %s failed: %s",
        kind,
        operation_id,
        reason,
        extra={"operation_id": operation_id, "push": kind},
    )

"""The typed outbox: what each queued job needs, as one frozen dataclass per job.

An operation row is the outbox (`usecases.common.new_operation` writes it, `requeue_pending`
re-sends it), so a job's arguments must survive in `operation.metadata["job"]`. `encode` and
`decode` here are the only code that writes and reads that JSON; the use cases see the
dataclasses. The JSON keeps its first shape (`name`, `queue`, `args` with the same keys), so
rows stored before the arguments were typed still run, and the SQL that looks into
`job -> args` (holds, webhook lookups) keeps working. Priorities are domain words; which Redis
key serves each is the queue adapter's business (`brx_adapters.queue_keys`).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any, TypeVar


class Priority(enum.StrEnum):
    HIGH = "high"  # webhooks and pushes: a shop waits on these
    BULK = "bulk"  # bulk syncs: long, few
    DEFAULT = "default"  # reconciliation and the rest


class JobName(enum.StrEnum):
    BULK_SYNC = "bulk_sync"
    RECONCILE = "reconcile"
    PUSH_UPDATE = "push_update"
    PUSH_DELETE = "push_delete"
    PUSH_PURCHASE = "push_purchase"
    APPLY_WEBHOOK = "apply_webhook"


@dataclass(frozen=True)
class BulkSync:
    force: bool = False


@dataclass(frozen=True)
class Reconcile:
    blueprint_id: int | None = None
    dry_run: bool = False
    force: bool = False


@dataclass(frozen=True)
class PushUpdate:
    item_id: int


@dataclass(frozen=True)
class PushDelete:
    item_id: int
    external_stock_id: str
    blueprint_id: int


@dataclass(frozen=True)
class PushPurchase:
    item_id: int
    quantity: int
    external_stock_id: str
    blueprint_id: int
    quantity_before: int


@dataclass(frozen=True)
class ApplyWebhook:
    delivery_id: str


JobArgs = BulkSync | Reconcile | PushUpdate | PushDelete | PushPurchase | ApplyWebhook

_KINDS: dict[JobName, tuple[type[JobArgs], Priority]] = {
    JobName.BULK_SYNC: (BulkSync, Priority.BULK),
    JobName.RECONCILE: (Reconcile, Priority.DEFAULT),
    JobName.PUSH_UPDATE: (PushUpdate, Priority.HIGH),
    JobName.PUSH_DELETE: (PushDelete, Priority.HIGH),
    JobName.PUSH_PURCHASE: (PushPurchase, Priority.HIGH),
    JobName.APPLY_WEBHOOK: (ApplyWebhook, Priority.HIGH),
}
_NAMES = {kind: name for name, (kind, _) in _KINDS.items()}

A = TypeVar("A", bound=JobArgs)


@dataclass(frozen=True)
class Job:
    """A queued job: its arguments, and the request that queued it (for the worker's log)."""

    args: JobArgs
    request_id: str | None = None

    @property
    def name(self) -> JobName:
        return _NAMES[type(self.args)]

    @property
    def priority(self) -> Priority:
        return _KINDS[self.name][1]

    def args_as(self, kind: type[A]) -> A:
        """The arguments, checked to be of the kind the running job expects."""
        if not isinstance(self.args, kind):
            raise LookupError(f"job {self.name.value} has no {kind.__name__} arguments")
        return self.args


def encode(job: Job) -> dict[str, Any]:
    """The JSON stored in `operation.metadata["job"]`."""
    out: dict[str, Any] = {"name": job.name.value, "queue": job.priority.value}
    out["args"] = asdict(job.args)
    if job.request_id is not None:
        out["request_id"] = job.request_id
    return out


def decode(metadata: Mapping[str, Any]) -> Job | None:
    """The job recorded in an operation's metadata, None when it records none. Accepts rows of
    every version: the priority follows from the name (older rows stored a Redis key such as
    `brx:high` under `queue`), a missing request id is None, unknown argument keys are ignored."""
    raw = metadata.get("job")
    if not isinstance(raw, Mapping):
        return None
    try:
        kind, _ = _KINDS[JobName(str(raw.get("name")))]
    except ValueError:
        raise LookupError(f"unknown job {raw.get('name')!r}") from None
    args: Mapping[str, Any] = raw.get("args") or {}
    known = {f.name: args[f.name] for f in fields(kind) if f.name in args}
    if "external_stock_id" in known:  # stored as text or as a number by older versions
        known["external_stock_id"] = str(known["external_stock_id"])
    try:
        job_args = kind(**known)
    except TypeError:  # a required argument is missing: the row is not a job this code wrote
        raise LookupError(f"job {raw.get('name')!r} lacks arguments: {sorted(args)}") from None
    request_id = raw.get("request_id")
    return Job(job_args, str(request_id) if request_id else None)


def args_of(metadata: Mapping[str, Any], kind: type[A]) -> A:
    """The arguments of the job an operation records, of the kind the running job expects."""
    job = decode(metadata)
    if job is None:
        raise LookupError(f"the operation records no job ({kind.__name__} expected)")
    return job.args_as(kind)

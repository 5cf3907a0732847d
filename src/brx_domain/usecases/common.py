"""What every use case shares: the bundle of ports, tunables, and durable job dispatch."""

from __future__ import annotations

import enum
import logging
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import timedelta
from uuid import UUID

from brx_domain.errors import DomainError, NotConnected, NotFound
from brx_domain.jobs import Job, JobArgs, decode, encode
from brx_domain.ports import (
    BlueprintCatalogue,
    Clock,
    IdSource,
    MarketplaceGateway,
    ProductLocks,
    TaskQueue,
    TokenCipher,
    UnitOfWork,
    UnitOfWorkFactory,
)
from brx_domain.sync import OperationType, SyncOperation, UserSyncSettings
from brx_domain.webhook_secrets import WebhookSecrets

log = logging.getLogger("brx.usecases")


class WhenCardTraderDown(enum.StrEnum):
    """A purchase CardTrader cannot confirm in time: sell and queue the decrement, or refuse."""

    QUEUE = "queue"
    REFUSE = "refuse"


@dataclass(frozen=True)
class Settings:
    """Tunables of the use cases (from configuration; safe defaults)."""

    chunk_size: int = 5000
    max_delete_share: float = 0.5
    webhook_max_age_seconds: int = 7 * 24 * 3600
    webhook_max_future_seconds: int = 300
    skipped_examples: int = 10
    purchase_timeout_seconds: float = 3.0
    purchase_when_down: WhenCardTraderDown = WhenCardTraderDown.QUEUE
    write_lock_seconds: float = 30.0  # a queued push's longest wait for a product's lock
    idempotency_ttl_seconds: int = 24 * 3600  # the spec's 24 hours


@dataclass(frozen=True)
class Ports:
    uow: UnitOfWorkFactory
    queue: TaskQueue
    clock: Clock
    ids: IdSource
    cipher: TokenCipher
    marketplace: MarketplaceGateway
    catalogue: BlueprintCatalogue
    locks: ProductLocks
    settings: Settings = Settings()
    webhook_secrets: WebhookSecrets = field(default_factory=WebhookSecrets)  # per process


def new_operation(
    ports: Ports,
    user_id: UUID,
    kind: OperationType,
    args: JobArgs,
    *,
    request_id: str | None = None,
) -> SyncOperation:
    """A pending operation that also records the job to run, so a lost enqueue can be redone
    from the database alone (the operations table is the outbox); `request_id` is the API
    request that asked for it, carried to the worker's log line."""
    operation_id = ports.ids.new_id()
    return SyncOperation(
        operation_id,
        user_id,
        kind,
        created_at=ports.clock.now(),
        metadata={"job": encode(Job(args, request_id))},
    )


async def dispatch(ports: Ports, operation: SyncOperation) -> bool:
    """Enqueue the operation's job after its row committed. A failure here loses nothing: the
    row stays pending and `requeue_pending` sends it again."""
    job = decode(operation.metadata)
    if job is None:
        return False
    try:
        await ports.queue.enqueue(job.name, job_id=operation.operation_id, priority=job.priority)
    except Exception:  # the queue is down; the outbox row keeps the work
        log.warning(
            "enqueue failed; operation %s stays pending", operation.operation_id, exc_info=True
        )
        return False
    return True


async def requeue_pending(
    ports: Ports,
    *,
    older_than_seconds: float = 60,
    limit: int = 500,
    skip: Collection[str] = (),
) -> int:
    """Enqueue again every pending operation old enough to have been lost (idempotent: the
    queue drops a job id it already holds, and every job checks its operation first), except
    those in `skip` (running right now, in this process)."""
    cutoff = ports.clock.now() - timedelta(seconds=older_than_seconds)
    async with ports.uow() as uow:
        pending = await uow.operations.pending(cutoff, limit)
    sent = 0
    for operation in pending:
        if operation.operation_id in skip or "job" not in operation.metadata:
            continue
        if await dispatch(ports, operation):
            sent += 1
    return sent


async def settings_of(uow: UnitOfWork, user_id: UUID) -> UserSyncSettings:
    found = await uow.settings.get(user_id)
    if found is None:
        raise NotFound(f"user {user_id} has no sync settings")
    return found


async def connected_settings_of(uow: UnitOfWork, user_id: UUID) -> UserSyncSettings:
    """The settings of a user whose CardTrader account is connected: the one gate before
    anything is sent to CardTrader on the user's behalf (pushes, syncs, reconciliations)."""
    found = await settings_of(uow, user_id)
    if not found.connected:
        raise NotConnected(
            f"user {user_id} disconnected their CardTrader account; "
            "connect it again with PUT /connection/{user_id}"
        )
    return found


def error_text(exc: BaseException) -> str:
    """A readable, secret-free reason for an operation or `last_error`."""
    if isinstance(exc, DomainError):
        return f"{exc.code}: {exc.message}"[:1000]
    return f"internal error ({type(exc).__name__})"

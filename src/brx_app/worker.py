"""The arq worker: one arq `Worker` per queue in one process, so webhooks and pushes (high)
never wait behind bulk syncs. Jobs are thin: they run `brx_app.jobs` with the ports from
`ctx` and follow the one retry rule (`brx_domain.retry`): a transient failure is retried with
capped exponential backoff until the queue's time horizon, anything else gives up at once
(the operation then ends `failed` with its reason). arq's own count of tries never decides,
so deferring a job while CardTrader's circuit is open costs it nothing. Each run logs one
JSON line (job, operation, user, outcome, duration). Crons re-send lost jobs from the outbox,
free jobs orphaned by a killed worker, purge old webhook deliveries and expired idempotency
keys, and queue the periodic reconciliation."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from arq.connections import RedisSettings
from arq.constants import in_progress_key_prefix
from arq.cron import cron
from arq.utils import timestamp_ms
from arq.worker import Function, Retry, Worker, func
from redis.exceptions import RedisError

from brx_adapters.queue.leases import hold, lease, reap
from brx_adapters.queue_keys import queue_key
from brx_app.jobs import give_up_job, run_job
from brx_domain.jobs import JobName, Priority, decode
from brx_domain.retry import RetryRule
from brx_domain.usecases.common import Ports, requeue_pending
from brx_domain.usecases.idempotency import purge_expired_keys
from brx_domain.usecases.periodic import (
    purge_old_webhook_deliveries,
    request_periodic_reconciliations,
)

log = logging.getLogger("brx.worker")

REDIS_LOST = (RedisError, OSError, asyncio.TimeoutError)  # Redis went away (or never answered)
PortsFactory = Callable[[], Awaitable[tuple[Ports, Callable[[], Awaitable[Any]]]]]


@dataclass(frozen=True)
class QueuePlan:
    max_jobs: int  # concurrency: the priority of the queue within the process
    retry: RetryRule  # how long a transiently failing job keeps being retried
    # A process already running one of the queue's jobs leaves the next to an idle worker
    # this long before taking it itself (0: take them as they come; `QueueWorker.start_jobs`).
    spread_seconds: float = 0.0


# Pushes and webhooks wait out a CardTrader or database outage of hours; a bulk sync keeps its
# user `initial_sync` while it retries, so it gives up (user `error`, restartable) sooner.
# Horizons stay under a day: arq expires a job's data and its try counter after one.
PLANS = {
    Priority.HIGH: QueuePlan(max_jobs=20, retry=RetryRule(horizon=6 * 3600)),
    Priority.BULK: QueuePlan(max_jobs=2, retry=RetryRule(horizon=2 * 3600), spread_seconds=1.0),
    Priority.DEFAULT: QueuePlan(max_jobs=4, retry=RetryRule(horizon=6 * 3600)),
}
ARQ_MAX_TRIES = 1_000_000  # the retry rule's horizon ends a job, never arq's count of tries
LONG_JOBS = {JobName.BULK_SYNC, JobName.RECONCILE}
LONG_TIMEOUT = 3 * 3600  # a 250k-product export under CardTrader's limits, with margin
SHORT_TIMEOUT = 10 * 60  # one push or webhook, including the client's own retries
REAP_SECONDS = {0, 10, 20, 30, 40, 50}  # a killed worker's job runs again in ~40 s: lease + reap
PURGE_MINUTE = 17  # the hourly purge (old deliveries, expired idempotency keys): hh:17:17


def parse_queues(text: str) -> list[Priority]:
    """`all` or a comma-separated list of high, bulk, default."""
    if text.strip() in ("", "all"):
        return list(Priority)
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in set(Priority)]
    if unknown:
        raise ValueError(f"unknown queue {unknown[0]!r}; use high, bulk, default")
    return [Priority(name) for name in names]


def _seconds_since_enqueued(ctx: dict[str, Any]) -> float:
    enqueued = ctx.get("enqueue_time")
    return 0.0 if enqueued is None else max(0.0, time.time() - enqueued.timestamp())


async def _log_job(
    ports: Ports, name: JobName, operation_id: str, outcome: str, started: float, job_try: int
) -> None:
    """One JSON line per job run: which operation and user, what became of it, how long."""
    fields: dict[str, Any] = {
        "job": name.value,
        "operation_id": operation_id,
        "outcome": outcome,
        "job_try": job_try,
        "duration_ms": round((time.monotonic() - started) * 1000, 1),
    }
    with contextlib.suppress(Exception):  # the log line must never fail the job
        async with ports.uow() as uow:
            operation = await uow.operations.get(operation_id)
        if operation is not None:
            fields["user_id"] = str(operation.user_id)
            fields["status"] = operation.status.value
            queued = decode(operation.metadata)
            if queued is not None and queued.request_id:
                fields["request_id"] = queued.request_id
    log.info("job %s %s: %s", name.value, operation_id, outcome, extra=fields)


def job_function(
    name: JobName, *, retry: RetryRule, namespace: str = "", running: set[str] | None = None
) -> Function:
    """The arq function of one job; `running` is told which operations run meanwhile."""
    running = set() if running is None else running

    async def job(ctx: dict[str, Any], *, operation_id: str, **_: Any) -> str:
        ports: Ports = ctx["ports"]
        running.add(operation_id)
        started, outcome = time.monotonic(), "error"
        try:
            outcome = await attempt(ctx, ports, operation_id)
        except Retry:
            outcome = "retry"
            raise
        finally:
            running.discard(operation_id)
            await _log_job(ports, name, operation_id, outcome, started, int(ctx["job_try"]))
        return outcome

    async def attempt(ctx: dict[str, Any], ports: Ports, operation_id: str) -> str:
        async with lease(ctx["redis"], ctx["job_id"], namespace=namespace):
            try:
                await run_job(ports, name, operation_id)
            except Exception as exc:
                delay = retry.next_delay(exc, int(ctx["job_try"]), _seconds_since_enqueued(ctx))
                if delay is None:
                    log.warning("job %s %s gave up: %s", name, operation_id, type(exc).__name__)
                    await give_up_job(ports, name, operation_id, exc)
                    return "gave up"
                log.info("job %s %s retries in %.1f s", name, operation_id, delay)
                raise Retry(defer=delay) from exc
        return "done"

    timeout = LONG_TIMEOUT if name in LONG_JOBS else SHORT_TIMEOUT
    return func(job, name=name.value, timeout=timeout, max_tries=ARQ_MAX_TRIES, keep_result=300)


class Lifecycle:
    """Builds the ports once for every worker of the process, and frees orphaned jobs of each
    queue as its worker starts and then every ten seconds."""

    def __init__(self, make_ports: PortsFactory, *, namespace: str, periodic_minutes: int):
        self.make_ports, self.namespace, self.periodic_minutes = (
            make_ports,
            namespace,
            periodic_minutes,
        )
        self.ports: Ports | None = None  # built once, shared by the workers of the process
        self.close: Callable[[], Awaitable[Any]] | None = None
        self.in_progress: dict[str, float] = {}  # queue key -> arq's in-progress lifetime
        self.running: set[str] = set()  # operations this process is running now
        self.lost_redis = False
        self._lock = asyncio.Lock()

    def leased(self, task: Callable[[dict[str, Any]], Awaitable[Any]]) -> Callable[..., Any]:
        """A cron task holding a lease like every job, so the reaper never frees it mid-run."""

        async def run(ctx: dict[str, Any]) -> Any:
            async with lease(ctx["redis"], ctx["job_id"], namespace=self.namespace):
                return await task(ctx)

        run.__qualname__ = getattr(task, "__name__", "cron")
        return run

    async def startup(self, ctx: dict[str, Any]) -> None:
        """Each time a worker (re)connects to Redis: build the ports once, free orphaned jobs,
        and after an outage re-send at once what the outbox accepted meanwhile (the minute
        cron would wait up to two)."""
        async with self._lock:
            if self.ports is None:
                self.ports, self.close = await self.make_ports()
            ctx["ports"] = self.ports  # arq copies an empty ctx per worker: set it on each
            reconnected, self.lost_redis = self.lost_redis, False
        try:
            if reconnected:  # leases may have lapsed meanwhile: the jobs running here keep theirs
                await hold(ctx["redis"], set(self.running), namespace=self.namespace)
            await self.reap(ctx)
            if reconnected:
                sent = await requeue_pending(self.ports, older_than_seconds=0, skip=self.running)
                log.info("Redis is back; %d pending operation(s) re-sent", sent)
        except BaseException:
            self.lost_redis = self.lost_redis or reconnected  # gone again: the next one re-sends
            raise

    async def reap(self, ctx: dict[str, Any]) -> None:
        """Free the jobs a killed worker left marked in progress (see `leases`)."""
        for queue, seconds in self.in_progress.items():
            freed = await reap(
                ctx["redis"], queue, in_progress_seconds=seconds, namespace=self.namespace
            )
            if freed:
                log.warning("freed %d job(s) of %s orphaned by a stopped worker", len(freed), queue)

    async def requeue(self, ctx: dict[str, Any]) -> int:
        """Once a minute: re-send pending operations whose enqueue was lost (the outbox)."""
        return await requeue_pending(ctx["ports"])

    async def purge(self, ctx: dict[str, Any]) -> int:
        """Hourly: forget webhook deliveries older than WEBHOOK_MAX_AGE_SECONDS and idempotency
        keys whose 24 hours are over; returns how many rows went."""
        ports = ctx["ports"]
        return await purge_old_webhook_deliveries(ports) + await purge_expired_keys(ports)

    async def periodic(self, ctx: dict[str, Any]) -> int:
        queued = await request_periodic_reconciliations(
            ctx["ports"], every_minutes=self.periodic_minutes
        )
        return len(queued)


class QueueWorker(Worker):
    """arq's worker, keeping its job slots through a Redis outage, and spreading a queue's jobs
    over the worker processes (`spread_seconds`).

    arq 0.28's `start_jobs` takes a slot (its semaphore and `job_counter`) before asking Redis
    whether a job may start, and a Redis error there returns neither: each outage that struck
    during a poll would cost the queue one slot for good (the bulk queue has two). An error out
    of arq's `start_jobs` always comes from that question, after the slot was taken and before
    a task holds it.

    arq hands a polling process every due job it has slots for, so two bulk syncs queued
    together both ran in whichever process polled first while a second worker sat idle
    (`bench_scale`: 3.0 + 0.0 s of CPU). With `spread_seconds`, a process takes one job at
    once only while it runs none of the queue's; any other only once it has seen it waiting that
    long, time enough for an idle process's poll (every half second) to take it first. Alone, a
    process still runs as many at once as before, the second after that wait."""

    def __init__(self, *args: Any, spread_seconds: float = 0.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.spread_ms = int(spread_seconds * 1000)
        self._seen: dict[bytes, int] = {}  # each waiting job: when this process first saw it

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        if self.spread_ms and job_ids:
            job_ids = await self._left_to_idle_workers(job_ids)
        try:
            await super().start_jobs(job_ids)
        except REDIS_LOST:
            self.job_counter -= 1
            self.sem.release()
            raise

    async def _left_to_idle_workers(self, job_ids: list[bytes]) -> list[bytes]:
        """Of the due jobs arq polled (oldest first, running ones included: they stay queued
        until they end), those this process takes now: the first one waiting when it runs none
        of the queue's, and the ones it has seen waiting for `spread_ms` already. The wait counts
        from this process's first sight of the job, not from its score: a job queued while no
        worker polled (a backlog, a restart, a job given back at shutdown) is spread too."""
        candidates = [job_id for job_id in job_ids if job_id.decode() not in self.tasks]
        if not candidates or (self.job_counter == 0 and len(candidates) == 1):
            self._seen.clear()
            return candidates  # nothing to leave: arq's own checks decide
        ids = [job_id.decode() for job_id in candidates]
        async with self.pool.pipeline(transaction=False) as pipe:
            pipe.zmscore(self.queue_name, ids)  # None once it ended
            pipe.mget([in_progress_key_prefix + job_id for job_id in ids])
            scores, running = await pipe.execute()
        now = timestamp_ms()
        waiting = [
            job_id
            for job_id, score, run in zip(candidates, scores, running, strict=True)
            if score is not None and run is None
        ]
        self._seen = {job_id: self._seen.get(job_id, now) for job_id in waiting}
        return [
            job_id
            for n, job_id in enumerate(waiting)
            if (n == 0 and self.job_counter == 0) or self._seen[job_id] <= now - self.spread_ms
        ]


def build_workers(
    lifecycle: Lifecycle,
    queues: Sequence[Priority],
    *,
    redis_settings: RedisSettings,
    burst: bool = False,
    poll_delay: float = 0.5,
    retry: RetryRule | None = None,
) -> list[Worker]:
    """One arq Worker per queue, sharing the ports (`Lifecycle`); the crons ride on the first.
    `retry` replaces every queue's rule (tests use short backoffs)."""
    workers: list[Worker] = []
    for index, queue in enumerate(queues):
        plan = PLANS[queue]
        rule = retry or plan.retry
        functions = [
            job_function(n, retry=rule, namespace=lifecycle.namespace, running=lifecycle.running)
            for n in JobName
        ]
        crons = []
        if index == 0 and not burst:
            crons.append(cron(lifecycle.leased(lifecycle.requeue), name="brx_requeue",
                              run_at_startup=True))  # fmt: skip
            crons.append(cron(lifecycle.leased(lifecycle.reap), name="brx_reap",
                              second=REAP_SECONDS))  # fmt: skip
            crons.append(cron(lifecycle.leased(lifecycle.purge), name="brx_purge",
                              minute=PURGE_MINUTE, second=PURGE_MINUTE))  # fmt: skip
            if lifecycle.periodic_minutes > 0:
                crons.append(cron(lifecycle.leased(lifecycle.periodic), name="brx_periodic_sync"))
        worker = QueueWorker(
            functions,
            queue_name=queue_key(queue, lifecycle.namespace),
            cron_jobs=crons,
            redis_settings=redis_settings,
            burst=burst,
            on_startup=lifecycle.startup,
            handle_signals=False,
            max_jobs=plan.max_jobs,
            spread_seconds=plan.spread_seconds,
            job_timeout=SHORT_TIMEOUT,
            max_tries=ARQ_MAX_TRIES,
            poll_delay=poll_delay,
            keep_result=300,
        )
        lifecycle.in_progress[worker.queue_name] = worker.in_progress_timeout_s
        workers.append(worker)
    return workers

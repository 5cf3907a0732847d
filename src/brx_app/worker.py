"""The arq worker: one arq `Worker` per queue in one process, so webhooks and pushes (high)
never wait behind bulk syncs. Jobs are thin: they run `brx_app.jobs` with the ports from
`ctx` and follow the one retry rule (`brx_domain.retry`): a transient failure is retried with
capped exponential backoff until the queue's time horizon, anything else gives up at once
(the operation then ends `failed` with its reason). arq's own count of tries never decides,
so deferring a job while CardTrader's circuit is open costs it nothing. Crons re-send lost
jobs from the outbox, free jobs orphaned by a killed worker, and queue the periodic
reconciliation."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from arq.connections import RedisSettings
from arq.cron import cron
from arq.worker import Function, Retry, Worker, func
from redis.exceptions import RedisError

from brx_adapters.queue.leases import lease, reap
from brx_app.jobs import give_up_job, run_job
from brx_domain.retry import RetryRule, backoff
from brx_domain.usecases.common import JobName, Ports, QueueName, requeue_pending
from brx_domain.usecases.periodic import request_periodic_reconciliations

log = logging.getLogger("brx.worker")

PortsFactory = Callable[[], Awaitable[tuple[Ports, Callable[[], Awaitable[Any]]]]]


@dataclass(frozen=True)
class QueuePlan:
    max_jobs: int  # concurrency: the priority of the queue within the process
    retry: RetryRule  # how long a transiently failing job keeps being retried


# Pushes and webhooks wait out a CardTrader or database outage of hours; a bulk sync keeps its
# user `initial_sync` while it retries, so it gives up (user `error`, restartable) sooner.
# Horizons stay under a day: arq expires a job's data and its try counter after one.
PLANS = {
    QueueName.HIGH: QueuePlan(max_jobs=20, retry=RetryRule(horizon=6 * 3600)),
    QueueName.BULK: QueuePlan(max_jobs=2, retry=RetryRule(horizon=2 * 3600)),
    QueueName.DEFAULT: QueuePlan(max_jobs=4, retry=RetryRule(horizon=6 * 3600)),
}
ARQ_MAX_TRIES = 1_000_000  # the retry rule's horizon ends a job, never arq's count of tries
ALIASES = {"high": QueueName.HIGH, "bulk": QueueName.BULK, "default": QueueName.DEFAULT}
LONG_JOBS = {JobName.BULK_SYNC, JobName.RECONCILE}
LONG_TIMEOUT = 3 * 3600  # a 250k-product export under CardTrader's limits, with margin
SHORT_TIMEOUT = 10 * 60  # one push or webhook, including the client's own retries
REAP_SECONDS = {0, 10, 20, 30, 40, 50}  # a killed worker's job waits ~15 s at most
SHUTDOWN_GRACE = 25.0  # under Kubernetes' default 30 s terminationGracePeriodSeconds
RECONNECT_CAP = 10.0  # longest wait between attempts to reach a lost Redis
_REDIS_LOST = (RedisError, OSError, asyncio.TimeoutError)


def parse_queues(text: str) -> list[QueueName]:
    """`all` or a comma-separated list of high, bulk, default."""
    if text.strip() in ("", "all"):
        return list(QueueName)
    try:
        return [ALIASES[name.strip()] for name in text.split(",") if name.strip()]
    except KeyError as exc:
        raise ValueError(f"unknown queue {exc.args[0]!r}; use high, bulk, default") from None


def _seconds_since_enqueued(ctx: dict[str, Any]) -> float:
    enqueued = ctx.get("enqueue_time")
    return 0.0 if enqueued is None else max(0.0, time.time() - enqueued.timestamp())


def job_function(
    name: JobName, *, retry: RetryRule, namespace: str = "", running: set[str] | None = None
) -> Function:
    """The arq function of one job; `running` is told which operations run meanwhile."""
    running = set() if running is None else running

    async def job(ctx: dict[str, Any], *, operation_id: str, **_: Any) -> str:
        ports: Ports = ctx["ports"]
        running.add(operation_id)
        try:
            return await attempt(ctx, ports, operation_id)
        finally:
            running.discard(operation_id)

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
        await self.reap(ctx)
        if reconnected:
            sent = await requeue_pending(self.ports, older_than_seconds=0, skip=self.running)
            log.info("Redis is back; %d pending operation(s) re-sent", sent)

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

    async def periodic(self, ctx: dict[str, Any]) -> int:
        queued = await request_periodic_reconciliations(
            ctx["ports"], every_minutes=self.periodic_minutes
        )
        return len(queued)


def build_workers(
    lifecycle: Lifecycle,
    queues: Sequence[QueueName],
    *,
    redis_settings: RedisSettings,
    burst: bool = False,
    poll_delay: float = 0.5,
    retry: RetryRule | None = None,
) -> list[Worker]:
    """One arq Worker per queue, sharing the ports (`Lifecycle`); the crons ride on the first.
    `retry` replaces every queue's rule (tests use short backoffs)."""
    workers = []
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
            if lifecycle.periodic_minutes > 0:
                crons.append(cron(lifecycle.leased(lifecycle.periodic), name="brx_periodic_sync"))
        worker = Worker(
            functions,
            queue_name=lifecycle.namespace + queue.value,
            cron_jobs=crons,
            redis_settings=redis_settings,
            burst=burst,
            on_startup=lifecycle.startup,
            handle_signals=False,
            max_jobs=plan.max_jobs,
            job_timeout=SHORT_TIMEOUT,
            max_tries=ARQ_MAX_TRIES,
            poll_delay=poll_delay,
            keep_result=300,
        )
        lifecycle.in_progress[worker.queue_name] = worker.in_progress_timeout_s
        workers.append(worker)
    return workers


async def serve(
    workers: Sequence[Worker],
    lifecycle: Lifecycle,
    *,
    burst: bool = False,
    grace: float = SHUTDOWN_GRACE,
) -> None:
    """Run the workers until SIGTERM/SIGINT (or, in burst mode, until the queues are empty),
    then stop taking jobs, let running ones finish for `grace` seconds, and cancel the rest:
    arq puts a cancelled job back in its queue and the next worker runs it again."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    mains = [asyncio.create_task(_keep_running(worker, lifecycle, stop)) for worker in workers]
    stopper = asyncio.create_task(stop.wait())
    try:
        while not stop.is_set() and any(not m.done() for m in mains):
            running: set[asyncio.Task[Any]] = {m for m in mains if not m.done()}
            await asyncio.wait(running | {stopper}, return_when=asyncio.FIRST_COMPLETED)
            for main in mains:
                if main.done() and not main.cancelled() and main.exception() is not None:
                    raise RuntimeError("an arq worker stopped unexpectedly") from main.exception()
    finally:
        stopper.cancel()
        for main in mains:
            main.cancel()
        await asyncio.gather(*mains, return_exceptions=True)
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        await _shut_down(workers, lifecycle, grace)


async def _keep_running(worker: Worker, lifecycle: Lifecycle, stop: asyncio.Event) -> None:
    """The worker's main loop, run again whenever Redis goes away: log, wait (the one backoff,
    up to `RECONNECT_CAP`), reconnect. Jobs already running carry on meanwhile; on reconnect
    `Lifecycle.startup` re-sends what the outbox accepted during the outage. Anything but a
    lost Redis still stops the process (a bug is not waited out)."""
    lost = 0
    while not stop.is_set():
        started = time.monotonic()
        try:
            await worker.main()
            return  # burst mode: the queue is empty
        except _REDIS_LOST as exc:
            lost = 1 if time.monotonic() - started > RECONNECT_CAP else lost + 1
            delay = backoff(lost, base=0.5, cap=RECONNECT_CAP)
            log.warning(
                "Redis unreachable (%s); worker of %s reconnects in %.1f s",
                type(exc).__name__, worker.queue_name, delay,
                extra={"queue": worker.queue_name, "reconnect_in": round(delay, 1)},
            )  # fmt: skip
            lifecycle.lost_redis = True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)


async def _shut_down(workers: Sequence[Worker], lifecycle: Lifecycle, grace: float) -> None:
    for worker in workers:
        worker.allow_pick_jobs = False
    running = [t for w in workers for t in w.tasks.values() if not t.done()]
    if running:
        await asyncio.wait(running, timeout=grace)
    for worker in workers:
        _forget_finished(worker)
        with contextlib.suppress(asyncio.CancelledError):
            await worker.close()
    if lifecycle.close is not None:
        await lifecycle.close()
        lifecycle.close = None


def _forget_finished(worker: Worker) -> None:
    """Drop finished job tasks before arq's `close` gathers them: one that could not record
    its result while Redis was away would re-raise that there (its operation row is the truth,
    and the reaper or the outbox settles the queue entry)."""
    for job_id, task in list(worker.tasks.items()):
        if task.done():
            del worker.tasks[job_id]
            if not task.cancelled() and task.exception() is not None:
                log.warning("job %s could not be recorded in Redis: %r", job_id, task.exception())

"""Running the arq workers of one process: until SIGTERM/SIGINT (or, in burst mode, until the
queues are empty), reconnecting whenever Redis goes away instead of exiting, then a graceful
stop: no new jobs, running ones finish within a grace period, the rest are cancelled (arq puts
them back in their queue)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Sequence
from typing import Any

from arq.worker import Worker

from brx_app.worker import REDIS_LOST, Lifecycle
from brx_domain.retry import backoff

log = logging.getLogger("brx.worker")

SHUTDOWN_GRACE = 25.0  # under Kubernetes' default 30 s terminationGracePeriodSeconds
RECONNECT_CAP = 2.0  # longest wait between attempts to reach a lost Redis (an attempt is cheap)
LOG_EVERY = 30  # attempts between two warnings of one outage (a minute at the cap)


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
        except REDIS_LOST as exc:
            lost = 1 if time.monotonic() - started > RECONNECT_CAP else lost + 1
            delay = backoff(lost, base=0.5, cap=RECONNECT_CAP)
            if lost % LOG_EVERY == 1:
                log.warning(
                    "Redis unreachable (%s); worker of %s reconnects in %.1f s",
                    type(exc).__name__, worker.queue_name, delay,
                    extra={"queue": worker.queue_name, "reconnect_in": round(delay, 1),
                           "attempts": lost},
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

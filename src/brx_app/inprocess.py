"""An in-process worker for the embedded default (demo) and tests: the queue's `on_enqueue`
hands each job here, and it runs through the same job table as the arq worker (`brx_app.jobs`),
with the same retry rule (`brx_domain.retry`): transient failures back off and retry until
the horizon, anything else gives up at once."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from brx_adapters.memory import QueuedJob
from brx_domain.retry import RetryRule
from brx_domain.usecases import Ports

log = logging.getLogger("brx.worker.inprocess")


def retry_rule(horizon: float) -> RetryRule:
    """Shorter steps than the arq worker's, so the demo shows a recovery within seconds; how
    long a job keeps trying (`INPROCESS_RETRY_HORIZON_SECONDS`) is configuration."""
    return RetryRule(base=0.5, cap=30.0, horizon=horizon)


class InProcessWorker:
    def __init__(
        self,
        *,
        retry: RetryRule,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ports: Ports | None = None  # set once the container is built (it needs the queue)
        self.retry, self._sleep, self._clock = retry, sleep, clock
        self._tasks: set[asyncio.Task[None]] = set()

    async def __call__(self, job: QueuedJob) -> None:
        task = asyncio.create_task(self._run(job), name=f"job:{job.job}:{job.job_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, job: QueuedJob) -> None:
        from brx_app.jobs import give_up_job, run_job

        assert self.ports is not None, "InProcessWorker.ports must be set before jobs run"
        started, attempt = self._clock(), 0
        while True:
            attempt += 1
            try:
                await run_job(self.ports, job.job, job.job_id)
                return
            except Exception as exc:
                delay = self.retry.next_delay(exc, attempt, self._clock() - started)
                if delay is None:
                    log.warning("job %s %s gave up: %s", job.job, job.job_id, type(exc).__name__)
                    await give_up_job(self.ports, job.job, job.job_id, exc)
                    return
                await self._sleep(delay)

    async def drain(self) -> None:
        """Wait for every job queued so far (and those they queue) to finish."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

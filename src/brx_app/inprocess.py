"""An in-process worker for the embedded default (demo) and tests: the queue's `on_enqueue`
hands each job here, and it runs through the same job table as the arq worker (`brx_app.jobs`),
with the same retry rule: transient failures back off and retry, the last failure gives up."""

from __future__ import annotations

import asyncio
import logging

from brx_adapters.memory import QueuedJob
from brx_domain.usecases import Ports
from brx_domain.usecases.operations import is_transient

log = logging.getLogger("brx.worker.inprocess")


class InProcessWorker:
    def __init__(self, *, max_tries: int = 6, base_delay: float = 0.5, max_delay: float = 30.0):
        self.ports: Ports | None = None  # set once the container is built (it needs the queue)
        self.max_tries = max_tries
        self.base_delay = base_delay
        self.max_delay = max_delay
        self._tasks: set[asyncio.Task[None]] = set()

    async def __call__(self, job: QueuedJob) -> None:
        task = asyncio.create_task(self._run(job), name=f"job:{job.job}:{job.job_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, job: QueuedJob) -> None:
        from brx_app.jobs import give_up_job, run_job

        assert self.ports is not None, "InProcessWorker.ports must be set before jobs run"
        for attempt in range(1, self.max_tries + 1):
            try:
                await run_job(self.ports, job.job, job.job_id)
                return
            except Exception as exc:
                if attempt == self.max_tries or not is_transient(exc):
                    log.warning("job %s %s gave up: %s", job.job, job.job_id, type(exc).__name__)
                    await give_up_job(self.ports, job.job, job.job_id, exc)
                    return
                await asyncio.sleep(min(self.base_delay * 2**attempt, self.max_delay))

    async def drain(self) -> None:
        """Wait for every job queued so far (and those they queue) to finish."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

"""`MemoryTaskQueue`: the arq queue as a list. PUBLIC API for other services' tests.

`enqueued` logs every accepted job; `pending` holds those not yet taken by `pop_all()`;
`on_enqueue` lets an in-process worker run each job as it is queued; `fail_next(n)` makes the
next n enqueues fail as if Redis were down (the outbox must then keep the work).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from typing import NamedTuple

from brx_adapters.queue_keys import QUEUE_KEYS
from brx_domain.errors import DependencyUnavailable
from brx_domain.jobs import JobName, Priority


class QueuedJob(NamedTuple):
    job: str
    job_id: str
    priority: Priority


OnEnqueue = Callable[[QueuedJob], Awaitable[None]]


class MemoryTaskQueue:
    def __init__(self, on_enqueue: OnEnqueue | None = None) -> None:
        self.on_enqueue = on_enqueue
        self.enqueued: list[QueuedJob] = []
        self.pending: list[QueuedJob] = []
        self.failures = 0  # enqueues refused by fail_next
        self._ids: set[str] = set()
        self._fail = 0

    def fail_next(self, n: int = 1) -> None:
        self._fail += n

    async def enqueue(self, job: JobName, *, job_id: str, priority: Priority) -> bool:
        if self._fail > 0:
            self._fail -= 1
            self.failures += 1
            raise DependencyUnavailable("queue unavailable (simulated)")
        if job_id in self._ids:
            return False
        queued = QueuedJob(str(job), job_id, Priority(priority))
        self._ids.add(job_id)
        self.enqueued.append(queued)
        self.pending.append(queued)
        if self.on_enqueue is not None:
            self.pending.remove(queued)
            await self.on_enqueue(queued)
        return True

    async def depth(self) -> dict[str, int]:
        """By the arq adapter's queue names, as metrics and /health show them."""
        return dict(Counter(QUEUE_KEYS[job.priority] for job in self.pending))

    def pop_all(self) -> list[QueuedJob]:
        """Take every pending job (what a worker would do), oldest first."""
        taken, self.pending = self.pending, []
        return taken

    def forget(self, job_id: str) -> None:
        """Let `job_id` be queued again, as arq does once a job's result has expired."""
        self._ids.discard(job_id)

    def job_ids(self) -> list[str]:
        return [job.job_id for job in self.enqueued]


__all__ = ["MemoryTaskQueue", "OnEnqueue", "QueuedJob"]

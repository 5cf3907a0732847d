"""Contract of the `TaskQueue` port: one job per id, and depth per priority's queue.

Use: `from tests.contracts.task_queue import *` and define a `task_queue` fixture (an empty
`TaskQueue` of its own: a fresh fake, or the arq adapter on a namespace no other test uses).
"""

from __future__ import annotations

import asyncio
import uuid

from brx_domain.jobs import JobName, Priority
from brx_domain.ports import TaskQueue

NAMES = ("brx:high", "brx:bulk", "brx:default")


def _id() -> str:
    return f"contract-{uuid.uuid4().hex}"


async def test_a_job_id_is_queued_once(task_queue: TaskQueue) -> None:
    job_id = _id()

    first = await task_queue.enqueue(JobName.PUSH_UPDATE, job_id=job_id, priority=Priority.HIGH)
    again = await task_queue.enqueue(JobName.PUSH_UPDATE, job_id=job_id, priority=Priority.HIGH)
    elsewhere = await task_queue.enqueue(JobName.BULK_SYNC, job_id=job_id, priority=Priority.BULK)

    assert (first, again, elsewhere) == (True, False, False)
    depth = await task_queue.depth()
    assert depth.get("brx:high") == 1
    assert not depth.get("brx:bulk")


async def test_depth_counts_each_priority_under_its_queue_name(task_queue: TaskQueue) -> None:
    for priority, count in ((Priority.HIGH, 2), (Priority.BULK, 1), (Priority.DEFAULT, 3)):
        for _ in range(count):
            assert await task_queue.enqueue(JobName.RECONCILE, job_id=_id(), priority=priority)

    depth = await task_queue.depth()

    assert {name: depth.get(name, 0) for name in NAMES} == {
        "brx:high": 2,
        "brx:bulk": 1,
        "brx:default": 3,
    }
    assert set(depth) <= set(NAMES)


async def test_concurrent_enqueues_queue_each_job_once(task_queue: TaskQueue) -> None:
    ids = [_id() for _ in range(20)]
    twice = ids[:5]

    queued = await asyncio.gather(
        *(
            task_queue.enqueue(JobName.APPLY_WEBHOOK, job_id=i, priority=Priority.HIGH)
            for i in [*ids, *twice]
        )
    )

    assert queued == [True] * 20 + [False] * 5
    assert (await task_queue.depth()).get("brx:high") == 20

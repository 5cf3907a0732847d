"""The task-queue contract, run against the arq adapter on the real Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from arq.connections import ArqRedis

from brx_adapters.queue import ArqTaskQueue
from brx_domain.jobs import JobName, Priority
from brx_domain.ports import TaskQueue
from tests.contracts.task_queue import *  # noqa: F403

pytestmark = pytest.mark.integration


@pytest.fixture
async def task_queue(redis_url: str, redis_prefix: str) -> AsyncIterator[TaskQueue]:
    queue = ArqTaskQueue.from_url(redis_url, namespace=redis_prefix)
    yield queue
    await queue.close()


async def test_concurrent_enqueues_share_round_trips(
    redis_url: str, redis_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    evalsha = ArqRedis.evalsha

    async def counted(self: ArqRedis, sha: str, numkeys: int, *args: Any) -> Any:
        calls.append(numkeys // 3)
        return await evalsha(self, sha, numkeys, *args)  # type: ignore[misc]

    monkeypatch.setattr(ArqRedis, "evalsha", counted)
    queue = ArqTaskQueue.from_url(redis_url, namespace=redis_prefix)
    try:
        await queue.depth()  # connected: the calls below wait for nothing else
        ids = [f"{redis_prefix}shared-{n}" for n in range(30)]
        queued = await asyncio.gather(
            *(queue.enqueue(JobName.APPLY_WEBHOOK, job_id=i, priority=Priority.HIGH) for i in ids)
        )
        depth = await queue.depth()
    finally:
        await queue.close()

    assert all(queued) and depth.get("brx:high") == 30
    assert calls == [1, 29]  # the first job's call, then the 29 behind it in one

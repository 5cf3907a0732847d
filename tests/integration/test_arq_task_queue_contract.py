"""The task-queue contract, run against the arq adapter on the real Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from brx_adapters.queue import ArqTaskQueue
from brx_domain.ports import TaskQueue
from tests.contracts.task_queue import *  # noqa: F403

pytestmark = pytest.mark.integration


@pytest.fixture
async def task_queue(redis_url: str, redis_prefix: str) -> AsyncIterator[TaskQueue]:
    queue = ArqTaskQueue.from_url(redis_url, namespace=redis_prefix)
    yield queue
    await queue.close()

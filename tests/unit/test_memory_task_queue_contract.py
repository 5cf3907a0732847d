"""The task-queue contract, run against the in-memory queue."""

from __future__ import annotations

import pytest

from brx_adapters.memory import MemoryTaskQueue
from brx_domain.ports import TaskQueue
from tests.contracts.task_queue import *  # noqa: F403


@pytest.fixture
def task_queue() -> TaskQueue:
    return MemoryTaskQueue()

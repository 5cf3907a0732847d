"""Fixtures of the reliability suite: the shared stack (scenarios that only send traffic) and a
factory of stacks of their own (scenarios that kill or stop a part of it)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.stack import Stack


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "last: run after every other scenario of the session")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.get_closest_marker("last") is not None)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    made = Stack(tmp_path_factory.mktemp("stack"))
    yield made
    made.close()


@pytest.fixture
def own_stack(tmp_path: Path) -> Iterator[Callable[..., Awaitable[Stack]]]:
    """`await own_stack(**options)`: a stack of the scenario's own (started in a thread: its
    database set-up runs an event loop of its own), closed after the scenario."""
    made: list[Stack] = []

    async def make(**options: Any) -> Stack:
        made.append(await asyncio.to_thread(Stack, tmp_path, **options))
        return made[-1]

    yield make
    for one in made:
        one.close()

"""The rate-limiter and catalogue contracts (tests/contracts), run on the in-memory fakes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import pytest

from brx_adapters.memory import FakeClock, MemoryCatalogue, MemoryRateLimiter
from brx_domain.ports import BlueprintCatalogue
from tests.contracts.catalogue import *  # noqa: F403
from tests.contracts.ratelimit import *  # noqa: F403


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def rate_limiter(clock: FakeClock) -> MemoryRateLimiter:
    return MemoryRateLimiter(clock)


@pytest.fixture
def let_pass(clock: FakeClock) -> Callable[[float], Awaitable[None]]:
    async def advance(seconds: float) -> None:
        clock.advance(seconds)

    return advance


@pytest.fixture
def catalogue_knowing() -> Callable[
    [Collection[int]], AbstractAsyncContextManager[BlueprintCatalogue]
]:
    @asynccontextmanager
    async def knowing(ids: Collection[int]) -> AsyncIterator[BlueprintCatalogue]:
        yield MemoryCatalogue(set(ids))

    return knowing

"""`SharedCalls`: concurrent callers of one key share a call; each gets its own answer."""

from __future__ import annotations

import asyncio
import random

import pytest

from brx_adapters.shared_calls import SharedCalls
from brx_domain.errors import DependencyUnavailable


class Echo:
    """`send` that answers each request with (the batch's number, the request), after a turn."""

    def __init__(self, fail: set[int] | None = None) -> None:
        self.batches: list[tuple[str, list[int]]] = []
        self.fail = fail or set()

    async def send(self, key: str, requests: list[int]) -> list[tuple[int, int]]:
        self.batches.append((key, requests))
        number = len(self.batches)
        await asyncio.sleep(0.001)  # on its way, as a round trip is
        if number in self.fail:
            raise DependencyUnavailable(f"batch {number} failed")
        return [(number, r) for r in requests]


async def test_callers_behind_a_call_go_together_as_the_next_and_get_their_own_answers() -> None:
    echo = Echo()
    calls: SharedCalls[str, int, tuple[int, int]] = SharedCalls(echo.send)

    answers = await asyncio.gather(*(calls.call("k", n) for n in range(10)))

    assert answers == [(1, 0), *((2, n) for n in range(1, 10))]
    assert echo.batches == [("k", [0]), ("k", list(range(1, 10)))]


async def test_each_key_has_calls_of_its_own() -> None:
    echo = Echo()
    calls: SharedCalls[str, int, tuple[int, int]] = SharedCalls(echo.send)

    await asyncio.gather(calls.call("a", 1), calls.call("b", 2), calls.call("a", 3))

    assert sorted(echo.batches) == [("a", [1]), ("a", [3]), ("b", [2])]


async def test_callers_arriving_in_waves_are_all_answered_once() -> None:
    """Callers keep arriving while calls end and the next begin: none is lost or answered twice
    (a first version lost the waiters of a call that began as another ended)."""
    echo = Echo()
    calls: SharedCalls[str, int, tuple[int, int]] = SharedCalls(echo.send)
    rng = random.Random(3)

    async def caller(first: int) -> list[int]:
        got = []
        for n in range(first, first + 30):
            await asyncio.sleep(rng.choice([0, rng.random() / 2000]))
            got.append((await calls.call("k", n))[1])
        return got

    async with asyncio.timeout(20):
        answers = await asyncio.gather(*(caller(1000 * c) for c in range(20)))

    assert answers == [list(range(1000 * c, 1000 * c + 30)) for c in range(20)]
    sent = [r for _, requests in echo.batches for r in requests]
    assert sorted(sent) == sorted(n for a in answers for n in a)  # each request sent once


async def test_a_failed_call_fails_each_of_its_callers_and_the_next_ones_go_on() -> None:
    echo = Echo(fail={2})
    calls: SharedCalls[str, int, tuple[int, int]] = SharedCalls(echo.send)

    first = asyncio.ensure_future(calls.call("k", 0))
    await asyncio.sleep(0)
    behind = [asyncio.ensure_future(calls.call("k", n)) for n in (1, 2)]
    assert await first == (1, 0)
    outcomes = await asyncio.gather(*behind, return_exceptions=True)
    later = await calls.call("k", 3)

    assert all(isinstance(o, DependencyUnavailable) for o in outcomes)
    assert outcomes[0] is not outcomes[1]  # an exception of its own each
    assert later == (3, 3)


async def test_a_caller_that_gives_up_leaves_the_others_answered() -> None:
    echo = Echo()
    calls: SharedCalls[str, int, tuple[int, int]] = SharedCalls(echo.send)

    first = asyncio.ensure_future(calls.call("k", 0))
    await asyncio.sleep(0)
    quitter = asyncio.ensure_future(calls.call("k", 1))
    stayer = asyncio.ensure_future(calls.call("k", 2))
    await asyncio.sleep(0)
    quitter.cancel()

    assert await first == (1, 0) and await stayer == (2, 2)
    with pytest.raises(asyncio.CancelledError):
        await quitter

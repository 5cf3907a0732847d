"""Round trips shared by concurrent callers: while one call for a key is on its way, later
requests for that key wait for it and then go together as the next call.

The rate limiter (one call per bucket) and the job queue (one call for all) use it: under 50
requests in flight, each one's own Redis call was a fifth of the inventory page's cost and a
third of the webhook receiver's (redis-py's pool checkout, the command, Redis's own CPU on the
core it shares with Postgres; docs/benchmarks.md). A caller waits at most one call more than
it would alone, and each gets its own answer from the call it went in.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")
R = TypeVar("R")


class SharedCalls(Generic[K, T, R]):
    """`call(key, request)` through `send(key, requests)`, which answers each request of a
    batch in its order. An exception `send` raises fails every request of that batch."""

    def __init__(self, send: Callable[[K, list[T]], Awaitable[Sequence[R]]]) -> None:
        self._send = send
        self._waiting: dict[K, list[tuple[T, asyncio.Future[R]]]] = {}  # behind a call on its way
        self._calls: set[asyncio.Task[None]] = set()  # the waiters' calls, held until done

    async def call(self, key: K, request: T) -> R:
        waiting = self._waiting.get(key)
        if waiting is not None:  # a call for this key is on its way: go with the next one
            answer: asyncio.Future[R] = asyncio.get_running_loop().create_future()
            waiting.append((request, answer))
            return await answer
        self._waiting[key] = []
        return (await self._batch(key, [request]))[0]

    async def _batch(self, key: K, requests: list[T]) -> Sequence[R]:
        """One `send`; whoever asks meanwhile (`_waiting[key]`, set before it) waits for the
        next, whose own waiters' list is set before it starts."""
        try:
            return await self._send(key, requests)
        finally:
            behind = self._waiting.pop(key)
            if behind:
                self._waiting[key] = []
                call = asyncio.create_task(self._answer(key, behind))
                self._calls.add(call)
                call.add_done_callback(self._calls.discard)

    async def _answer(self, key: K, waiters: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            answers = await self._batch(key, [request for request, _ in waiters])
        except BaseException as exc:  # each waiter fails as its own call would have
            for _, answer in waiters:
                if answer.done():
                    continue
                if isinstance(exc, asyncio.CancelledError):
                    answer.cancel()
                else:
                    answer.set_exception(copy.copy(exc))
            if not isinstance(exc, Exception):
                raise
            return
        for (_, answer), result in zip(waiters, answers, strict=True):
            if not answer.done():  # a caller that gave up: its request was still made
                answer.set_result(result)

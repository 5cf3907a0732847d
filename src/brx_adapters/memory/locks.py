"""`ProductLocks` in one process (the demo, unit tests). PUBLIC API for other services' tests:
`acquired` lists the keys in the order they were taken."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from brx_domain.errors import ProductBusy


class MemoryProductLocks:
    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self.acquired: list[str] = []

    @asynccontextmanager
    async def hold(self, key: str, wait_seconds: float) -> AsyncIterator[None]:
        lock = self._locks.setdefault(key, asyncio.Lock())
        try:
            async with asyncio.timeout(max(wait_seconds, 0.0)):
                await lock.acquire()
        except TimeoutError:
            raise ProductBusy(f"another write to CardTrader product {key} is running") from None
        self.acquired.append(key)
        try:
            yield
        finally:
            lock.release()

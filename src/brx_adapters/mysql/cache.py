"""A bounded TTL cache of catalogue answers, positive and negative alike.

A 250k-product sync asks about the same few thousand blueprints chunk after chunk; remembering
"unknown" matters as much as "known", or every chunk would query the unknown ones again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection


class AnswerCache:
    """`blueprint id -> known?` with one expiry per entry; the oldest entries go first once
    `max_entries` is reached (insertion order is age order, since entries are never extended)."""

    def __init__(
        self,
        ttl_seconds: float,
        *,
        max_entries: int = 500_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl, self.max_entries, self._clock = ttl_seconds, max_entries, clock
        self._entries: dict[int, tuple[bool, float]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def split(self, ids: Collection[int]) -> tuple[set[int], set[int]]:
        """(known ids answered from the cache, ids that still need a lookup)."""
        if self.ttl <= 0:
            return set(), set(ids)
        now, entries = self._clock(), self._entries
        known: set[int] = set()
        missing: set[int] = set()
        for blueprint_id in ids:
            entry = entries.get(blueprint_id)
            if entry is None or entry[1] <= now:
                missing.add(blueprint_id)
            elif entry[0]:
                known.add(blueprint_id)
        return known, missing

    def store(self, asked: Collection[int], known: Collection[int]) -> None:
        """Remember the answer for every id asked: those in `known` as known, the rest not."""
        if self.ttl <= 0:
            return
        expires = self._clock() + self.ttl
        entries = self._entries
        for blueprint_id in asked:
            entries.pop(blueprint_id, None)  # re-insert at the young end
            entries[blueprint_id] = (blueprint_id in known, expires)
        self._evict()

    def clear(self) -> None:
        self._entries.clear()

    def _evict(self) -> None:
        excess = len(self._entries) - self.max_entries
        if excess <= 0:
            return
        for blueprint_id in list(self._entries)[:excess]:
            del self._entries[blueprint_id]

"""In-memory idempotency keys and the erasure of a user's data. PUBLIC API (through
`MemoryUnitOfWork`); semantics match the Postgres adapter: one live claim per (user, key), an
expired key is claimable again, and erasure touches only the user's own rows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any
from uuid import UUID

from brx_adapters.memory.store import Journal
from brx_domain.idempotency import IdempotencyRecord, StoredAnswer

Key = tuple[UUID, str]


class MemoryIdempotencyRepository:
    def __init__(self, journal: Journal) -> None:
        self._j = journal

    def _all(self) -> dict[Key, IdempotencyRecord]:
        records: dict[Key, IdempotencyRecord] = self._j.read("idempotency")
        return records

    async def claim(self, record: IdempotencyRecord) -> IdempotencyRecord | None:
        held = self._all().get((record.user_id, record.key))
        if held is not None and held.is_live(record.created_at):
            return held
        self._j.write("idempotency")[(record.user_id, record.key)] = replace(record, answer=None)
        return None

    async def complete(self, user_id: UUID, key: str, answer: StoredAnswer) -> None:
        held = self._all().get((user_id, key))
        if held is not None:
            self._j.write("idempotency")[(user_id, key)] = replace(held, answer=answer)

    async def release(self, user_id: UUID, key: str, fingerprint: str) -> None:
        held = self._all().get((user_id, key))
        if held is not None and held.answer is None and held.fingerprint == fingerprint:
            del self._j.write("idempotency")[(user_id, key)]

    async def purge_expired(self, now: datetime) -> int:
        expired = [k for k, record in self._all().items() if not record.is_live(now)]
        if expired:
            table = self._j.write("idempotency")
            for key in expired:
                del table[key]
        return len(expired)


class MemoryErasureRepository:
    """Filters every table of the store; keyed tables carry the user id in the key or value."""

    def __init__(self, journal: Journal) -> None:
        self._j = journal

    async def erase_user(self, user_id: UUID) -> dict[str, int]:
        removed = {
            "settings": self._drop_keys("settings", lambda k, v: k == user_id),
            "items": self._drop_keys("items", lambda k, v: v.user_id == user_id),
            "ledger": self._drop_ledger(user_id),
            "operations": self._drop_keys("operations", lambda k, v: v.user_id == user_id),
            "webhooks": self._drop_keys("webhooks", lambda k, v: k[0] == user_id),
            "orders": self._drop_keys("orders", lambda k, v: k[0] == user_id),
            "idempotency": self._drop_keys("idempotency", lambda k, v: k[0] == user_id),
        }
        self._drop_keys("item_keys", lambda k, v: k[0] == user_id)
        return removed

    def _drop_keys(self, table: str, mine: Callable[[Any, Any], bool]) -> int:
        doomed = [k for k, v in self._j.read(table).items() if mine(k, v)]
        if doomed:
            rows = self._j.write(table)
            for key in doomed:
                del rows[key]
        return len(doomed)

    def _drop_ledger(self, user_id: UUID) -> int:
        ledger = self._j.read("ledger")
        kept = [entry for entry in ledger if entry.user_id != user_id]
        if len(kept) != len(ledger):
            self._j.write("ledger")[:] = kept
        return len(ledger) - len(kept)


__all__ = ["MemoryErasureRepository", "MemoryIdempotencyRepository"]

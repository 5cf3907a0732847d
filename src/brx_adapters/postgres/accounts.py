"""Postgres idempotency keys and the erasure of a user's data. Like every repository here they
share the unit of work's connection and never commit."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import Table, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from brx_adapters.postgres import mapping
from brx_adapters.postgres.errors import translating
from brx_adapters.postgres.tables import (
    idempotency,
    items,
    ledger,
    operations,
    orders,
    settings,
    webhooks,
)
from brx_domain.idempotency import IdempotencyRecord, StoredAnswer

# A claim whose row vanished between the INSERT and the read (released meanwhile) is tried
# again; twice more is plenty, since a release only follows a finished request.
_CLAIM_ATTEMPTS = 3


@translating
class PostgresIdempotencyRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def claim(self, record: IdempotencyRecord) -> IdempotencyRecord | None:
        """INSERT ... ON CONFLICT DO UPDATE only over an expired row: a concurrent claim of the
        same key waits on the first one's row, then finds it live and claims nothing."""
        for _ in range(_CLAIM_ATTEMPTS):
            if await self._insert_or_take_expired(record):
                return None
            held = await self._get(record.user_id, record.key)
            if held is not None:
                return held
        raise RuntimeError("idempotency key claimed and released repeatedly")  # not reachable

    async def complete(self, user_id: UUID, key: str, answer: StoredAnswer) -> None:
        await self._conn.execute(
            update(idempotency)
            .where(idempotency.c.user_id == user_id, idempotency.c.idempotency_key == key)
            .values(status_code=answer.status, response=dict(answer.body))
        )

    async def release(self, user_id: UUID, key: str, fingerprint: str) -> None:
        await self._conn.execute(
            delete(idempotency).where(
                idempotency.c.user_id == user_id,
                idempotency.c.idempotency_key == key,
                idempotency.c.fingerprint == fingerprint,
                idempotency.c.status_code.is_(None),
            )
        )

    async def purge_expired(self, now: datetime) -> int:
        result = await self._conn.execute(
            delete(idempotency).where(idempotency.c.expires_at <= now)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def _insert_or_take_expired(self, record: IdempotencyRecord) -> bool:
        statement = pg_insert(idempotency).values(
            user_id=record.user_id,
            idempotency_key=record.key,
            fingerprint=record.fingerprint,
            status_code=None,
            response=None,
            created_at=record.created_at,
            expires_at=record.expires_at,
        )
        fresh = statement.excluded
        result = await self._conn.execute(
            statement.on_conflict_do_update(
                index_elements=["user_id", "idempotency_key"],
                set_={
                    "fingerprint": fresh.fingerprint,
                    "status_code": None,
                    "response": None,
                    "created_at": fresh.created_at,
                    "expires_at": fresh.expires_at,
                },
                where=idempotency.c.expires_at <= fresh.created_at,
            ).returning(idempotency.c.user_id)
        )
        return result.first() is not None

    async def _get(self, user_id: UUID, key: str) -> IdempotencyRecord | None:
        result = await self._conn.execute(
            select(idempotency).where(
                idempotency.c.user_id == user_id, idempotency.c.idempotency_key == key
            )
        )
        row = result.mappings().first()
        return None if row is None else mapping.idempotency_from_row(row)


_USER_TABLES: dict[str, Table] = {
    "idempotency": idempotency,
    "orders": orders,
    "webhooks": webhooks,
    "ledger": ledger,
    "operations": operations,
    "items": items,
    "settings": settings,
}


@translating
class PostgresErasureRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def erase_user(self, user_id: UUID) -> dict[str, int]:
        """One DELETE per table, all in the unit of work's transaction: all or nothing."""
        removed = {}
        for name, table in _USER_TABLES.items():
            result = await self._conn.execute(delete(table).where(table.c.user_id == user_id))
            removed[name] = int(getattr(result, "rowcount", 0) or 0)
        return removed

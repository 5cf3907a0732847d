"""A chunk of a first load, written with no lock probe and no INSERT ... ON CONFLICT: the
chunk's stage (`bulk.copy_to_stage`, one binary COPY) goes into `user_inventory_items` with one
plain INSERT ... SELECT, and the same statement writes its `sync` ledger entries from the rows
it inserted. The database's work is then that of the benchmark's floor (one COPY into the
indexed table) plus the ledger: per 100k rows, 2.9-3.1 s of the backend's CPU against the
floor's 2.3-2.9 s and the general upsert's 3.5-3.9 s as at 48044f7 (docs/benchmarks.md).

Only for a chunk whose keys the importer expects to be new (`upsert_products(all_new=True)`:
the user had no listed item when the sync started, and no earlier chunk of the run had these
CardTrader ids). The INSERT runs inside a SAVEPOINT: if the rows are refused after all (a
webhook, a shop create or another sync stored one of the keys meanwhile: the INSERT waits for
that writer, then fails on the unique key; a deadlock with it; data the table refuses), the
savepoint is rolled back and the caller writes the chunk through the general path, which then
decides (updates what is stored, raises what it raises). Nothing is lost or doubled.

The rows written are those of the general path for a chunk of new keys: the same columns, the
same `now` as created_at, updated_at and the ledger's created_at, one `sync` entry per item
whose quantity is not zero (delta = quantity_after = quantity). The statement-level INSERT
trigger of migration 0005 keeps `user_inventory_counts` exact.

The rows go in the unique key's order (the export's is random in it): each chunk's inserts then
walk that index's pages in one direction, not one random page per row. A 250k first load's
INSERTs took 8.3-9.2 s in all instead of 9.4-10.3 s (five runs each, alternating, load 1.5-3).

(A binary COPY straight into the table, ids taken from the sequence ahead, costs the database
as little but this process three times the CPU: asyncpg encodes the user id and two timestamps
per row, 1-1.5 µs each; the stage holds only what differs between rows.)
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from brx_adapters.postgres.errors import sqlstate

# The staged rows as new items, created and updated `:now` (this path's and the general
# upsert's, which adds its own WHERE and ON CONFLICT).
INSERT_STAGED = """
        INSERT INTO user_inventory_items (
            user_id, blueprint_id, external_stock_id, quantity, price_cents, properties,
            description, user_data_field, graded, card_name, expansion_name, created_at,
            updated_at)
        SELECT :user_id, blueprint_id, external_stock_id, quantity, price_cents, properties,
               description, user_data_field, graded, card_name, expansion_name, :now, :now
        FROM brx_sync_stage"""  # bulk.STAGE (bulk imports this module)

_INSERT_NEW = text(
    f"""
    WITH new AS ({INSERT_STAGED}
        ORDER BY blueprint_id, external_stock_id
        RETURNING id, quantity
    )
    INSERT INTO stock_ledger (
        user_id, item_id, delta, reason, operation_id, quantity_after, created_at)
    SELECT :user_id, id, quantity, 'sync', :operation_id, quantity, :now
    FROM new WHERE quantity <> 0
    """  # noqa: S608 (module constants only; values are bound parameters)
)
# What makes the quick write give way to the general path: the rows (or a concurrent writer of
# the same keys) refused them (integrity 23, data 22, deadlock); never a lost connection.
_REFUSED_CLASSES = ("22", "23")
_DEADLOCK = "40P01"


def refused(exc: DBAPIError) -> bool:
    code = sqlstate(exc) or ""
    return code[:2] in _REFUSED_CLASSES or code == _DEADLOCK


async def insert_new(
    conn: AsyncConnection, user_id: UUID, *, operation_id: str, now: datetime
) -> bool:
    """Insert the staged chunk (`bulk.copy_to_stage`, just filled) as new items with their
    ledger entries; True if written, False if refused (nothing of it is left: the caller
    writes the chunk the general way in the same transaction)."""
    params: dict[str, Any] = {"user_id": user_id, "now": now, "operation_id": operation_id}
    try:
        async with conn.begin_nested():
            await conn.execute(_INSERT_NEW, params)
    except DBAPIError as exc:
        if exc.connection_invalidated or not refused(exc):
            raise
        return False
    return True

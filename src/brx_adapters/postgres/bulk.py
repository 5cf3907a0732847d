"""Set-based sync writes: COPY a chunk into a temporary table, then one statement that
inserts new rows, rewrites only rows that really changed (the ON CONFLICT ... WHERE ... IS
DISTINCT FROM guard: unchanged rows keep their xmin), and writes their ledger entries.

The rows of the chunk that already exist and differ from it are locked first
(`_LOCK_EXISTING`, in id order, so two writers never deadlock). Under READ COMMITTED the upsert
that follows then takes a snapshot in which those rows can no longer change: the old quantity it
reads (every part of a statement sees the snapshot taken before it, so a plain read returns the
pre-update row) is the one it really replaces, and each `sync` ledger delta is the change
applied, even when a purchase or a webhook committed on the row while the chunk was being
staged. Without the lock, the statement's snapshot could predate such a commit while ON CONFLICT
updated the newer row version. The upsert rewrites only rows it locked: one that matched the
chunk when the locks were taken and changed since (a purchase, newer than the export) is left as
that change made it. Matching rows are never locked, so a re-sync with 10% changed locks about
10% of the rows, not all of them (a row lock writes the row's header, WAL included).
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from brx_adapters.postgres.engine import json_text
from brx_domain.sync import NAME_FIELDS, RemoteProduct, UpsertCounts

STAGE = "brx_sync_stage"
STAGE_COLUMNS = (
    "blueprint_id",
    "external_stock_id",
    "quantity",
    "price_cents",
    "properties",
    "description",
    "user_data_field",
    "graded",
    "card_name",
    "expansion_name",
)
SYNCED = ("quantity", "price_cents", "properties", "description", "user_data_field", "graded")

_CREATE_STAGE = text(
    f"""
    CREATE TEMPORARY TABLE IF NOT EXISTS {STAGE} (
        blueprint_id INTEGER NOT NULL,
        external_stock_id TEXT NOT NULL,
        quantity INTEGER NOT NULL,
        price_cents INTEGER NOT NULL,
        properties JSONB NOT NULL,
        description TEXT,
        user_data_field TEXT,
        graded BOOLEAN,
        card_name TEXT,
        expansion_name TEXT
    ) ON COMMIT DELETE ROWS
    """
)
_CLEAR_STAGE = text(f"TRUNCATE {STAGE}")
# ON COMMIT DELETE ROWS (and rollback) empty the stage between transactions; this per-connection
# marker remembers which transaction last filled it, so only a reuse within one is truncated.
_STAGE_OWNER = "brx_sync_stage_transaction"


def _tuple(alias: str) -> str:
    return "(" + ", ".join(f"{alias}.{c}" for c in SYNCED) + ")"


def _changed(old: str, new: str) -> str:
    """The IS DISTINCT FROM guard; a name counts only when CardTrader sent one (an answer
    without names keeps the stored ones: the domain's `differs`)."""
    names = " OR ".join(
        f"({new}.{c} IS NOT NULL AND {new}.{c} IS DISTINCT FROM {old}.{c})" for c in NAME_FIELDS
    )
    return f"({_tuple(old)} IS DISTINCT FROM {_tuple(new)} OR {names})"


# LATERAL ... LIMIT 1 (never flattened) forces one index probe per staged row. A plain join
# lets the planner hash the user's whole inventory for every chunk (quadratic over a sync)
# whenever the statistics lag behind a first load.
_EXISTING = (
    "LEFT JOIN LATERAL (SELECT id, quantity, price_cents, properties, description, "
    "user_data_field, graded, card_name, expansion_name FROM user_inventory_items "
    "WHERE user_id = :user_id AND blueprint_id = s.blueprint_id "
    "AND external_stock_id = s.external_stock_id LIMIT 1) i ON TRUE"
)

_UPSERT = text(
    f"""
    WITH up AS (
        INSERT INTO user_inventory_items AS t (
            user_id, blueprint_id, external_stock_id, quantity, price_cents, properties,
            description, user_data_field, graded, card_name, expansion_name, created_at,
            updated_at)
        SELECT :user_id, blueprint_id, external_stock_id, quantity, price_cents, properties,
               description, user_data_field, graded, card_name, expansion_name, :now, :now
        FROM {STAGE}
        ON CONFLICT (user_id, blueprint_id, external_stock_id) DO UPDATE SET
            {", ".join(f"{c} = EXCLUDED.{c}" for c in SYNCED)},
            {", ".join(f"{c} = COALESCE(EXCLUDED.{c}, t.{c})" for c in NAME_FIELDS)},
            updated_at = EXCLUDED.updated_at
        WHERE t.id = ANY(CAST(:locked AS BIGINT[])) AND {_changed("t", "EXCLUDED")}
        RETURNING t.id, t.quantity, (t.xmax = 0) AS inserted
    ),
    changes AS (
        SELECT up.id, up.quantity, up.quantity - COALESCE(old.quantity, 0) AS delta, up.inserted
        FROM up LEFT JOIN LATERAL (
            SELECT o.quantity FROM user_inventory_items o
            WHERE NOT up.inserted AND o.id = up.id
            LIMIT 1  -- keeps the subquery unflattened: a primary-key probe per updated row,
        ) old ON TRUE  -- never a scan of the whole table (the planner's choice otherwise)
    ),
    ledger AS (
        INSERT INTO stock_ledger (
            user_id, item_id, delta, reason, operation_id, quantity_after, created_at)
        SELECT :user_id, id, delta, 'sync', :operation_id, quantity, :now
        FROM changes WHERE delta <> 0
    )
    SELECT count(*) FILTER (WHERE inserted) AS created,
           count(*) FILTER (WHERE NOT inserted) AS updated
    FROM changes
    """  # noqa: S608 (composed from module constants only; values are bound parameters)
)

# The ids come from the same per-row index probes as the upsert; `= ANY(ARRAY(...))` then
# fetches them by primary key (never a scan of the user's inventory).
_LOCK_EXISTING = text(
    f"""
    SELECT id FROM user_inventory_items
    WHERE id = ANY(ARRAY(SELECT i.id FROM {STAGE} s {_EXISTING}
                         WHERE i.id IS NOT NULL AND {_changed("i", "s")}))
    ORDER BY id FOR UPDATE
    """  # noqa: S608 (module constants only)
)

# `brx_domain.holds`, set-based: the chunk's existing items whose quantity must stay local get
# their local quantity written into the stage, so the upsert leaves it (and writes no `sync`
# entry). Runs after `_LOCK_EXISTING` and only over the rows it locked (`:locked`; NULL in a dry
# run, which locks nothing: every existing row): a purchase, edit or order applied from here on
# waits for this transaction and comes after it, and a row not locked is never rewritten, so
# holding it would change nothing. A quantity that differs is a change, so when nothing was
# locked nothing can be held and the statement is skipped (a first load: every chunk). Per
# chunk otherwise: one index probe per staged row (as the upsert), one per locked item into its
# ledger, and one pass over the user's open or recent operations and stored-but-unapplied order
# webhooks (both few).
_JOB_ARGS = "o.operation_metadata -> 'job' -> 'args'"
_HOLD = text(
    f"""
    WITH pushes AS (
        SELECT {_JOB_ARGS} ->> 'item_id' AS item_id,
               {_JOB_ARGS} ->> 'external_stock_id' AS product
        FROM sync_operations o
        WHERE o.user_id = :user_id AND o.operation_type <> 'webhook'
          AND (o.status = 'pending' OR o.completed_at >= :since)
    ),
    orders AS (
        SELECT d.body, (d.body ->> 'object_id')::BIGINT AS order_id
        FROM sync_operations o
        JOIN webhook_deliveries d
          ON d.user_id = o.user_id AND d.delivery_id = {_JOB_ARGS} ->> 'delivery_id'
        WHERE o.user_id = :user_id AND o.operation_type = 'webhook' AND o.status = 'pending'
    ),
    order_products AS (
        SELECT line ->> 'product_id' AS product
        FROM orders, jsonb_array_elements(CASE
            WHEN jsonb_typeof(orders.body -> 'data' -> 'order_items') = 'array'
            THEN orders.body -> 'data' -> 'order_items' ELSE '[]'::JSONB END) AS line
        UNION
        SELECT jsonb_object_keys(r.taken)
        FROM orders JOIN order_stock r
          ON r.user_id = :user_id AND r.order_id = orders.order_id
    ),
    held AS (
        SELECT s.ctid AS row, i.quantity
        FROM {STAGE} s {_EXISTING}
        WHERE i.id IS NOT NULL AND s.quantity IS DISTINCT FROM i.quantity
          AND (CAST(:locked AS BIGINT[]) IS NULL OR i.id = ANY(CAST(:locked AS BIGINT[]))) AND (
            EXISTS (SELECT 1 FROM stock_ledger l
                    WHERE l.user_id = :user_id AND l.item_id = i.id
                      AND l.created_at >= :since AND l.reason <> 'sync')
            OR CAST(i.id AS TEXT) IN (SELECT item_id FROM pushes WHERE item_id IS NOT NULL)
            OR s.external_stock_id IN (SELECT product FROM pushes WHERE product IS NOT NULL)
            OR s.external_stock_id IN (SELECT product FROM order_products))
    )
    UPDATE {STAGE} s SET quantity = held.quantity FROM held WHERE s.ctid = held.row
    """  # noqa: S608 (module constants only; values are bound parameters)
)

_DRY_RUN = text(
    f"""
    SELECT count(*) FILTER (WHERE i.id IS NULL) AS created,
           count(*) FILTER (WHERE i.id IS NOT NULL
                            AND {_changed("i", "s")}) AS updated
    FROM {STAGE} s {_EXISTING}
    """  # noqa: S608 (module constants only)
)


def _properties_json(values: dict[str, Any]) -> str:
    """jsonb text for COPY (orjson: ~7x quicker than json for a quarter million small property
    objects); what orjson refuses (non-string keys, huge integers) goes to json."""
    try:
        return orjson.dumps(values).decode()
    except TypeError:
        return json_text(values)


def stage_records(products: Sequence[RemoteProduct]) -> list[tuple[Any, ...]]:
    """One record per (blueprint, external id), the last copy winning (as the domain plans)."""
    latest: dict[tuple[int, str], tuple[Any, ...]] = {}
    for p in products:
        external_id = p.external_stock_id
        latest[(p.blueprint_id, external_id)] = (
            p.blueprint_id,
            external_id,
            p.quantity,
            p.price_cents,
            _properties_json(p.properties.to_dict()),
            p.description,
            p.user_data_field,
            p.graded,
            p.card_name,
            p.expansion_name,
        )
    return list(latest.values())


class StagedProducts(list[RemoteProduct]):
    """A chunk and its COPY records, built once ahead of the write (`prepare_import`)."""

    def __init__(self, products: Sequence[RemoteProduct]) -> None:
        super().__init__(products)
        self.records = stage_records(products)


async def copy_to_stage(conn: AsyncConnection, records: list[tuple[Any, ...]]) -> None:
    """COPY through the driver connection of this very transaction (binary, one round trip)."""
    await conn.execute(_CREATE_STAGE)  # also starts the transaction before the raw COPY
    transaction = conn.sync_connection.get_transaction() if conn.sync_connection else None
    used_by = conn.info.get(_STAGE_OWNER)
    if transaction is None or (used_by is not None and used_by() is transaction):
        await conn.execute(_CLEAR_STAGE)  # a second chunk in one transaction: rows still there
    if transaction is not None:
        conn.info[_STAGE_OWNER] = weakref.ref(transaction)
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    await driver.copy_records_to_table(STAGE, records=records, columns=STAGE_COLUMNS)


async def upsert_products(
    conn: AsyncConnection,
    user_id: UUID,
    products: Sequence[RemoteProduct],
    *,
    operation_id: str,
    now: datetime,
    dry_run: bool = False,
    hold_since: datetime | None = None,
) -> UpsertCounts:
    """Import one chunk; a product listed twice in it counts (and is stored) once. With
    `hold_since`, items `brx_domain.holds` holds keep their quantity (counted in `held`)."""
    if not products:
        return UpsertCounts()
    records = products.records if isinstance(products, StagedProducts) else stage_records(products)
    await copy_to_stage(conn, records)
    locked: list[int] | None = None
    if not dry_run:
        locked = [row[0] for row in await conn.execute(_LOCK_EXISTING, {"user_id": user_id})]
    held = 0
    if hold_since is not None and locked != []:
        hold = {"user_id": user_id, "since": hold_since, "locked": locked}
        held = (await conn.execute(_HOLD, hold)).rowcount
    if dry_run:
        result = await conn.execute(_DRY_RUN, {"user_id": user_id})
    else:
        params = {"user_id": user_id, "now": now, "operation_id": operation_id, "locked": locked}
        result = await conn.execute(_UPSERT, params)
    created, updated = result.one()
    created, updated = int(created), int(updated)
    return UpsertCounts(created, updated, len(records) - created - updated, held)


# Keyset pages over the unique (user_id, blueprint_id, external_stock_id) index: each page is one
# bounded range of it, whatever the inventory's size and whoever else's rows the table holds.
# (NULL CardTrader ids sort last in the index and never compare: unlisted items are not paged.)
_LISTED = (
    "SELECT blueprint_id, external_stock_id, id FROM user_inventory_items "
    "WHERE user_id = :user_id AND blueprint_id BETWEEN :low AND :high "
    "AND external_stock_id IS NOT NULL{after} "
    "ORDER BY blueprint_id, external_stock_id LIMIT :limit"
)
_LISTED_FIRST = text(_LISTED.format(after=""))
_LISTED_AFTER = text(
    _LISTED.format(after=" AND (blueprint_id, external_stock_id) > (:after_blueprint, :after_id)")
)
_INT4 = (-(2**31), 2**31 - 1)


async def listed_page(
    conn: AsyncConnection,
    user_id: UUID,
    *,
    after: tuple[int, str] | None,
    limit: int,
    blueprint_id: int | None = None,
) -> list[tuple[int, str, int]]:
    """`InventoryRepository.listed_page`: the next `limit` keys after `after`."""
    low, high = _INT4 if blueprint_id is None else (blueprint_id, blueprint_id)
    params: dict[str, Any] = {"user_id": user_id, "low": low, "high": high, "limit": limit}
    if after is None:
        result = await conn.execute(_LISTED_FIRST, params)
    else:
        params.update(after_blueprint=after[0], after_id=after[1])
        result = await conn.execute(_LISTED_AFTER, params)
    return [(int(b), str(e), int(i)) for b, e, i in result]

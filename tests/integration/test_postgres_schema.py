"""The migrations produce the seed's schema exactly (plus the additions the service needs),
run twice without effect, and adopt a database that already holds the seed's schema.sql."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import pytest

from brx_adapters.postgres import head_revision, upgrade, upgrade_async

pytestmark = pytest.mark.integration

SEED_TABLES = ["user_sync_settings", "user_inventory_items", "sync_operations"]
# What later revisions add to the seed's tables: "latest operation" and the outbox scan (0002),
# card names and the inventory filters (0003; the trigram index where pg_trgm can be had),
# the disconnected state and the operations listing (0004), each user's kept item count (0005),
# the page's order within a user (0006), the condition and language filters (0007), the
# price sort (0008).
SERVICE_INDEXES = {
    "idx_sync_ops_user_type_created",
    "idx_sync_ops_pending_created",
    "idx_inventory_user_name",
    "idx_inventory_user_out_of_stock",
    "idx_inventory_user_unlisted",
    "idx_sync_ops_user_created",
    "idx_inventory_user_id_order",
    "idx_inventory_user_condition",
    "idx_inventory_user_language",
    "idx_inventory_user_price",
}
TRIGRAM_INDEX = "idx_inventory_card_name_trgm"
SERVICE_COLUMNS = {
    ("user_inventory_items", "card_name"),
    ("user_inventory_items", "expansion_name"),
    ("user_sync_settings", "disconnected_at"),
}
COUNT_TRIGGERS = {
    ("brx_inventory_count_added", "INSERT", "STATEMENT"),
    ("brx_inventory_count_removed", "DELETE", "STATEMENT"),
    ("brx_inventory_count_moved", "UPDATE", "ROW"),
}

# The seed's schema.sql, verbatim (the original document's "Script SQL Completo").
SEED_SQL = """
CREATE EXTENSION IF NOT EXISTS "uuid-ossp";
CREATE TYPE sync_status_enum AS ENUM ('idle', 'initial_sync', 'active', 'error');
CREATE TABLE user_sync_settings (
    user_id UUID PRIMARY KEY,
    cardtrader_token_encrypted TEXT NOT NULL,
    webhook_secret VARCHAR(255),
    sync_status sync_status_enum NOT NULL DEFAULT 'idle',
    last_sync_at TIMESTAMP WITH TIME ZONE,
    last_error TEXT,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX idx_sync_settings_status ON user_sync_settings(sync_status);
CREATE TABLE user_inventory_items (
    id BIGSERIAL PRIMARY KEY,
    user_id UUID NOT NULL,
    blueprint_id INTEGER NOT NULL,
    quantity INTEGER NOT NULL DEFAULT 0,
    price_cents INTEGER NOT NULL,
    properties JSONB,
    external_stock_id VARCHAR(255),
    description TEXT,
    user_data_field TEXT,
    graded BOOLEAN,
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP,
    UNIQUE(user_id, blueprint_id, external_stock_id)
);
CREATE INDEX idx_inventory_user_id ON user_inventory_items(user_id);
CREATE INDEX idx_inventory_blueprint_id ON user_inventory_items(blueprint_id);
CREATE INDEX idx_inventory_external_stock_id ON user_inventory_items(external_stock_id);
CREATE INDEX idx_inventory_updated_at ON user_inventory_items(updated_at);
CREATE INDEX idx_inventory_user_blueprint_external
    ON user_inventory_items(user_id, blueprint_id, external_stock_id);
CREATE TABLE sync_operations (
    id BIGSERIAL PRIMARY KEY,
    user_id UUID NOT NULL,
    operation_id VARCHAR(255) NOT NULL UNIQUE,
    operation_type VARCHAR(50) NOT NULL,
    status VARCHAR(50) NOT NULL,
    operation_metadata JSONB,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP,
    completed_at TIMESTAMP WITH TIME ZONE
);
CREATE INDEX idx_sync_ops_user_id ON sync_operations(user_id);
CREATE INDEX idx_sync_ops_operation_id ON sync_operations(operation_id);
CREATE INDEX idx_sync_ops_status ON sync_operations(status);
"""


async def describe(url: str) -> dict[str, Any]:
    """Everything about the seed's tables that the seed defines, read from the catalogue."""
    conn = await asyncpg.connect(url)
    try:
        columns = await conn.fetch(
            "SELECT table_name, column_name, data_type, udt_name, character_maximum_length,"
            " is_nullable, column_default FROM information_schema.columns"
            " WHERE table_schema = 'public' AND table_name = ANY($1::text[])",
            SEED_TABLES,
        )
        indexes = await conn.fetch(
            "SELECT indexname, indexdef FROM pg_indexes"
            " WHERE schemaname = 'public' AND tablename = ANY($1::text[])",
            SEED_TABLES,
        )
        constraints = await conn.fetch(
            "SELECT conrelid::regclass::text AS tbl, contype::text,"
            " pg_get_constraintdef(oid) AS def"
            " FROM pg_constraint WHERE conrelid::regclass::text = ANY($1::text[])",
            SEED_TABLES,
        )
        labels = await conn.fetch(
            "SELECT e.enumlabel FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid"
            " WHERE t.typname = 'sync_status_enum' ORDER BY e.enumsortorder"
        )
        extensions = await conn.fetch("SELECT extname FROM pg_extension")
    finally:
        await conn.close()
    return {
        "columns": {tuple(r.values()) for r in columns},
        "indexes": {(r["indexname"], r["indexdef"]) for r in indexes},
        "constraints": {(r["tbl"], r["contype"], r["def"]) for r in constraints},
        "enum": [r["enumlabel"] for r in labels],
        "extensions": {r["extname"] for r in extensions},
    }


async def apply_seed(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(SEED_SQL)
    finally:
        await conn.close()


async def test_migrated_database_has_exactly_the_seeds_tables_columns_and_indexes(
    postgres_url: str, scratch_database: str
) -> None:
    await apply_seed(scratch_database)

    seed = await describe(scratch_database)
    migrated = await describe(postgres_url)

    assert seed["columns"] <= migrated["columns"]
    assert {c[:2] for c in migrated["columns"] - seed["columns"]} == SERVICE_COLUMNS
    assert seed["indexes"] <= migrated["indexes"]
    added = {name for name, _ in migrated["indexes"] - seed["indexes"]}
    trigram = {TRIGRAM_INDEX} if "pg_trgm" in migrated["extensions"] else set()
    assert added == SERVICE_INDEXES | trigram
    assert migrated["enum"] == ["idle", "initial_sync", "active", "error"] == seed["enum"]
    assert "uuid-ossp" in migrated["extensions"]
    assert seed["constraints"] <= migrated["constraints"]


async def test_migrations_add_non_negative_checks_on_quantity_and_price(
    postgres_url: str,
) -> None:
    migrated = await describe(postgres_url)

    checks = {c[2] for c in migrated["constraints"] if c[1] == "c"}
    assert checks == {"CHECK ((quantity >= 0))", "CHECK ((price_cents >= 0))"}


async def test_negative_quantity_is_refused_by_the_database(postgres_url: str) -> None:
    conn = await asyncpg.connect(postgres_url)
    try:
        with pytest.raises(asyncpg.CheckViolationError):
            await conn.execute(
                "INSERT INTO user_inventory_items (user_id, blueprint_id, quantity, price_cents)"
                " VALUES (uuid_generate_v4(), 1, -1, 10)"
            )
    finally:
        await conn.close()


async def test_migrating_twice_in_a_row_changes_nothing(scratch_database: str) -> None:
    first = await upgrade_async(scratch_database)
    before = await describe(scratch_database)

    second = await upgrade_async(scratch_database)

    assert first == second == head_revision()
    assert await describe(scratch_database) == before


async def test_migrating_a_database_that_already_has_the_seed_schema_adopts_it(
    postgres_url: str, scratch_database: str
) -> None:
    await apply_seed(scratch_database)

    revision = await upgrade_async(scratch_database)

    assert revision == head_revision()
    adopted = await describe(scratch_database)
    assert adopted == await describe(postgres_url)


def test_upgrade_is_callable_from_synchronous_code(scratch_database: str) -> None:
    messages: list[str] = []

    revision = upgrade(scratch_database, progress=messages.append)

    assert revision == head_revision()
    assert any("->" in m for m in messages)


async def test_two_concurrent_migrations_take_turns_and_both_succeed(
    scratch_database: str,
) -> None:
    results = await asyncio.gather(upgrade_async(scratch_database), upgrade_async(scratch_database))

    assert results == [head_revision(), head_revision()]


async def test_the_synchronous_upgrade_also_works_inside_a_running_event_loop(
    scratch_database: str,
) -> None:
    revision = upgrade(scratch_database)

    assert revision == head_revision()


async def test_the_items_table_keeps_each_users_count_by_trigger(postgres_url: str) -> None:
    conn = await asyncpg.connect(postgres_url)
    try:
        triggers = await conn.fetch(
            "SELECT trigger_name, event_manipulation, action_orientation"
            " FROM information_schema.triggers WHERE event_object_table = 'user_inventory_items'"
        )
        truncate = await conn.fetchval(
            "SELECT count(*) FROM pg_trigger WHERE tgname = 'brx_inventory_count_truncated'"
        )
    finally:
        await conn.close()

    assert {tuple(r.values()) for r in triggers} == COUNT_TRIGGERS
    assert truncate == 1


async def test_migrating_a_seed_database_counts_the_items_already_there(
    scratch_database: str,
) -> None:
    await apply_seed(scratch_database)
    users = [uuid.uuid4(), uuid.uuid4()]
    conn = await asyncpg.connect(scratch_database)
    try:
        for n, user in enumerate(users, start=1):
            await conn.execute(
                "INSERT INTO user_inventory_items (user_id, blueprint_id, quantity, price_cents)"
                " SELECT $1, b, 1, 10 FROM generate_series(1, $2::int) AS b",
                user,
                n * 5,
            )
        await upgrade_async(scratch_database)
        kept = await conn.fetch("SELECT user_id, items FROM user_inventory_counts")
        await conn.execute("TRUNCATE user_inventory_items")
        after_truncate = await conn.fetchval("SELECT count(*) FROM user_inventory_counts")
    finally:
        await conn.close()

    assert {r["user_id"]: r["items"] for r in kept} == {users[0]: 5, users[1]: 10}
    assert after_truncate == 0

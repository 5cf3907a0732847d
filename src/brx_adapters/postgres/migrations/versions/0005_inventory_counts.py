"""Each user's item count, kept by the database in the transactions that add and remove items.

- `user_inventory_counts`: one row per user who has items (`items` > 0): the unfiltered
  inventory page's `total` reads it instead of counting the user's rows, which at a million
  rows being loaded took 0.5-3 s (an index-only scan is no help until VACUUM has marked the new
  rows visible).
- Statement-level triggers on `user_inventory_items` with transition tables, so every writer
  (the importer's upsert, single inserts and deletes, the erasure, a hand-written statement)
  keeps it exact: one grouped upsert per INSERT statement and one grouped update per DELETE
  statement, a row that reaches zero is removed (an erased user leaves nothing behind), a
  changed `user_id` moves one unit, TRUNCATE empties the counts. Concurrent writers of one user
  queue on that user's count row until they commit, and each sees the latest count.
- The counts of existing items are filled in while the triggers are created: CREATE TRIGGER
  locks the items table against writes until this migration commits, so none is missed.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

UP = [
    """
    CREATE TABLE IF NOT EXISTS user_inventory_counts (
        user_id UUID PRIMARY KEY,
        items BIGINT NOT NULL
    )
    """,
    """
    CREATE OR REPLACE FUNCTION brx_inventory_count_added() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO user_inventory_counts AS c (user_id, items)
        SELECT user_id, count(*) FROM added GROUP BY user_id ORDER BY user_id
        ON CONFLICT (user_id) DO UPDATE SET items = c.items + EXCLUDED.items;
        RETURN NULL;
    END $$
    """,
    """
    CREATE OR REPLACE FUNCTION brx_inventory_count_removed() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        WITH gone AS (SELECT user_id, count(*) AS n FROM removed GROUP BY user_id)
        UPDATE user_inventory_counts AS c SET items = c.items - gone.n
        FROM gone WHERE c.user_id = gone.user_id;
        DELETE FROM user_inventory_counts
        WHERE items = 0 AND user_id IN (SELECT DISTINCT user_id FROM removed);
        RETURN NULL;
    END $$
    """,
    """
    CREATE OR REPLACE FUNCTION brx_inventory_count_moved() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO user_inventory_counts AS c (user_id, items) VALUES (NEW.user_id, 1)
        ON CONFLICT (user_id) DO UPDATE SET items = c.items + 1;
        UPDATE user_inventory_counts SET items = items - 1 WHERE user_id = OLD.user_id;
        DELETE FROM user_inventory_counts WHERE user_id = OLD.user_id AND items = 0;
        RETURN NULL;
    END $$
    """,
    """
    CREATE OR REPLACE FUNCTION brx_inventory_count_truncated() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        DELETE FROM user_inventory_counts;
        RETURN NULL;
    END $$
    """,
    "CREATE OR REPLACE TRIGGER brx_inventory_count_added AFTER INSERT ON user_inventory_items"
    " REFERENCING NEW TABLE AS added FOR EACH STATEMENT"
    " EXECUTE FUNCTION brx_inventory_count_added()",
    "CREATE OR REPLACE TRIGGER brx_inventory_count_removed AFTER DELETE ON user_inventory_items"
    " REFERENCING OLD TABLE AS removed FOR EACH STATEMENT"
    " EXECUTE FUNCTION brx_inventory_count_removed()",
    "CREATE OR REPLACE TRIGGER brx_inventory_count_moved"
    " AFTER UPDATE OF user_id ON user_inventory_items FOR EACH ROW"
    " WHEN (OLD.user_id IS DISTINCT FROM NEW.user_id)"
    " EXECUTE FUNCTION brx_inventory_count_moved()",
    "CREATE OR REPLACE TRIGGER brx_inventory_count_truncated"
    " AFTER TRUNCATE ON user_inventory_items FOR EACH STATEMENT"
    " EXECUTE FUNCTION brx_inventory_count_truncated()",
    """
    INSERT INTO user_inventory_counts (user_id, items)
    SELECT user_id, count(*) FROM user_inventory_items GROUP BY user_id
    ON CONFLICT (user_id) DO UPDATE SET items = EXCLUDED.items
    """,
]

TRIGGERS = ("added", "removed", "moved", "truncated")


def upgrade() -> None:
    for statement in UP:
        op.execute(statement)


def downgrade() -> None:
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS brx_inventory_count_{name} ON user_inventory_items")
        op.execute(f"DROP FUNCTION IF EXISTS brx_inventory_count_{name}()")
    op.execute("DROP TABLE IF EXISTS user_inventory_counts")

"""Card names on items, and the indexes that keep a filtered inventory page fast.

The name and expansion come from CardTrader's export (`name_en`, `expansion.name_en`), so a
shop can show and search its stock by card rather than by blueprint id. Indexes, each for a
filter or sort of `GET /inventory` on a 250k-item inventory:
- (user_id, lower(card_name) COLLATE "C", id): sort by name, and name-prefix search;
- a trigram GIN on lower(card_name) for substring search, when pg_trgm can be had (it is a
  trusted contrib extension; where it is missing or refused the search still works, by a scan
  of the user's rows);
- partial (user_id, id) indexes for "out of stock" and "not on CardTrader", both rare.

Revision ID: 0003
Revises: 0002
Create Date: 2025-01-02
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

UP = [
    "ALTER TABLE user_inventory_items ADD COLUMN IF NOT EXISTS card_name TEXT",
    "ALTER TABLE user_inventory_items ADD COLUMN IF NOT EXISTS expansion_name TEXT",
    "CREATE INDEX IF NOT EXISTS idx_inventory_user_name "
    'ON user_inventory_items(user_id, (lower(card_name)) COLLATE "C", id)',
    "CREATE INDEX IF NOT EXISTS idx_inventory_user_out_of_stock "
    "ON user_inventory_items(user_id, id) WHERE quantity = 0",
    "CREATE INDEX IF NOT EXISTS idx_inventory_user_unlisted "
    "ON user_inventory_items(user_id, id) WHERE external_stock_id IS NULL",
    """
    DO $$ BEGIN
        IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm') THEN
            BEGIN
                CREATE EXTENSION IF NOT EXISTS pg_trgm;
            EXCEPTION WHEN insufficient_privilege THEN
                RAISE NOTICE 'pg_trgm refused: card-name search will scan the user''s rows';
            END;
        END IF;
        IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
            CREATE INDEX IF NOT EXISTS idx_inventory_card_name_trgm
                ON user_inventory_items USING gin (lower(card_name) gin_trgm_ops);
        END IF;
    END $$
    """,
]


def upgrade() -> None:
    for statement in UP:
        op.execute(statement)


def downgrade() -> None:
    for index in (
        "idx_inventory_card_name_trgm",
        "idx_inventory_user_unlisted",
        "idx_inventory_user_out_of_stock",
        "idx_inventory_user_name",
    ):
        op.execute(f"DROP INDEX IF EXISTS {index}")
    op.execute("ALTER TABLE user_inventory_items DROP COLUMN IF EXISTS expansion_name")
    op.execute("ALTER TABLE user_inventory_items DROP COLUMN IF EXISTS card_name")

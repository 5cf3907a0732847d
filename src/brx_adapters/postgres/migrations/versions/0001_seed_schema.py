"""The seed's schema exactly, plus non-negative CHECKs on quantity and price.

Every statement is IF NOT EXISTS (or guarded), so a database that already holds the seed's
`schema.sql` is adopted rather than broken.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

UP = [
    'CREATE EXTENSION IF NOT EXISTS "uuid-ossp"',
    """
    DO $$ BEGIN
        CREATE TYPE sync_status_enum AS ENUM ('idle', 'initial_sync', 'active', 'error');
    EXCEPTION WHEN duplicate_object THEN NULL;
    END $$
    """,
    """
    CREATE TABLE IF NOT EXISTS user_sync_settings (
        user_id UUID PRIMARY KEY,
        cardtrader_token_encrypted TEXT NOT NULL,
        webhook_secret VARCHAR(255),
        sync_status sync_status_enum NOT NULL DEFAULT 'idle',
        last_sync_at TIMESTAMP WITH TIME ZONE,
        last_error TEXT,
        created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP,
        updated_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP
    )
    """,
    "CREATE INDEX IF NOT EXISTS idx_sync_settings_status ON user_sync_settings(sync_status)",
    """
    CREATE TABLE IF NOT EXISTS user_inventory_items (
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
    )
    """,
    "CREATE INDEX IF NOT EXISTS idx_inventory_user_id ON user_inventory_items(user_id)",
    "CREATE INDEX IF NOT EXISTS idx_inventory_blueprint_id ON user_inventory_items(blueprint_id)",
    "CREATE INDEX IF NOT EXISTS idx_inventory_external_stock_id "
    "ON user_inventory_items(external_stock_id)",
    "CREATE INDEX IF NOT EXISTS idx_inventory_updated_at ON user_inventory_items(updated_at)",
    "CREATE INDEX IF NOT EXISTS idx_inventory_user_blueprint_external "
    "ON user_inventory_items(user_id, blueprint_id, external_stock_id)",
    """
    CREATE TABLE IF NOT EXISTS sync_operations (
        id BIGSERIAL PRIMARY KEY,
        user_id UUID NOT NULL,
        operation_id VARCHAR(255) NOT NULL UNIQUE,
        operation_type VARCHAR(50) NOT NULL,
        status VARCHAR(50) NOT NULL,
        operation_metadata JSONB,
        created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP,
        completed_at TIMESTAMP WITH TIME ZONE
    )
    """,
    "CREATE INDEX IF NOT EXISTS idx_sync_ops_user_id ON sync_operations(user_id)",
    "CREATE INDEX IF NOT EXISTS idx_sync_ops_operation_id ON sync_operations(operation_id)",
    "CREATE INDEX IF NOT EXISTS idx_sync_ops_status ON sync_operations(status)",
]

CHECKS = {
    "ck_inventory_quantity_non_negative": "quantity >= 0",
    "ck_inventory_price_cents_non_negative": "price_cents >= 0",
}


def _add_check(name: str, condition: str) -> str:
    """ADD CONSTRAINT has no IF NOT EXISTS; look the name up first."""
    return f"""
    DO $$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = '{name}'
                       AND conrelid = 'user_inventory_items'::regclass) THEN
            ALTER TABLE user_inventory_items ADD CONSTRAINT {name} CHECK ({condition});
        END IF;
    END $$
    """  # noqa: S608 (names and conditions are the constants above)


def upgrade() -> None:
    for statement in UP:
        op.execute(statement)
    for name, condition in CHECKS.items():
        op.execute(_add_check(name, condition))


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS sync_operations")
    op.execute("DROP TABLE IF EXISTS user_inventory_items")
    op.execute("DROP TABLE IF EXISTS user_sync_settings")
    op.execute("DROP TYPE IF EXISTS sync_status_enum")

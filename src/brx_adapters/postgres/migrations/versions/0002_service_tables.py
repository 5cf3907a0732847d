"""What the service needs beyond the seed: the stock ledger, webhook delivery dedup, the stock
each CardTrader order took, and an index for "latest operation of a kind" and the outbox scan.

(The outbox is `sync_operations` itself: every pending row records its job.)

Revision ID: 0002
Revises: 0001
Create Date: 2025-01-01
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

UP = [
    # No foreign key to the item: the ledger outlives deleted items (their history stays).
    """
    CREATE TABLE IF NOT EXISTS stock_ledger (
        id BIGSERIAL PRIMARY KEY,
        user_id UUID NOT NULL,
        item_id BIGINT NOT NULL,
        delta INTEGER NOT NULL,
        reason VARCHAR(32) NOT NULL,
        operation_id VARCHAR(255) NOT NULL,
        quantity_after INTEGER,
        created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP
    )
    """,
    "CREATE INDEX IF NOT EXISTS idx_stock_ledger_user_item "
    "ON stock_ledger(user_id, item_id, id DESC)",
    """
    CREATE TABLE IF NOT EXISTS webhook_deliveries (
        user_id UUID NOT NULL,
        delivery_id VARCHAR(255) NOT NULL,
        received_at TIMESTAMP WITH TIME ZONE NOT NULL,
        mode VARCHAR(16) NOT NULL,
        body JSONB NOT NULL,
        PRIMARY KEY (user_id, delivery_id)
    )
    """,
    "CREATE INDEX IF NOT EXISTS idx_webhook_deliveries_received_at "
    "ON webhook_deliveries(received_at)",
    """
    CREATE TABLE IF NOT EXISTS order_stock (
        user_id UUID NOT NULL,
        order_id BIGINT NOT NULL,
        state VARCHAR(16) NOT NULL DEFAULT 'none',
        taken JSONB NOT NULL DEFAULT '{}'::jsonb,
        updated_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
        PRIMARY KEY (user_id, order_id)
    )
    """,
    "CREATE INDEX IF NOT EXISTS idx_sync_ops_user_type_created "
    "ON sync_operations(user_id, operation_type, created_at DESC, id DESC)",
    "CREATE INDEX IF NOT EXISTS idx_sync_ops_pending_created "
    "ON sync_operations(created_at) WHERE status = 'pending'",
]


def upgrade() -> None:
    for statement in UP:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS idx_sync_ops_pending_created")
    op.execute("DROP INDEX IF EXISTS idx_sync_ops_user_type_created")
    op.execute("DROP TABLE IF EXISTS order_stock")
    op.execute("DROP TABLE IF EXISTS webhook_deliveries")
    op.execute("DROP TABLE IF EXISTS stock_ledger")

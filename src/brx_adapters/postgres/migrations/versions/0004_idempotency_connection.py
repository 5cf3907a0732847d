"""Idempotency keys for the shop's writes, the disconnected state of a user, and an index for
listing a user's operations newest first.

- `idempotency_keys`: one row per (user, key): the request's fingerprint and, once answered,
  the first answer (status and body) that replays return; `expires_at` drives the purge.
- `user_sync_settings.disconnected_at`: NULL while connected (every existing row stays
  connected); a disconnect sets it, a connect clears it. The seed's columns are unchanged.
- `idx_sync_ops_user_created`: `/operations` pages by (user, created_at DESC, id DESC) with or
  without a type or status filter.

Revision ID: 0004
Revises: 0003
Create Date: 2025-01-03
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

UP = [
    """
    CREATE TABLE IF NOT EXISTS idempotency_keys (
        user_id UUID NOT NULL,
        idempotency_key VARCHAR(255) NOT NULL,
        fingerprint VARCHAR(64) NOT NULL,
        status_code INTEGER,
        response JSONB,
        created_at TIMESTAMP WITH TIME ZONE NOT NULL,
        expires_at TIMESTAMP WITH TIME ZONE NOT NULL,
        PRIMARY KEY (user_id, idempotency_key)
    )
    """,
    "CREATE INDEX IF NOT EXISTS idx_idempotency_keys_expires_at ON idempotency_keys(expires_at)",
    "ALTER TABLE user_sync_settings ADD COLUMN IF NOT EXISTS disconnected_at "
    "TIMESTAMP WITH TIME ZONE",
    "CREATE INDEX IF NOT EXISTS idx_sync_ops_user_created "
    "ON sync_operations(user_id, created_at DESC, id DESC)",
]


def upgrade() -> None:
    for statement in UP:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS idx_sync_ops_user_created")
    op.execute("ALTER TABLE user_sync_settings DROP COLUMN IF EXISTS disconnected_at")
    op.execute("DROP TABLE IF EXISTS idempotency_keys")

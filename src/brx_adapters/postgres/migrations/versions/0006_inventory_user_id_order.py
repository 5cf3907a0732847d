"""The inventory page's order within a user: `idx_inventory_user_id_order` on (user_id, id).

The unfiltered page is `WHERE user_id = $1 ORDER BY id LIMIT n OFFSET m`. With the seed's
`idx_inventory_user_id` alone the planner either walks the primary key filtering by user (fast
only while the user owns most rows) or fetches all the user's rows and sorts them, which it
picks whenever its statistics lag behind a load: during a first load of 200k products that
page took 50-180 ms and grew with every chunk. On (user_id, id) the page is an index range of
its own rows whatever the statistics say.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "CREATE INDEX IF NOT EXISTS idx_inventory_user_id_order "
        "ON user_inventory_items(user_id, id)"
    )


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS idx_inventory_user_id_order")

"""Alembic runs here on the connection `brx_adapters.postgres.migrate` hands over (online only:
migrations are applied by `brx-sync migrate`, never rendered as offline SQL)."""

from __future__ import annotations

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through brx_adapters.postgres.upgrade(url)")

context.configure(connection=connection, target_metadata=None, transaction_per_migration=True)
with context.begin_transaction():
    context.run_migrations()

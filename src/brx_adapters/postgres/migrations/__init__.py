"""Alembic environment and versions, shipped as package data so `brx-sync migrate` works from
an installed package (no alembic.ini needed: `brx_adapters.postgres.migrate` builds the config)."""

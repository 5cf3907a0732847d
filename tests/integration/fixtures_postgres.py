"""Fixtures for postgres (filled in by the postgres adapter work)."""

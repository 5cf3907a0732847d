"""Fixtures for mysql (filled in by the mysql adapter work)."""

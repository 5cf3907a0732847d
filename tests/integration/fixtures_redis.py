"""Fixtures for redis (filled in by the redis adapter work)."""

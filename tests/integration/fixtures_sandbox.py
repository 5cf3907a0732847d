"""Fixtures for sandbox (filled in by the sandbox adapter work)."""

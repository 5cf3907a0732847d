"""Integration fixtures live in `fixtures_*.py` beside this file, one module per outside system;
they are registered as plugins in the top-level `tests/conftest.py` (pytest requires that).
Every fixture creates its own database / key prefix and removes only what it created."""

"""The language filter's SQL is the expression migration 0007 indexes: a filter written any
other way is answered all the same, but by reading every row of the user (docs/decisions.md)."""

from __future__ import annotations

import importlib

from brx_adapters.postgres import listing

MIGRATION = "brx_adapters.postgres.migrations.versions.0007_inventory_filter_indexes"


def test_the_language_filter_is_the_indexed_expression() -> None:
    indexed = importlib.import_module(MIGRATION).LANGUAGE

    assert listing._LANGUAGE.format(n=4) == f"({indexed}) = $4"

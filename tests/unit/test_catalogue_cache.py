"""The catalogue's answer cache and its SQL, without a database."""

from __future__ import annotations

import pytest

from brx_adapters.mysql import AnswerCache, MySqlCatalogue
from brx_adapters.mysql.catalogue import checked_tables, lookup_sql


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_cache_answers_known_and_unknown_ids_until_they_expire() -> None:
    clock = Ticks()
    cache = AnswerCache(60, clock=clock)
    cache.store({1, 2, 3}, {1, 3})

    assert cache.split({1, 2, 3, 4}) == ({1, 3}, {4})
    clock.now = 61
    assert cache.split({1, 2, 3}) == (set(), {1, 2, 3})


def test_cache_drops_the_oldest_answers_beyond_its_bound() -> None:
    cache = AnswerCache(60, max_entries=3, clock=Ticks())
    cache.store([1, 2], {1})
    cache.store([3, 4], {4})

    assert len(cache) == 3
    assert cache.split({1, 2, 3, 4}) == ({4}, {1})


def test_a_zero_ttl_cache_remembers_nothing() -> None:
    cache = AnswerCache(0, clock=Ticks())
    cache.store({1}, {1})

    assert cache.split({1}) == (set(), {1})


def test_lookup_is_one_statement_over_every_table() -> None:
    sql = lookup_sql(("cards_prints", "pk_prints"), [16, 17])

    assert sql.count("SELECT") == 2
    assert sql.count(" UNION ") == 1
    assert sql.count("IN (16, 17)") == 2


def test_only_integers_reach_the_lookup_text() -> None:
    with pytest.raises(ValueError):
        lookup_sql(("cards_prints",), ["1) OR (1=1"])  # type: ignore[list-item]


@pytest.mark.parametrize("name", ["cards`; DROP TABLE x", "", "1abc", "a b"])
def test_table_names_that_are_not_identifiers_are_refused(name: str) -> None:
    with pytest.raises(ValueError):
        checked_tables([name])


def test_building_the_adapter_opens_no_connection() -> None:
    catalogue = MySqlCatalogue.from_config(host="203.0.113.1", tables=["cards_prints"])

    assert catalogue.queries == 0
    assert catalogue.tables == ("cards_prints",)

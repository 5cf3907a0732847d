"""The MySQL catalogue adapter against a real MariaDB fixture catalogue: the port's contract
(tests/contracts/catalogue.py, the same suite the in-memory fake passes) and more."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Collection
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import pytest

from brx_adapters.mysql import MySqlCatalogue
from brx_domain.errors import DependencyUnavailable
from brx_domain.ports import BlueprintCatalogue
from tests.contracts.catalogue import *  # noqa: F403
from tests.integration.fixtures_mysql import CatalogueDatabase

pytestmark = pytest.mark.integration

Factory = Callable[..., CatalogueDatabase]


@pytest.fixture
def catalogue_knowing(
    catalogue_factory: Factory,
) -> Callable[[Collection[int]], AbstractAsyncContextManager[BlueprintCatalogue]]:
    @asynccontextmanager
    async def knowing(ids: Collection[int]) -> AsyncIterator[BlueprintCatalogue]:
        catalogue = catalogue_factory({"cards_prints": ids}).catalogue()
        try:
            yield catalogue
        finally:
            await catalogue.close()

    return knowing


async def test_known_blueprints_come_from_every_default_table_but_not_op_prints(
    catalogue_factory: Factory,
) -> None:
    database = catalogue_factory(
        {"cards_prints": [1, 2], "pk_prints": [3], "sealed_products": [4], "op_prints": [5]}
    )
    catalogue = database.catalogue()
    try:
        known = await catalogue.known({1, 2, 3, 4, 5, 6})
    finally:
        await catalogue.close()

    assert known == {1, 2, 3, 4}


async def test_one_query_per_batch_and_cached_answers_both_ways(
    catalogue_factory: Factory,
) -> None:
    database = catalogue_factory({"cards_prints": range(1, 3001)})
    catalogue = database.catalogue()
    try:
        first = await catalogue.known(set(range(1, 5001)))
        database.add("pk_prints", [4000])  # a negative answer stays cached until it expires
        second = await catalogue.known(set(range(1, 5001)))
    finally:
        await catalogue.close()

    assert first == set(range(1, 3001))
    assert second == first
    assert catalogue.queries == 1


async def test_without_cache_a_new_catalogue_row_is_seen_at_once(
    catalogue_factory: Factory,
) -> None:
    database = catalogue_factory({"cards_prints": [1]})
    catalogue = database.catalogue(cache_seconds=0)
    try:
        before = await catalogue.known({1, 2})
        database.add("sealed_products", [2])
        after = await catalogue.known({1, 2})
    finally:
        await catalogue.close()

    assert (before, after) == ({1}, {1, 2})


async def test_configured_tables_replace_the_defaults(catalogue_factory: Factory) -> None:
    database = catalogue_factory({"cards_prints": [1], "op_prints": [2]})
    catalogue = database.catalogue(tables=["op_prints"])
    try:
        known = await catalogue.known({1, 2})
    finally:
        await catalogue.close()

    assert known == {2}


async def test_the_catalogue_session_is_read_only(catalogue_factory: Factory) -> None:
    database = catalogue_factory({"cards_prints": [1]})
    catalogue = database.catalogue()
    try:
        pool = await catalogue._pool_or_create()
        async with pool.acquire() as conn, conn.cursor() as cursor:
            with pytest.raises(Exception, match="READ ONLY"):
                await cursor.execute("INSERT INTO cards_prints (cardtrader_id) VALUES (9)")
    finally:
        await catalogue.close()


async def test_an_unreachable_catalogue_is_a_dependency_failure_naming_no_host() -> None:
    catalogue = MySqlCatalogue.from_config(host="127.0.0.1", port=1, tables=["cards_prints"])

    with pytest.raises(DependencyUnavailable) as caught:
        await catalogue.ping()
    await catalogue.close()

    assert "127.0.0.1" not in str(caught.value)


async def test_ping_answers_when_the_catalogue_is_up(catalogue_factory: Factory) -> None:
    catalogue = catalogue_factory({}).catalogue()
    try:
        await catalogue.ping()
    finally:
        await catalogue.close()

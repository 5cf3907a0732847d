"""Contract of the `BlueprintCatalogue` port, run on the in-memory fake (tests/unit) and on the
MySQL adapter against a real MariaDB catalogue (tests/integration).

A module using it provides `catalogue_knowing`: an async context manager factory, given the
blueprint ids the shop knows, that yields a catalogue over them and closes it afterwards."""

from __future__ import annotations

from collections.abc import Callable, Collection
from contextlib import AbstractAsyncContextManager

from brx_domain.ports import BlueprintCatalogue

CatalogueKnowing = Callable[[Collection[int]], AbstractAsyncContextManager[BlueprintCatalogue]]


async def test_known_is_exactly_the_asked_ids_the_catalogue_has(
    catalogue_knowing: CatalogueKnowing,
) -> None:
    async with catalogue_knowing({1, 2, 3, 10}) as catalogue:
        assert await catalogue.known({2, 3, 4, 5}) == {2, 3}
        assert await catalogue.known({99}) == set()
        assert await catalogue.known(set()) == set()


async def test_a_repeated_question_gets_the_same_answer(
    catalogue_knowing: CatalogueKnowing,
) -> None:
    async with catalogue_knowing(range(1, 101)) as catalogue:
        first = await catalogue.known(range(50, 151))
        again = await catalogue.known(range(50, 151))

    assert first == again == set(range(50, 101))


async def test_a_large_batch_is_answered_whole(catalogue_knowing: CatalogueKnowing) -> None:
    async with catalogue_knowing(range(0, 20_000, 2)) as catalogue:
        known = await catalogue.known(range(20_000))

    assert known == set(range(0, 20_000, 2))

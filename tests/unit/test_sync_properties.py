"""Reconciliation, bulk sync, property normalisation and progress, for all inputs."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from brx_domain.inventory import (
    CONDITION_SPELLINGS,
    CONDITIONS,
    LANGUAGE_SPELLINGS,
    LANGUAGES,
    InventoryItem,
)
from brx_domain.sync import RemoteProduct, SyncProgress, UpsertCounts, plan_reconciliation
from brx_domain.testing import remote_catalogues
from brx_domain.usecases.sync import request_reconciliation, start_bulk_sync
from tests.unit.world import World

USER = World().user_id


def _as_items(products: list[RemoteProduct]) -> list[InventoryItem]:
    return [
        InventoryItem(
            n + 1,
            USER,
            p.blueprint_id,
            p.quantity,
            p.price_cents,
            p.properties,
            p.external_stock_id,
            p.description,
            p.user_data_field,
            p.graded,
        )
        for n, p in enumerate(products)
    ]


def _apply(local: list[InventoryItem], remote: list[RemoteProduct]) -> list[InventoryItem]:
    """Carry out the plan on plain lists, the way the repositories do."""
    plan = plan_reconciliation(remote, local)
    gone = {id(item) for item in plan.deletes}
    changed = {id(item): product for item, product in plan.updates}
    kept = [
        _as_items([changed[id(item)]])[0] if id(item) in changed else item
        for item in local
        if id(item) not in gone
    ]
    return kept + _as_items(list(plan.creates))


def _keyed(items: list[InventoryItem] | list[RemoteProduct]) -> dict[str, tuple[object, ...]]:
    return {
        str(x.external_stock_id): (x.blueprint_id, x.quantity, x.price_cents, x.properties)
        for x in items
    }


@given(local=remote_catalogues(), remote=remote_catalogues())
def test_applying_a_plan_makes_local_equal_remote_and_the_next_plan_empty(
    local: list[RemoteProduct], remote: list[RemoteProduct]
) -> None:
    after = _apply(_as_items(local), remote)

    assert _keyed(after) == _keyed(remote)
    assert plan_reconciliation(remote, after).is_empty


def _last(world: World) -> dict[str, int]:
    operation = max(world.store.operations.values(), key=lambda op: op.operation_id[3:].zfill(9))
    return dict(operation.metadata["result"]["progress"])


@given(before=remote_catalogues(), remote=remote_catalogues())
async def test_reconciliation_converges_and_a_second_run_changes_nothing(
    before: list[RemoteProduct], remote: list[RemoteProduct]
) -> None:
    world = World()
    await world.register()
    await world.seed(*before)
    world.account.products = {p.id: p for p in remote}

    await request_reconciliation(world.ports, world.user_id, force=True)
    await world.run_jobs()
    await request_reconciliation(world.ports, world.user_id, force=True)
    await world.run_jobs()

    assert _keyed(world.items()) == _keyed(remote)
    second = _last(world)
    assert (second["created"], second["updated"], second["deleted"]) == (0, 0, 0)
    assert second["unchanged"] == len(remote)


@given(remote=remote_catalogues(), known=st.sets(st.integers(1, 8)))
async def test_bulk_sync_imports_known_blueprints_then_a_second_run_changes_nothing(
    remote: list[RemoteProduct], known: set[int]
) -> None:
    world = World()
    world.catalogue.known_ids = known
    await world.register()
    world.account.products = {p.id: p for p in remote}

    await start_bulk_sync(world.ports, world.user_id)
    await world.run_jobs()
    first = _last(world)
    await start_bulk_sync(world.ports, world.user_id)
    await world.run_jobs()
    second = _last(world)

    kept = [p for p in remote if p.blueprint_id in known]
    assert _keyed(world.items()) == _keyed(kept)
    assert (first["total_products"], first["skipped"]) == (len(remote), len(remote) - len(kept))
    assert (first["created"], second["created"], second["updated"]) == (len(kept), 0, 0)


@given(st.sampled_from(sorted(CONDITION_SPELLINGS)), st.sampled_from(sorted(LANGUAGE_SPELLINGS)))
def test_every_spelling_leads_to_a_canonical_value_that_is_its_own_spelling(
    condition: str, language: str
) -> None:
    canonical = CONDITION_SPELLINGS[condition], LANGUAGE_SPELLINGS[language]
    assert canonical[0] in CONDITIONS and canonical[1] in LANGUAGES
    assert (CONDITION_SPELLINGS[canonical[0]], LANGUAGE_SPELLINGS[canonical[1]]) == canonical


@given(st.lists(st.builds(SyncProgress, *[st.integers(0, 10_000)] * 11), max_size=10))
def test_merged_progress_never_goes_backwards(updates: list[SyncProgress]) -> None:
    seen = SyncProgress()
    for update in updates:
        merged = seen.merged(update)
        for name in ("processed", "created", "updated", "skipped", "progress_percent"):
            assert getattr(merged, name) >= getattr(seen, name)
        assert merged.total_products >= merged.processed
        seen = merged


@given(
    st.lists(st.tuples(st.integers(0, 50), st.integers(0, 50), st.integers(0, 50))),
    st.one_of(st.none(), st.integers(0, 2000)),
)
def test_progress_percent_climbs_and_stays_below_100_until_finished(
    chunks: list[tuple[int, int, int]], expected_total: int | None
) -> None:
    progress = SyncProgress()
    for created, updated, skipped in chunks:
        after = progress.plus(
            UpsertCounts(created, updated),
            skipped=skipped,
            expected_total=expected_total,
            chunk_size=100,
        )
        assert progress.progress_percent <= after.progress_percent <= 99
        assert after.processed >= progress.processed
        progress = after

    done = progress.finished(deleted=0, chunk_size=100)
    assert done.progress_percent == 100
    assert done.total_products == progress.processed


def test_the_plan_never_deletes_the_shops_own_unlisted_items() -> None:
    own = replace(_as_items([RemoteProduct(1, 1, 1, 1)])[0], external_stock_id=None)

    plan = plan_reconciliation([], [own])

    assert plan.is_empty

"""Bulk sync jobs as the worker runs them: one sync per user at a time, safe re-runs."""

from __future__ import annotations

from collections.abc import Collection

import pytest

from brx_app.jobs import run_job
from brx_domain.jobs import JobName
from brx_domain.sync import OperationStatus, SyncStatus
from brx_domain.usecases.sync import start_bulk_sync
from tests.unit.world import World


@pytest.fixture
async def world() -> World:
    world = World()
    await world.register()
    for number in range(30):
        world.account.add_product(16 + number % 4, 1 + number, 100 + number)
    return world


async def test_a_forced_restart_supersedes_the_queued_sync_without_touching_the_user(
    world: World,
) -> None:
    older = await start_bulk_sync(world.ports, world.user_id)
    newer = await start_bulk_sync(world.ports, world.user_id, force=True)

    await run_job(world.ports, JobName.BULK_SYNC, older.operation_id)
    status_between = world.store.settings[world.user_id].sync_status
    await run_job(world.ports, JobName.BULK_SYNC, newer.operation_id)

    assert world.operation(older.operation_id).status is OperationStatus.FAILED
    assert "replaced" in str(world.operation(older.operation_id).metadata["error"])
    assert status_between is SyncStatus.INITIAL_SYNC
    assert world.operation(newer.operation_id).status is OperationStatus.COMPLETED
    assert world.store.settings[world.user_id].sync_status is SyncStatus.ACTIVE
    assert len(world.items()) == 30


async def test_running_a_finished_sync_again_changes_nothing(world: World) -> None:
    operation = await start_bulk_sync(world.ports, world.user_id)
    await run_job(world.ports, JobName.BULK_SYNC, operation.operation_id)
    before = (world.quantities(), dict(world.operation(operation.operation_id).metadata))

    await run_job(world.ports, JobName.BULK_SYNC, operation.operation_id)

    after = (world.quantities(), dict(world.operation(operation.operation_id).metadata))
    assert after == before


async def test_products_skipped_by_the_catalogue_keep_their_local_copies(world: World) -> None:
    operation = await start_bulk_sync(world.ports, world.user_id)
    await run_job(world.ports, JobName.BULK_SYNC, operation.operation_id)
    world.catalogue.known_ids = {16, 17, 18}  # blueprint 19 left the catalogue

    again = await start_bulk_sync(world.ports, world.user_id)
    await run_job(world.ports, JobName.BULK_SYNC, again.operation_id)

    progress = world.operation(again.operation_id).progress
    assert progress.skipped == 7
    assert progress.deleted == 0
    assert len(world.items()) == 30


async def test_progress_is_written_after_every_chunk_and_never_goes_back(world: World) -> None:
    operation = await start_bulk_sync(world.ports, world.user_id)
    snapshots: list[int] = []
    ask = world.catalogue.known

    async def known_and_watch(blueprint_ids: Collection[int]) -> set[int]:
        snapshots.append(world.operation(operation.operation_id).progress.processed)
        return await ask(blueprint_ids)

    world.catalogue.known = known_and_watch  # type: ignore[method-assign]
    await run_job(world.ports, JobName.BULK_SYNC, operation.operation_id)

    final = world.operation(operation.operation_id).progress
    # 30 products in chunks of 7, one lookup each; a chunk is looked up while the two before
    # it are still being written (importer.WRITERS), so a lookup sees the progress of the
    # chunks before those
    assert len(snapshots) == 5 and snapshots == sorted(snapshots)
    assert all(snap >= 7 * (k - 2) for k, snap in enumerate(snapshots))
    assert snapshots[-1] == 28  # the short last chunk: after every full chunk was written
    assert (final.processed, final.progress_percent, final.processed_chunks) == (30, 100, 5)

"""Bulk sync and reconciliation through the use cases: status machine, progress, guard."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from typing import Any

import pytest

from brx_adapters.memory.inventory import MemoryInventoryRepository
from brx_adapters.memory.marketplace import EXPORT_BYTES_PER_PRODUCT
from brx_adapters.memory.records import MemoryOperationRepository, MemorySettingsRepository
from brx_app.http.present import task_state
from brx_domain.errors import (
    DependencyUnavailable,
    MarketplaceUnauthorized,
    NotFound,
    SyncInProgress,
)
from brx_domain.sync import (
    OperationStatus,
    RemoteProduct,
    SyncOperation,
    SyncProgress,
    SyncStatus,
)
from brx_domain.usecases.importer import Importer, ImportOptions
from brx_domain.usecases.sync import (
    fail_bulk_sync,
    get_status,
    get_task,
    latest_bulk_sync,
    request_reconciliation,
    run_bulk_sync,
    start_bulk_sync,
)
from tests.unit.world import World


@pytest.fixture
async def world() -> World:
    world = World()
    await world.register()
    for n in range(1, 21):
        world.account.add_product(n % 3 + 1, n, 10 * n)
    return world


async def test_a_bulk_sync_imports_everything_and_leaves_the_user_active(world: World) -> None:
    operation = await start_bulk_sync(world.ports, world.user_id)
    assert (await get_status(world.ports, world.user_id)).sync_status is SyncStatus.INITIAL_SYNC

    await world.run_jobs()

    status = await get_status(world.ports, world.user_id)
    progress = (await latest_bulk_sync(world.ports, world.user_id)).progress
    assert (status.sync_status, status.last_error) == (SyncStatus.ACTIVE, None)
    assert status.last_sync_at == world.clock.now()
    assert (progress.total_products, progress.created, progress.progress_percent) == (20, 20, 100)
    assert progress.processed_chunks == progress.total_chunks == 3  # chunks of 7
    assert task_state(world.operation(operation.operation_id))[0] == "SUCCESS"


async def test_a_second_start_while_one_is_queued_is_a_conflict(world: World) -> None:
    await start_bulk_sync(world.ports, world.user_id)

    with pytest.raises(SyncInProgress):
        await start_bulk_sync(world.ports, world.user_id)
    forced = await start_bulk_sync(world.ports, world.user_id, force=True)

    assert forced.operation_id != ""
    assert len(world.queue.enqueued) == 2


async def test_starting_for_a_user_without_settings_is_not_found(world: World) -> None:
    stranger = World(store=world.store)

    with pytest.raises(NotFound):
        await start_bulk_sync(stranger.ports, stranger.user_id)


async def test_unknown_blueprints_are_skipped_and_counted_with_examples(world: World) -> None:
    world.catalogue.known_ids = {1, 2}

    await start_bulk_sync(world.ports, world.user_id)
    await world.run_jobs()

    operation = await latest_bulk_sync(world.ports, world.user_id)
    skipped = [p.id for p in world.account.products.values() if p.blueprint_id == 3]
    assert operation.progress.skipped == len(skipped)
    assert operation.metadata["result"]["skipped_examples"] == skipped[:10]
    assert len(world.items()) == 20 - len(skipped)


async def test_a_refused_token_fails_the_sync_with_a_readable_error(world: World) -> None:
    world.gateway.accounts.clear()

    await start_bulk_sync(world.ports, world.user_id)
    await world.run_jobs()

    status = await get_status(world.ports, world.user_id)
    assert status.sync_status is SyncStatus.ERROR
    assert status.last_error is not None and "marketplace_unauthorized" in status.last_error


async def test_a_sync_the_worker_gave_up_on_ends_failed_and_visible(world: World) -> None:
    operation = await start_bulk_sync(world.ports, world.user_id)

    await fail_bulk_sync(world.ports, operation.operation_id, MarketplaceUnauthorized("x"))

    assert world.operation(operation.operation_id).status is OperationStatus.FAILED
    assert (await get_status(world.ports, world.user_id)).sync_status is SyncStatus.ERROR


async def test_the_deletion_guard_stops_a_reconciliation_that_would_empty_the_shop(
    world: World,
) -> None:
    await world.seed(*world.account.products.values())
    world.account.products.clear()  # CardTrader answers an empty export

    operation = await request_reconciliation(world.ports, world.user_id)
    await world.run_jobs()

    assert world.operation(operation.operation_id).status is OperationStatus.FAILED
    assert "deletion_guard" in world.operation(operation.operation_id).metadata["error"]
    assert len(world.items()) == 20


async def test_a_dry_run_reconciliation_counts_but_changes_nothing(world: World) -> None:
    operation = await request_reconciliation(world.ports, world.user_id, dry_run=True)
    await world.run_jobs()

    assert world.result(operation.operation_id)["progress"]["created"] == 20
    assert world.items() == []


async def test_a_one_blueprint_reconciliation_touches_only_that_blueprint(world: World) -> None:
    await world.seed(RemoteProduct(999, 2, 1, 1))  # gone from CardTrader, blueprint 2

    await request_reconciliation(world.ports, world.user_id, blueprint_id=1)
    await world.run_jobs()

    assert {i.blueprint_id for i in world.items()} == {1, 2}
    assert "999" in world.quantities()


async def test_a_task_of_another_user_is_not_found(world: World) -> None:
    operation = await start_bulk_sync(world.ports, world.user_id)
    stranger = World(store=world.store)

    with pytest.raises(NotFound):
        await get_task(stranger.ports, stranger.user_id, operation.operation_id)
    assert (await get_task(world.ports, world.user_id, operation.operation_id)) is not None


async def test_no_phase_goes_more_than_a_chunk_of_work_without_moving_the_saved_progress(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Import, the search for vanished items and their removal each save progress after at
    most a chunk (7 here) of products or items: a million-item sync never goes quiet."""
    vanished = [RemoteProduct(100 + n, n % 3 + 1, 1, 1) for n in range(10)]
    await world.seed(*world.account.products.values(), *vanished)
    saved: list[SyncProgress] = []
    save = MemoryOperationRepository.save

    async def recording(self: MemoryOperationRepository, operation: SyncOperation) -> None:
        if operation.status is OperationStatus.PENDING:  # the sync's own saves, not its end
            saved.append(operation.progress)
        await save(self, operation)

    monkeypatch.setattr(MemoryOperationRepository, "save", recording)

    await start_bulk_sync(world.ports, world.user_id)
    await world.run_jobs()

    def work(p: SyncProgress) -> int:
        return p.processed + p.checked + p.deleted

    steps = [(work(b) - work(a), a != b) for a, b in itertools.pairwise(saved)]
    assert all(done <= 7 and moved for done, moved in steps), str(steps)
    final = saved[-1]
    assert (final.processed, final.checked, final.deleted, len(world.items())) == (20, 30, 10, 20)
    assert sum(1 for a, b in itertools.pairwise(saved) if b.checked > a.checked) == 5  # 30 / 7


async def test_the_download_moves_progress_before_the_first_chunk_and_stays_counted(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    saved: list[SyncProgress] = []
    save = MemoryOperationRepository.save

    async def recording(self: MemoryOperationRepository, operation: SyncOperation) -> None:
        saved.append(operation.progress)
        await save(self, operation)

    monkeypatch.setattr(MemoryOperationRepository, "save", recording)

    await start_bulk_sync(world.ports, world.user_id)
    await world.run_jobs()

    downloaded = EXPORT_BYTES_PER_PRODUCT * 20
    first = next(p for p in saved if p.downloaded_bytes)
    assert (first.downloaded_bytes, first.processed) == (downloaded, 0)
    final = (await latest_bulk_sync(world.ports, world.user_id)).progress
    assert (final.downloaded_bytes, final.processed, final.progress_percent) == (
        downloaded,
        20,
        100,
    )


async def test_the_sync_ends_in_the_same_transaction_as_the_users_status(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nobody ever reads the sync completed while the user still shows `initial_sync`: if the
    status cannot be written, the end is not written either (and the job is retried)."""

    async def unavailable(*args: Any, **kwargs: Any) -> None:
        raise DependencyUnavailable("the database went away")

    operation = await start_bulk_sync(world.ports, world.user_id)
    monkeypatch.setattr(MemorySettingsRepository, "compare_and_set_status", unavailable)

    with pytest.raises(DependencyUnavailable):
        await run_bulk_sync(world.ports, operation.operation_id)

    assert world.operation(operation.operation_id).status is OperationStatus.PENDING
    assert (await get_status(world.ports, world.user_id)).sync_status is SyncStatus.INITIAL_SYNC


async def test_a_first_load_compares_nothing_for_removal(world: World) -> None:
    await start_bulk_sync(world.ports, world.user_id)
    await world.run_jobs()

    progress = (await latest_bulk_sync(world.ports, world.user_id)).progress
    assert (progress.created, progress.checked, progress.deleted) == (20, 0, 0)


def record_hints(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """The `all_new` hint of every chunk the importer writes."""
    hints: list[bool] = []
    upsert = MemoryInventoryRepository.upsert_products

    async def recording(self: MemoryInventoryRepository, *args: Any, **kw: Any) -> Any:
        hints.append(kw.get("all_new", False))
        return await upsert(self, *args, **kw)

    monkeypatch.setattr(MemoryInventoryRepository, "upsert_products", recording)
    return hints


async def test_a_first_loads_chunks_are_hinted_new_a_resyncs_are_not(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    hints = record_hints(monkeypatch)
    await start_bulk_sync(world.ports, world.user_id)
    await world.run_jobs()
    first = list(hints)
    await start_bulk_sync(world.ports, world.user_id)
    await world.run_jobs()

    assert (first, hints[3:]) == ([True] * 3, [False] * 3)


class ListedExport:
    def __init__(self, products: list[RemoteProduct]) -> None:
        self.products, self.expected_total = products, len(products)

    async def __aiter__(self) -> AsyncIterator[RemoteProduct]:
        for product in self.products:
            yield product


async def import_listed(
    world: World, operation: SyncOperation, products: list[RemoteProduct]
) -> SyncProgress:
    """Run one import of `products` (as an export would list them) under `operation`."""
    importer = Importer(
        world.ports, operation, ImportOptions(), ListedExport(products),
        export_started=world.clock.now(),
    )  # fmt: skip
    return await importer.run()


async def test_a_first_load_chunk_with_a_product_an_earlier_chunk_had_is_not_hinted_new(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The export lists product 3 again in the second chunk (of 7): that chunk may update."""
    products = [RemoteProduct(n, 1, n, 10) for n in range(1, 21)]
    products[9] = RemoteProduct(3, 1, 30, 10)
    hints = record_hints(monkeypatch)
    operation = await start_bulk_sync(world.ports, world.user_id)
    progress = await import_listed(world, operation, products)

    assert hints == [True, False, True]
    assert (progress.created, progress.updated, len(world.items())) == (19, 1, 19)
    assert {i.external_stock_id: i.quantity for i in world.items()}["3"] == 30


async def test_two_chunks_are_written_at_once_never_two_with_a_product_in_common(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chunks of 7; the second lists product 3 again: it waits for the first chunk's write, and
    the later copy wins. Otherwise two chunks are written at once (importer.WRITERS)."""
    products = [RemoteProduct(n, 1, n, 10) for n in range(1, 29)]
    products[9] = RemoteProduct(3, 1, 30, 10)
    in_flight: list[set[str]] = []
    seen_together: list[list[set[str]]] = []
    upsert = Importer._upsert

    async def watched(self: Importer, kept: Any, all_new: bool) -> Any:
        ids = {p.external_stock_id for p in kept}
        in_flight.append(ids)
        seen_together.append(list(in_flight))
        for _ in range(5):  # let the other writes run meanwhile
            await asyncio.sleep(0)
        try:
            return await upsert(self, kept, all_new)
        finally:
            in_flight.remove(ids)

    monkeypatch.setattr(Importer, "_upsert", watched)
    operation = await start_bulk_sync(world.ports, world.user_id)
    progress = await import_listed(world, operation, products)

    assert max(len(together) for together in seen_together) == 2
    for together in seen_together:
        assert all(a.isdisjoint(b) for a, b in itertools.combinations(together, 2))
    assert (progress.processed, progress.processed_chunks) == (28, 4)
    assert {i.external_stock_id: i.quantity for i in world.items()}["3"] == 30


async def test_a_first_load_refreshes_the_statistics_each_time_its_rows_grew_fourfold(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chunks of 7: after the first chunk (7 rows), at 28 and 112, and once the load is done
    (280); a re-sync that changed nothing refreshes none."""
    refreshed: list[int] = []

    async def refresh(self: MemoryInventoryRepository) -> None:
        refreshed.append(len(world.items()))

    monkeypatch.setattr(MemoryInventoryRepository, "refresh_statistics", refresh)
    products = [RemoteProduct(n, 1, n, 10) for n in range(1, 281)]
    operation = await start_bulk_sync(world.ports, world.user_id)
    seen = []
    for _ in ("first load", "re-sync"):
        await import_listed(world, operation, products)
        seen.append(list(refreshed))

    assert seen == [[7, 28, 112, 280], [7, 28, 112, 280]]

"""The one import path of bulk syncs and reconciliations: stream the export in chunks,
filter each through the catalogue, upsert it set-based, write progress, then remove what
CardTrader no longer lists (behind the deletion guard).

Reading the export (CPU in this process) and writing chunks (the database's work) overlap:
two chunks are written at once (`WRITERS`, each in its own unit of work, so on its own
connection) while the next is parsed, looked up in the catalogue and encoded for the store
(`UnitOfWorkFactory.prepare_import`). A chunk's write is one backend's CPU, and one backend
alone was the sync's pace (the 250k first load: docs/benchmarks.md); with two, the database
uses both cores of a small machine between this process's turns. At most three chunks are held
at once, whatever the export's size. Progress is saved after each chunk, one save at a time,
each of everything written so far.

No phase does more than a chunk's worth of work between two progress saves, so progress keeps
moving however large the inventory: each chunk written (`processed`), each page of the user's
items compared with the export for removal (`checked`), each chunk of them removed
(`deleted`). Nothing is ever one statement over the whole inventory but the guard's count
(only when something is to be removed) and the statistics refreshes (a fixed-size sample each).

The statistics are refreshed once a run changed more than a chunk's worth of rows, and during a
first load also each time the rows it created grew fourfold (a chunk's worth, then 4x, 16x...):
until then the user's pages are planned for the inventory the store last saw, none at all on a
first load. On Postgres a name search during a 1M first load was planned as a scan of the
user's rows, filtered (0.2-0.3 s a page, p99 179-213 ms); planned from statistics it takes the
trigram index throughout (p99 41-62 ms), for four ANALYZEs more per million rows (at about 9.5k,
38k, 152k and 608k rows; docs/benchmarks.md, "Name search at 1M during a load").
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from brx_domain.errors import SyncInProgress
from brx_domain.holds import hold_since
from brx_domain.ports import ProductExport
from brx_domain.sync import (
    OperationType,
    RemoteProduct,
    SyncOperation,
    SyncProgress,
    UpsertCounts,
    check_deletion_guard,
)
from brx_domain.usecases.common import Ports

WRITERS = 2  # chunks written at once, each on its own connection
REFRESH_GROWTH = 4  # a first load refreshes the statistics each time its rows grew this much


@dataclass(frozen=True)
class ImportOptions:
    force: bool = False
    dry_run: bool = False
    blueprint_id: int | None = None


async def ensure_latest_bulk_sync(ports: Ports, operation: SyncOperation) -> None:
    """A forced restart supersedes a running bulk sync: the older one stops at its next
    chunk, so one user never has two bulk syncs writing at once."""
    if operation.operation_type is not OperationType.BULK_SYNC:
        return
    async with ports.uow() as uow:
        latest = await uow.operations.latest(operation.user_id, OperationType.BULK_SYNC)
    if latest is not None and latest.operation_id != operation.operation_id:
        raise SyncInProgress(f"bulk sync {operation.operation_id} was replaced by a newer one")


@dataclass(frozen=True)
class Prepared:
    """A chunk ready to be written (`Importer._prepare`)."""

    staged: Sequence[RemoteProduct]
    skipped: int
    all_new: bool
    ids: set[str]  # the chunk's CardTrader ids, skipped ones included


class Importer:
    def __init__(
        self,
        ports: Ports,
        operation: SyncOperation,
        options: ImportOptions,
        export: ProductExport,
        *,
        export_started: datetime,
        downloaded_bytes: int = 0,
    ) -> None:
        self.ports, self.operation, self.options, self.export = ports, operation, options, export
        self.hold_since = hold_since(export_started)
        self.held = 0
        self.progress = SyncProgress(downloaded_bytes=downloaded_bytes)
        self.seen: set[str] = set()
        self.first_load = False  # the user had no listed item when this run started
        self.refresh_at = ports.settings.chunk_size  # see `_write`
        self.skipped_examples: list[int] = []
        self._saving = asyncio.Lock()

    async def run(self) -> SyncProgress:
        size = self.ports.settings.chunk_size
        had_listed = bool(await self._listed_page(None, 1))
        self.first_load = not had_listed
        writing: dict[asyncio.Task[None], set[str]] = {}  # each write and its CardTrader ids
        chunk: list[RemoteProduct] = []
        try:
            async for product in self.export:
                chunk.append(product)
                if len(chunk) >= size:
                    await self._hand_over(chunk, writing)
                    chunk = []
            for task in list(writing):
                await task
                del writing[task]
        finally:
            for task in writing:
                task.cancel()
            await asyncio.gather(*writing, return_exceptions=True)
        if chunk or self.progress.processed_chunks == 0:
            await self._write(await self._prepare(chunk))
        deleted = await self._remove_vanished() if had_listed else 0  # else none can vanish
        self.progress = self.progress.finished(deleted=deleted, chunk_size=size)
        if self.progress.created + self.progress.updated + self.progress.deleted >= size:
            await self._refresh_statistics()
        await self._save_progress()
        return self.progress

    async def _hand_over(
        self, chunk: list[RemoteProduct], writing: dict[asyncio.Task[None], set[str]]
    ) -> None:
        """Filter the chunk through the catalogue and encode it while earlier ones are still
        being written (off the chain of writes), then start writing it once fewer than
        `WRITERS` are and none of them has any of its CardTrader ids (a product the export
        lists twice is written in the export's order: the later copy wins). A write that
        failed stops the import here, before another starts."""
        prepared = await self._prepare(chunk)
        while True:
            for task in [task for task in writing if task.done()]:
                del writing[task]
                task.result()
            if len(writing) < WRITERS and all(prepared.ids.isdisjoint(i) for i in writing.values()):
                break
            await asyncio.wait(writing, return_when=asyncio.FIRST_COMPLETED)
        writing[asyncio.create_task(self._write(prepared))] = prepared.ids

    async def _prepare(self, chunk: list[RemoteProduct]) -> Prepared:
        """What of the chunk the catalogue knows, encoded for the write; how many it
        skipped; whether its keys are new (`all_new`: a first load's chunk whose CardTrader ids
        no earlier chunk had). A skipped product still exists on CardTrader: its local copy, if
        any, is kept (it counts as seen)."""
        known = await self.ports.catalogue.known({p.blueprint_id for p in chunk})
        kept = [p for p in chunk if p.blueprint_id in known]
        skipped = len(chunk) - len(kept)
        room = self.ports.settings.skipped_examples - len(self.skipped_examples)
        if skipped and room > 0:
            self.skipped_examples += [p.id for p in chunk if p.blueprint_id not in known][:room]
        ids = {p.external_stock_id for p in chunk}
        all_new = self.first_load and self.seen.isdisjoint(ids)
        self.seen |= ids
        staged = self.ports.uow.prepare_import(kept) if kept else kept
        return Prepared(staged, skipped, all_new, ids)

    async def _write(self, prepared: Prepared) -> None:
        staged, skipped = prepared.staged, prepared.skipped
        counts = await self._upsert(staged, prepared.all_new) if staged else UpsertCounts()
        self.progress = self.progress.plus(
            counts,
            skipped=skipped,
            expected_total=self.export.expected_total,
            chunk_size=self.ports.settings.chunk_size,
        )
        await self._save_progress()
        if self.first_load and self.progress.created >= self.refresh_at:
            # The user's rows grew fourfold since the planner last looked (from none): pages
            # served meanwhile would be planned for a far smaller inventory.
            self.refresh_at = REFRESH_GROWTH * self.progress.created
            await self._refresh_statistics()

    async def _upsert(self, kept: Sequence[RemoteProduct], all_new: bool) -> UpsertCounts:
        async with self.ports.uow() as uow:
            counts = await uow.items.upsert_products(
                self.operation.user_id,
                kept,
                operation_id=self.operation.operation_id,
                now=self.ports.clock.now(),
                dry_run=self.options.dry_run,
                hold_since=self.hold_since,
                all_new=all_new,
            )
            await uow.commit()
        self.held += counts.held
        return counts

    async def _remove_vanished(self) -> int:
        """Items with a CardTrader id the export no longer lists, removed (behind the deletion
        guard, all of them checked first) a chunk at a time with a progress save after each."""
        user_id, size = self.operation.user_id, self.ports.settings.chunk_size
        absent = await self._find_vanished()
        if absent:
            async with self.ports.uow() as uow:
                total = await uow.items.count(user_id)
            check_deletion_guard(
                len(absent), total, self.ports.settings.max_delete_share, force=self.options.force
            )
        if self.options.dry_run:
            return len(absent)
        for start in range(0, len(absent), size):
            batch = absent[start : start + size]
            async with self.ports.uow() as uow:
                await uow.items.remove_many(user_id, batch)
                await uow.commit()
            self.progress = replace(self.progress, deleted=self.progress.deleted + len(batch))
            await self._save_progress()
        return len(absent)

    async def _find_vanished(self) -> list[int]:
        """Page through the user's listed items (a chunk's worth a page, in key order),
        comparing each with the ids the export holds, and save progress after every page."""
        size = self.ports.settings.chunk_size
        absent: list[int] = []
        after: tuple[int, str] | None = None
        while page := await self._listed_page(after, size):
            absent += [item_id for _, external_id, item_id in page if external_id not in self.seen]
            self.progress = replace(self.progress, checked=self.progress.checked + len(page))
            await self._save_progress()
            if len(page) < size:
                break
            after = page[-1][:2]
        return absent

    async def _listed_page(
        self, after: tuple[int, str] | None, limit: int
    ) -> list[tuple[int, str, int]]:
        async with self.ports.uow() as uow:
            return await uow.items.listed_page(
                self.operation.user_id, after=after, limit=limit,
                blueprint_id=self.options.blueprint_id,
            )  # fmt: skip

    async def _refresh_statistics(self) -> None:
        """The inventory's pages are planned from statistics, and a load leaves them behind
        until the database's own pass: refreshed at the end of a run that changed more than a
        chunk's worth of rows, and during a first load each time its rows grew fourfold."""
        if self.options.dry_run:
            return
        async with self.ports.uow() as uow:
            await uow.items.refresh_statistics()
            await uow.commit()

    async def _save_progress(self) -> None:
        async with self._saving:  # each save the latest progress, one after the other
            await save_progress(self.ports, self.operation, self.progress)


async def save_progress(ports: Ports, operation: SyncOperation, progress: SyncProgress) -> None:
    """One unit of work per save: check this sync was not superseded, then merge the progress
    into the stored one (no counter moves backwards)."""
    async with ports.uow() as uow:
        if operation.operation_type is OperationType.BULK_SYNC:
            latest = await uow.operations.latest(operation.user_id, OperationType.BULK_SYNC)
            if latest is not None and latest.operation_id != operation.operation_id:
                raise SyncInProgress(
                    f"bulk sync {operation.operation_id} was replaced by a newer one"
                )
        current = await uow.operations.get(operation.operation_id) or operation
        await uow.operations.save(current.with_progress(progress))
        await uow.commit()

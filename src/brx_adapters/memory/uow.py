"""`MemoryUnitOfWork`: a transaction over `MemoryStore`. PUBLIC API for other services' tests.

It holds the store's lock from `__aenter__` to `__aexit__`, so units of work are serialisable
(which is what makes `take` atomic and `orders.lock` meaningful); writes go to a journal and
only reach the store on `commit()`; leaving without committing rolls back. Do not open a second
unit of work on the same store inside one (it would wait for itself).
"""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import Self

from brx_adapters.memory.accounts import MemoryErasureRepository, MemoryIdempotencyRepository
from brx_adapters.memory.inventory import MemoryInventoryRepository, MemoryLedgerRepository
from brx_adapters.memory.records import (
    MemoryOperationRepository,
    MemoryOrderStockRepository,
    MemorySettingsRepository,
    MemoryWebhookRepository,
)
from brx_adapters.memory.store import Journal, MemoryStore
from brx_domain.ports import (
    ErasureRepository,
    IdempotencyRepository,
    InventoryRepository,
    LedgerRepository,
    OperationRepository,
    OrderStockRepository,
    SettingsRepository,
    UnitOfWork,
    WebhookRepository,
)
from brx_domain.sync import RemoteProduct


class MemoryUnitOfWork:
    def __init__(self, store: MemoryStore) -> None:
        self.store = store
        self.committed = False  # inspection: did this unit of work ever commit?
        self._journal = Journal(store)
        self.items: InventoryRepository = MemoryInventoryRepository(self._journal)
        self.ledger: LedgerRepository = MemoryLedgerRepository(self._journal)
        self.settings: SettingsRepository = MemorySettingsRepository(self._journal)
        operations = MemoryOperationRepository(self._journal)
        self.operations: OperationRepository = operations
        self.webhooks: WebhookRepository = MemoryWebhookRepository(
            self._journal, operations, self.commit
        )
        self.orders: OrderStockRepository = MemoryOrderStockRepository(self._journal)
        self.idempotency: IdempotencyRepository = MemoryIdempotencyRepository(self._journal)
        self.erasure: ErasureRepository = MemoryErasureRepository(self._journal)
        self._entered = False

    async def __aenter__(self) -> Self:
        if self._entered:
            raise RuntimeError("a MemoryUnitOfWork can be entered once; make a new one")
        await self.store.lock.acquire()
        self._entered = True
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self.rollback()
        finally:
            self.store.lock.release()

    async def commit(self) -> None:
        self._require_open()
        self._journal.publish()
        self.store.commits += 1
        self.committed = True

    async def rollback(self) -> None:
        """Forget everything not committed (a no-op right after a commit)."""
        if self._journal.dirty:
            self.store.rollbacks += 1
        self._journal.discard()

    def _require_open(self) -> None:
        if not self._entered or not self.store.lock.locked():
            raise RuntimeError("use a MemoryUnitOfWork inside `async with`")


class MemoryUnitOfWorkFactory:
    """`UnitOfWorkFactory` over one store; `store` is there for tests to inspect."""

    def __init__(self, store: MemoryStore | None = None) -> None:
        self.store = store if store is not None else MemoryStore()

    def __call__(self) -> UnitOfWork:
        return MemoryUnitOfWork(self.store)

    def prepare_import(self, products: Sequence[RemoteProduct]) -> Sequence[RemoteProduct]:
        """Nothing to encode in memory."""
        return products


__all__ = ["MemoryUnitOfWork", "MemoryUnitOfWorkFactory"]

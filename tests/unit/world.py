"""A whole service over the in-memory adapters: the real use cases, fake outside world."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from brx_adapters.memory import (
    FakeClock,
    MemoryCatalogue,
    MemoryMarketplace,
    MemoryMarketplaceGateway,
    MemoryStore,
    MemoryTaskQueue,
    memory_ports,
)
from brx_domain.inventory import InventoryItem
from brx_domain.sync import RemoteProduct, SyncOperation
from brx_domain.usecases import Ports, Settings
from brx_domain.usecases.pushes import push_delete, push_purchase, push_update
from brx_domain.usecases.sync import run_bulk_sync, run_reconciliation
from brx_domain.usecases.users import register_user
from brx_domain.usecases.webhooks import apply_webhook

Job = Callable[[Ports, str], Awaitable[SyncOperation | None]]
JOBS: dict[str, Job] = {
    "bulk_sync": run_bulk_sync,
    "reconcile": run_reconciliation,
    "push_update": push_update,
    "push_delete": push_delete,
    "push_purchase": push_purchase,
    "apply_webhook": apply_webhook,
}
TOKEN = "ct-token-of-the-shop"


@dataclass
class World:
    clock: FakeClock = field(default_factory=FakeClock)
    store: MemoryStore = field(default_factory=MemoryStore)
    queue: MemoryTaskQueue = field(default_factory=MemoryTaskQueue)
    gateway: MemoryMarketplaceGateway = field(default_factory=MemoryMarketplaceGateway)
    catalogue: MemoryCatalogue = field(default_factory=MemoryCatalogue)
    user_id: uuid.UUID = field(default_factory=uuid.uuid4)
    settings: Settings = field(default_factory=lambda: Settings(chunk_size=7))

    def __post_init__(self) -> None:
        self.store.clock = self.clock
        self.account: MemoryMarketplace = self.gateway.add_account(TOKEN)
        self.ports = memory_ports(
            store=self.store,
            queue=self.queue,
            clock=self.clock,
            marketplace=self.gateway,
            catalogue=self.catalogue,
            settings=self.settings,
        )

    async def register(self) -> None:
        await register_user(self.ports, self.user_id, TOKEN)

    async def run_jobs(self) -> list[SyncOperation | None]:
        """Run every queued job (and those they queue), like a worker would."""
        results = []
        while jobs := self.queue.pop_all():
            for job in jobs:
                results.append(await JOBS[job.job](self.ports, job.job_id))
        return results

    async def seed(self, *products: RemoteProduct) -> list[InventoryItem]:
        """Import `products` as a sync would (ledger entries included), committed."""
        async with self.ports.uow() as uow:
            await uow.items.upsert_products(
                self.user_id, products, operation_id="seed", now=self.clock.now()
            )
            await uow.commit()
        return self.store.items_of(self.user_id)

    def items(self) -> list[InventoryItem]:
        return self.store.items_of(self.user_id)

    def quantities(self) -> dict[str, int]:
        return {str(i.external_stock_id): i.quantity for i in self.items()}

    def operation(self, operation_id: str) -> SyncOperation:
        return self.store.operations[operation_id]

    def result(self, operation_id: str) -> dict[str, Any]:
        return dict(self.operation(operation_id).metadata.get("result") or {})

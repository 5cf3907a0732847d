"""`memory_ports()`: a whole `Ports` over the in-memory fakes in one call. PUBLIC API.

Another service's tests (and this project's) call the real use cases over it. Pass in a fake to
keep a handle on it for set-up and assertions (`MemoryStore` tables, `MemoryTaskQueue.pending`,
`MemoryMarketplace.products`); anything left out is a fresh one. Needs only the core install
(`pip install brx-sync`): no database, no Redis, no network.
"""

from __future__ import annotations

from cryptography.fernet import Fernet

from brx_adapters.crypto import FernetCipher
from brx_adapters.memory.locks import MemoryProductLocks
from brx_adapters.memory.marketplace import MemoryMarketplaceGateway
from brx_adapters.memory.queue import MemoryTaskQueue
from brx_adapters.memory.store import MemoryStore
from brx_adapters.memory.support import FakeClock, MemoryCatalogue, SequentialIds
from brx_adapters.memory.uow import MemoryUnitOfWorkFactory
from brx_domain.ports import (
    BlueprintCatalogue,
    Clock,
    MarketplaceGateway,
    ProductLocks,
    TaskQueue,
    TokenCipher,
)
from brx_domain.usecases.common import Ports, Settings


def memory_ports(
    *,
    store: MemoryStore | None = None,
    queue: TaskQueue | None = None,
    clock: Clock | None = None,
    marketplace: MarketplaceGateway | None = None,
    catalogue: BlueprintCatalogue | None = None,
    cipher: TokenCipher | None = None,
    locks: ProductLocks | None = None,
    settings: Settings | None = None,
) -> Ports:
    """`Ports` over fakes: a `FakeClock` (also the store's clock), sequential ids, a Fernet
    cipher with a fresh key, a catalogue that knows every blueprint, default `Settings`."""
    clock = FakeClock() if clock is None else clock
    store = MemoryStore() if store is None else store
    if store.clock is None:
        store.clock = clock
    return Ports(
        uow=MemoryUnitOfWorkFactory(store),
        queue=MemoryTaskQueue() if queue is None else queue,
        clock=clock,
        ids=SequentialIds(),
        cipher=FernetCipher([Fernet.generate_key().decode()]) if cipher is None else cipher,
        marketplace=MemoryMarketplaceGateway() if marketplace is None else marketplace,
        catalogue=MemoryCatalogue(None) if catalogue is None else catalogue,
        locks=MemoryProductLocks() if locks is None else locks,
        settings=Settings() if settings is None else settings,
    )


__all__ = ["memory_ports"]

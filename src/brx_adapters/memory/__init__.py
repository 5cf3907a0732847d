"""In-memory fakes, one per port: the embedded default (demo) and the test doubles.

PUBLIC API: other services' test suites build on these. Each fake keeps inspection attributes
(`MemoryStore` tables, `MemoryTaskQueue.enqueued`, `MemoryMarketplace.calls` ...) so tests can
assert outcomes instead of mocking calls; `memory_ports()` wires them all into one `Ports`.
"""

from brx_adapters.memory.locks import MemoryProductLocks
from brx_adapters.memory.marketplace import (
    Call,
    MemoryExport,
    MemoryMarketplace,
    MemoryMarketplaceGateway,
)
from brx_adapters.memory.queue import MemoryTaskQueue, QueuedJob
from brx_adapters.memory.store import MemoryStore
from brx_adapters.memory.support import (
    FakeClock,
    MemoryCatalogue,
    MemoryRateLimiter,
    SequentialIds,
)
from brx_adapters.memory.uow import MemoryUnitOfWork, MemoryUnitOfWorkFactory
from brx_adapters.memory.wiring import memory_ports

__all__ = [
    "Call",
    "FakeClock",
    "MemoryCatalogue",
    "MemoryExport",
    "MemoryMarketplace",
    "MemoryMarketplaceGateway",
    "MemoryProductLocks",
    "MemoryRateLimiter",
    "MemoryStore",
    "MemoryTaskQueue",
    "MemoryUnitOfWork",
    "MemoryUnitOfWorkFactory",
    "QueuedJob",
    "SequentialIds",
    "memory_ports",
]

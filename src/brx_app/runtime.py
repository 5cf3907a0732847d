"""What a process holds open and how it is looked after: the pools and clients to close, the
health checks of its dependencies, the samplers that refresh gauges before a scrape, and the
bounded wait for those dependencies at start. Filled by `brx_app.container`. Also the API and worker
processes' garbage-collector tuning once they are built (`settle_heap`)."""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from brx_app.failures import StartupError
from brx_domain.retry import backoff

SAMPLE_TIMEOUT = 2.0
# objects allocated (net) between young collections (Python's: 700), as measured for each
GC_YOUNG_THRESHOLD = {"api": 10_000, "worker": 50_000}
log = logging.getLogger("brx.runtime")
T = TypeVar("T")

HealthCheck = Callable[[], Awaitable[None]]  # raises when the dependency is down
Sampler = Callable[[], Awaitable[None]]  # refreshes gauges right before a scrape


LABELS = {"postgresql": "PostgreSQL", "redis": "Redis", "mysql": "MySQL"}


@dataclass
class Runtime:
    """What the process holds open (pools, clients) and how to close it, health checks, and
    the samplers that refresh the gauges of /metrics."""

    checks: dict[str, HealthCheck] = field(default_factory=dict)
    closers: list[Callable[[], Awaitable[Any]]] = field(default_factory=list)
    details: dict[str, Callable[[], Awaitable[dict[str, Any]]]] = field(default_factory=dict)
    samplers: list[Sampler] = field(default_factory=list)
    composite_index: Callable[[], Awaitable[bool]] | None = None  # None: not applicable
    drain: Callable[[], Awaitable[None]] | None = None  # in-process jobs (embedded default)
    stopping: bool = False  # a graceful stop began: readiness fails first (brx_app.shutdown)

    def stop_accepting(self) -> None:
        """The process is going away: readiness answers 503 from now on, and every answer
        closes its connection, so clients come back on a new one (to another replica)."""
        self.stopping = True

    async def sample(self) -> None:
        """Best effort: a dependency that is down leaves its gauges as they were."""
        for sampler in self.samplers:
            try:
                await asyncio.wait_for(sampler(), SAMPLE_TIMEOUT)
            except Exception as exc:  # readiness reports the outage; a scrape still answers
                log.debug("gauge sampler failed: %s", type(exc).__name__)

    async def wait_until_up(self, names: Sequence[str], *, within: float) -> None:
        """Ping each named dependency until it answers, for `within` seconds at most (a
        worker started beside its database waits for it instead of crashing); then
        StartupError names the first that never answered."""
        deadline, limit = time.monotonic() + within, max(1.0, min(5.0, within))
        for name in names:
            try:
                await retry_until(_timed(self.checks[name], limit), deadline=deadline)
            except Exception as exc:
                raise StartupError(
                    f"{LABELS.get(name, name)} did not answer within {within:g} s "
                    f"(STARTUP_WAIT_SECONDS): {type(exc).__name__}"
                ) from None

    async def close(self) -> None:
        for closer in reversed(self.closers):
            await closer()
        self.closers.clear()


def _timed(check: HealthCheck, limit: float) -> Callable[[], Awaitable[None]]:
    async def ping() -> None:
        await asyncio.wait_for(check(), limit)

    return ping


async def retry_until(
    attempt: Callable[[], Awaitable[T]],
    *,
    deadline: float,
    transient: Callable[[BaseException], bool] = lambda exc: True,
) -> T:
    """`attempt()` again after each transient failure, waiting the one `backoff` of the
    service (from 0.25 s up to 5 s: a dependency starting beside us), until it succeeds or the
    next try would start after `deadline` (a `time.monotonic()` value): then the last failure
    is raised. The start-up retry of the commands."""
    failures = 0
    while True:
        try:
            return await attempt()
        except Exception as exc:
            failures += 1
            delay = backoff(failures, base=0.25, cap=5.0)
            if not transient(exc) or time.monotonic() + delay > deadline:
                raise
        await asyncio.sleep(delay)


def settle_heap(process: Literal["api", "worker"]) -> None:
    """Tune the cyclic garbage collector for a server process whose app is built (the API's
    entry points and the worker call it once, before serving; docs/benchmarks.md, 2026-12-02
    hot paths and importer CPU).

    The app, its container, the OpenAPI document and every imported module (about 135,000
    objects) live as long as the process, yet each full collection walked them all again:
    `gc.freeze` leaves them out (the standard library's advice for long-lived servers). And
    the youngest generation was collected whenever 700 more objects were alive than at the
    last collection, which a 100-item inventory page passes in the middle of building itself,
    several times a page, though reference counting frees what it built once answered: at
    10,000 (`GC_YOUNG_THRESHOLD["api"]`) a steady load triggers no collection at all; the
    collector's CPU per page went from about 235 us to 75 with the freeze, to none with the
    threshold. A worker's import keeps two chunks of products alive, and at Python's 700 its
    full collections walked them again and again, finding nothing to free: about 1 s of a 100k
    first load's 5-6 s of CPU; 4.1-4.4 s in all at 50,000 (`["worker"]`), 3.7-4.3 s with no
    collector. Each figure is the one measured for that process. Cyclic garbage is still
    collected, only less often; what is frozen is freed as usual when its last reference
    goes."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD[process])

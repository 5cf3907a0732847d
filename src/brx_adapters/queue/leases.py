"""Job leases: how a restarted worker tells a job orphaned by a killed worker from one that is
still running elsewhere.

arq marks a started job with an `in-progress` key that lives as long as the longest job timeout
(hours for a 250k-product sync), so a worker killed with SIGKILL would block its job that long.
Each running job therefore also holds a short lease, renewed while it runs. A job whose
in-progress mark is older than a grace period but has no lease lost its worker: `reap` removes
the mark and the job (still in its queue) runs again. The grace covers the moment between arq
marking a job and the job taking its lease.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Collection, Sequence
from typing import Any

from arq.constants import in_progress_key_prefix

LEASE_SECONDS = 30.0
GRACE_SECONDS = 5.0  # arq marks a job and the job takes its lease within milliseconds

_REAP = """
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 and ttl < tonumber(ARGV[1]) then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
"""


def lease_key(job_id: str, namespace: str = "") -> str:
    return f"{namespace}brx:lease:{job_id}"


@contextlib.asynccontextmanager
async def lease(
    redis: Any, job_id: str, *, namespace: str = "", seconds: float = LEASE_SECONDS
) -> AsyncIterator[None]:
    """Hold the job's lease while the body runs (renewed every third of its life)."""
    await hold(redis, [job_id], namespace=namespace, seconds=seconds)

    async def renew() -> None:
        while True:
            await asyncio.sleep(seconds / 3)
            with contextlib.suppress(Exception):  # a missed renewal is retried next time
                await hold(redis, [job_id], namespace=namespace, seconds=seconds)

    renewer = asyncio.create_task(renew())
    try:
        yield
    finally:
        renewer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await renewer
        with contextlib.suppress(Exception):
            await redis.delete(lease_key(job_id, namespace))


async def hold(
    redis: Any, job_ids: Collection[str], *, namespace: str = "", seconds: float = LEASE_SECONDS
) -> None:
    """Take (or renew) the leases of running jobs: when Redis comes back from an outage longer
    than a lease, before the reaper looks, so it does not free a job that is still running."""
    for job_id in job_ids:
        await redis.set(lease_key(job_id, namespace), b"1", px=int(seconds * 1000))


async def reap(
    redis: Any,
    queue: str,
    *,
    in_progress_seconds: float,
    namespace: str = "",
    grace_seconds: float = GRACE_SECONDS,
    limit: int = 1000,
) -> list[str]:
    """Free the jobs of `queue` whose worker died; returns their ids. `in_progress_seconds` is
    the in-progress lifetime the queue's arq worker sets (its longest timeout + 10 s)."""
    job_ids = await redis.zrange(queue, 0, limit - 1)
    younger_than_grace_ms = int((in_progress_seconds - grace_seconds) * 1000)
    freed: list[str] = []
    for raw in job_ids:
        job_id = raw.decode() if isinstance(raw, bytes) else str(raw)
        keys: Sequence[str] = (in_progress_key_prefix + job_id, lease_key(job_id, namespace))
        if await redis.eval(_REAP, 2, *keys, younger_than_grace_ms):
            freed.append(job_id)
    return freed

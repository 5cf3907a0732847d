"""`TaskQueue` over arq (Redis): one sorted set per queue, the job id is the operation id.

arq refuses a job id it already holds (queued, running or with a kept result), so sending the
same operation twice, or re-sending it from the outbox, never runs it twice at once.
"""

from __future__ import annotations

import asyncio

from arq.connections import ArqRedis, RedisSettings, create_pool
from arq.constants import job_key_prefix, result_key_prefix
from arq.jobs import serialize_job
from arq.utils import timestamp_ms
from redis.commands.core import AsyncScript
from redis.exceptions import RedisError

from brx_adapters.queue_keys import QUEUE_KEYS, queue_key
from brx_adapters.shared_calls import SharedCalls
from brx_domain.errors import DependencyUnavailable
from brx_domain.jobs import JobName, Priority

_ERRORS = (RedisError, OSError, asyncio.TimeoutError)

# arq's own `enqueue_job` in one round trip instead of four (WATCH, EXISTS, MULTI/EXEC, and the
# pipeline's connection checkout), for every job of a batch: the same keys, job encoding and
# expiry, and the same rule that a job id already queued, running or with a kept result is
# refused (a second copy within the batch too). A script runs atomically, so the WATCH is not
# needed. KEYS: each job's (job key, result key, queue); ARGV: the expiry, then each job's
# (encoding, score, id). Answers 1 (queued) or 0 per job.
_ENQUEUE = """
local out = {}
for i = 0, #KEYS / 3 - 1 do
  if redis.call('EXISTS', KEYS[3 * i + 1], KEYS[3 * i + 2]) > 0 then
    out[i + 1] = 0
  else
    redis.call('PSETEX', KEYS[3 * i + 1], ARGV[1], ARGV[3 * i + 2])
    redis.call('ZADD', KEYS[3 * i + 3], ARGV[3 * i + 3], ARGV[3 * i + 4])
    out[i + 1] = 1
  end
end
return out
"""

# A job ready to go: its three keys and its (encoding, score, id).
_Job = tuple[tuple[str, str, str], tuple[bytes, int, str]]


class ArqTaskQueue:
    """Enqueues `job(operation_id=...)`: the job reads everything else from its operation row."""

    def __init__(self, settings: RedisSettings, *, namespace: str = "") -> None:
        self._settings, self.namespace = settings, namespace
        self._pool: ArqRedis | None = None
        self._script: AsyncScript | None = None
        self._lock = asyncio.Lock()
        # Concurrent enqueues share round trips (a webhook burst: one call for many deliveries).
        self._calls: SharedCalls[None, _Job, bool] = SharedCalls(self._send)

    @classmethod
    def from_url(cls, redis_url: str, *, namespace: str = "") -> ArqTaskQueue:
        settings = RedisSettings.from_dsn(redis_url)
        settings.conn_timeout = 2
        settings.conn_retries = 1
        return cls(settings, namespace=namespace)

    async def enqueue(self, job: JobName, *, job_id: str, priority: Priority) -> bool:
        pool = await self._connected()
        now = timestamp_ms()
        encoded = serialize_job(
            str(job), (), {"operation_id": job_id}, None, now, serializer=pool.job_serializer
        )
        keys = (
            job_key_prefix + job_id,
            result_key_prefix + job_id,
            queue_key(priority, self.namespace),
        )
        return await self._calls.call(None, (keys, (encoded, now, job_id)))

    async def _send(self, _: None, jobs: list[_Job]) -> list[bool]:
        pool = await self._connected()
        script = self._script or pool.register_script(_ENQUEUE)
        try:
            queued = await script(
                keys=[key for keys, _ in jobs for key in keys],
                args=[pool.expires_extra_ms, *(value for _, values in jobs for value in values)],
            )
        except _ERRORS as exc:
            raise DependencyUnavailable(
                f"the job queue is unavailable ({type(exc).__name__})"
            ) from None
        return [int(answer) == 1 for answer in queued]

    async def _connected(self) -> ArqRedis:
        try:
            return await self._pool_or_create()
        except _ERRORS as exc:
            raise DependencyUnavailable(
                f"the job queue is unavailable ({type(exc).__name__})"
            ) from None

    async def depth(self) -> dict[str, int]:
        """Jobs waiting (or deferred for a retry) per queue, by the queue's plain name."""
        names = list(QUEUE_KEYS.values())
        try:
            pool = await self._pool_or_create()
            counts = await asyncio.gather(*(pool.zcard(self.namespace + n) for n in names))
        except _ERRORS as exc:
            raise DependencyUnavailable(
                f"the job queue is unavailable ({type(exc).__name__})"
            ) from None
        return {name: int(count) for name, count in zip(names, counts, strict=True)}

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.aclose()

    async def _pool_or_create(self) -> ArqRedis:
        if self._pool is None:
            async with self._lock:
                if self._pool is None:
                    pool = await create_pool(self._settings)
                    self._script = pool.register_script(_ENQUEUE)
                    self._pool = pool
        return self._pool

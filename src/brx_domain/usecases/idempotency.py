"""Running a keyed write at most once: claim the key (committed before the write starts, so a
concurrent twin sees it), run, keep the answer; replay it for the key's lifetime.

Generic on purpose: it wraps whatever the write is (purchase, edit, delete) without knowing it,
so it composes with each use case's own guarantees instead of duplicating them.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from brx_domain.errors import DomainError
from brx_domain.idempotency import (
    IdempotencyRecord,
    IdempotentRequest,
    StoredAnswer,
    replay,
)
from brx_domain.usecases.common import Ports

log = logging.getLogger("brx.usecases.idempotency")

Write = Callable[[], Awaitable[StoredAnswer]]


@dataclass(frozen=True)
class Outcome:
    answer: StoredAnswer
    replayed: bool


async def run_once(ports: Ports, request: IdempotentRequest, write: Write) -> Outcome:
    """The first request with a key runs `write`; later ones get its answer (same request) or
    an error (another request: 422; first one still running: 409).

    A deliberate refusal (a domain error: bad input, not found, CardTrader down under the
    `refuse` policy) changed nothing, so the claim is released and the key can be used again.
    Any other failure leaves the key claimed: its outcome is unknown, and running the write
    again under the same key could sell twice.
    """
    now = ports.clock.now()
    ttl = timedelta(seconds=ports.settings.idempotency_ttl_seconds)
    claim = IdempotencyRecord(request.user_id, request.key, request.fingerprint, now, now + ttl)
    async with ports.uow() as uow:
        holder = await uow.idempotency.claim(claim)
        await uow.commit()
    if holder is not None:
        return Outcome(replay(holder, request), replayed=True)
    try:
        answer = await write()
    except DomainError:
        await _release(ports, request)
        raise
    async with ports.uow() as uow:
        await uow.idempotency.complete(request.user_id, request.key, answer)
        await uow.commit()
    return Outcome(answer, replayed=False)


async def _release(ports: Ports, request: IdempotentRequest) -> None:
    async with ports.uow() as uow:
        await uow.idempotency.release(request.user_id, request.key, request.fingerprint)
        await uow.commit()


async def purge_expired_keys(ports: Ports) -> int:
    """Forget keys whose lifetime ended (a worker cron); an expired key is also simply
    re-claimable, so this only keeps the table small."""
    async with ports.uow() as uow:
        purged = await uow.idempotency.purge_expired(ports.clock.now())
        await uow.commit()
    if purged:
        log.info("purged %d expired idempotency keys", purged)
    return purged

"""Idempotent writes: a client's `Idempotency-Key` names one request; the first answer is kept
for the key's lifetime and replayed, so a double click or a client retry never sells twice.

A request is identified by a fingerprint of what it asks (method, path, body): the same key with
another request is refused rather than answered with a stale, unrelated result.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from brx_domain.errors import Conflict, DomainError

HEADER = "Idempotency-Key"


def fingerprint(method: str, path: str, body: bytes) -> str:
    """SHA-256 over the method, the path and the raw body; the first two are length-prefixed
    so no two requests differ only by where one part ends (a path may hold any character)."""
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode()):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    digest.update(body)
    return digest.hexdigest()


@dataclass(frozen=True)
class IdempotentRequest:
    """One keyed request of one user (keys are per user: two users never share one)."""

    user_id: UUID
    key: str
    fingerprint: str


@dataclass(frozen=True)
class StoredAnswer:
    """The first answer to a keyed request: what a replay sends back."""

    status: int
    body: Mapping[str, Any]


@dataclass(frozen=True)
class IdempotencyRecord:
    """A claimed key: `answer` is None while its first request is still running."""

    user_id: UUID
    key: str
    fingerprint: str
    created_at: datetime
    expires_at: datetime
    answer: StoredAnswer | None = None

    def is_live(self, now: datetime) -> bool:
        return self.expires_at > now


class IdempotencyKeyReused(DomainError):
    """The key already names a different request (HTTP 422)."""

    code = "idempotency_key_reused"

    def __init__(self) -> None:
        super().__init__(
            f"{HEADER}: this key was already used for a different request "
            "(another method, path or body); use a new key",
            details={"field": HEADER},
        )


class IdempotencyInProgress(Conflict):
    """The key's first request has not answered yet (HTTP 409): retry shortly. A request
    that never answered (the process died) keeps its key until the key expires, because its
    outcome is unknown and running it again could sell twice."""

    code = "idempotency_in_progress"

    def __init__(self) -> None:
        super().__init__(
            f"{HEADER}: a request with this key is still in progress (or its outcome is "
            "unknown); retry later, or check /operations before using a new key",
            details={"field": HEADER},
        )


def replay(holder: IdempotencyRecord, request: IdempotentRequest) -> StoredAnswer:
    """The answer to send for `request` when `holder` already holds its key."""
    if holder.fingerprint != request.fingerprint:
        raise IdempotencyKeyReused()
    if holder.answer is None:
        raise IdempotencyInProgress()
    return holder.answer

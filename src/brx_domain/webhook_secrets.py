"""A process's memory of its users' decrypted webhook secrets, each kept with the ciphertext it
was read as, so a delivery's write can insist that ciphertext is still the stored one."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID


@dataclass(frozen=True)
class KnownSecret:
    encrypted: str  # as stored: the guard of the write (a rotation or re-encryption changes it)
    secret: str  # decrypted: what the signature is checked with


class WebhookSecrets:
    """At most `capacity` users, the least recently used forgotten first. Never an authority:
    a write made with a remembered secret stores nothing unless the stored ciphertext is still
    `encrypted` and the user still connected (`WebhookRepository.commit_if_new`)."""

    def __init__(self, capacity: int = 10_000) -> None:
        self._capacity = capacity
        self._known: dict[UUID, KnownSecret] = {}

    def get(self, user_id: UUID) -> KnownSecret | None:
        known = self._known.pop(user_id, None)
        if known is not None:
            self._known[user_id] = known  # now the most recently used
        return known

    def remember(self, user_id: UUID, known: KnownSecret) -> None:
        self._known.pop(user_id, None)
        self._known[user_id] = known
        if len(self._known) > self._capacity:
            del self._known[next(iter(self._known))]

    def forget(self, user_id: UUID) -> None:
        self._known.pop(user_id, None)

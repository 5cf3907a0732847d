"""At most once on CardTrader's increment, which is not idempotent.

Every increment is recorded (`ProductWrite`, in its operation) before it is sent, with the
quantity read just before it under the product's write lock. When its answer is lost, the
product is read again and `increment_landed` decides from that quantity and the changes known
to have happened meanwhile: our own later writes to the product (certain once answered,
uncertain while their own answer is lost) and the orders applied through webhooks since the
read (uncertain: their sale may or may not already be in the quantity read). The increment is
sent again only when "not applied" is the one explanation that fits; when both or neither
fit, it is not sent again (`None`).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

MAX_UNCERTAIN = 12  # more uncertain changes than this in one window: undetermined


class WriteState(enum.StrEnum):
    SENT = "sent"  # sent, answer not (yet) seen
    CONFIRMED = "confirmed"  # CardTrader answered: applied
    LANDED = "landed"  # answer lost; the quantity read afterwards shows it applied
    NOT_LANDED = "not_landed"  # answer lost; it was not applied (it may be sent afresh)


@dataclass(frozen=True)
class ProductWrite:
    """One increment of a CardTrader product, as its operation's metadata records it."""

    product_id: str
    delta: int
    expected_before: int  # CardTrader's quantity, read under the lock just before sending
    read_at: datetime
    state: WriteState = WriteState.SENT

    @property
    def applied(self) -> bool:
        return self.state in (WriteState.CONFIRMED, WriteState.LANDED)

    def to_dict(self) -> dict[str, Any]:
        return {
            "product": self.product_id,
            "delta": self.delta,
            "expected_before": self.expected_before,
            "read_at": self.read_at.isoformat(),
            "state": self.state.value,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> ProductWrite:
        return cls(
            str(raw["product"]),
            int(raw["delta"]),
            int(raw["expected_before"]),
            datetime.fromisoformat(str(raw["read_at"])),
            WriteState(raw.get("state", WriteState.SENT.value)),
        )

    def settled(self, state: WriteState) -> ProductWrite:
        return replace(self, state=state)


@dataclass(frozen=True)
class KnownChanges:
    """What else changed the product between a write's read and the read that settles it."""

    certain: int = 0
    uncertain: tuple[int, ...] = ()


def known_changes(
    write: ProductWrite, later_writes: Iterable[ProductWrite], order_deltas: Iterable[int]
) -> KnownChanges:
    """Our writes read after `write` (under the lock, so after it was sent) and the orders
    applied since its read. A write read earlier finished before this one was read (the lock):
    its effect is in `expected_before` already."""
    certain, uncertain = 0, []
    for other in later_writes:
        if other.read_at <= write.read_at or other.state is WriteState.NOT_LANDED:
            continue
        if other.applied:
            certain += other.delta
        else:
            uncertain.append(other.delta)
    uncertain += [d for d in order_deltas if d]
    return KnownChanges(certain, tuple(uncertain))


def increment_landed(write: ProductWrite, observed: int | None, known: KnownChanges) -> bool | None:
    """Was `write` applied, given the quantity now (`None`: the product is gone, which
    CardTrader does when a quantity reaches 0 or less)? None when it cannot be told."""
    sums = _subset_sums(known.uncertain)
    if sums is None:
        return None
    base = write.expected_before + known.certain

    def fits(applied_delta: int) -> bool:
        if observed is None:
            return any(base + applied_delta + s <= 0 for s in sums)
        return observed - base - applied_delta in sums

    landed, not_landed = fits(write.delta), fits(0)
    return landed if landed != not_landed else None


def _subset_sums(values: Sequence[int]) -> set[int] | None:
    if len(values) > MAX_UNCERTAIN:
        return None
    sums = {0}
    for value in values:
        sums |= {s + value for s in sums}
    return sums

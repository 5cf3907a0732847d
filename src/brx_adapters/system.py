"""The real clock and id source: the only places the service reads time or makes ids, so the
domain stays deterministic and tests can swap in `FakeClock` / `SequentialIds`."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime


class SystemClock:
    """`Clock` on the wall clock, always timezone-aware UTC (TIMESTAMPTZ columns expect it)."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class UuidIds:
    """`IdSource` of random uuid4 strings: unguessable task ids, so they reveal nothing."""

    def new_id(self) -> str:
        return str(uuid.uuid4())


__all__ = ["SystemClock", "UuidIds"]

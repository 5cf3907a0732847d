"""The real clock and id source."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from brx_adapters.system import SystemClock, UuidIds


def test_system_clock_is_utc_aware_and_current() -> None:
    now = SystemClock().now()

    assert now.tzinfo is not None
    assert now.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - now) < timedelta(seconds=5)


def test_uuid_ids_are_distinct_version_4_uuids() -> None:
    ids = UuidIds()

    made = {ids.new_id() for _ in range(100)}

    assert len(made) == 100
    assert all(uuid.UUID(value).version == 4 for value in made)

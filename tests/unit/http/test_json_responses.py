"""The API's JSON responses: orjson on the hot path, the same JSON when orjson refuses a value."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from uuid import UUID

from brx_app.http.app import _dumps


def test_datetimes_are_written_as_isoformat_would() -> None:
    moment = datetime(2026, 11, 27, 19, 40, 39, 123456, tzinfo=UTC)

    written = json.loads(_dumps({"at": moment, "whole": moment.replace(microsecond=0)}))

    assert written == {"at": moment.isoformat(), "whole": moment.replace(microsecond=0).isoformat()}


def test_an_integer_beyond_64_bits_is_still_written_exactly() -> None:
    huge = 2**70 + 1

    written = json.loads(_dumps({"n": huge, "id": UUID(int=7), "at": datetime(2026, 1, 1)}))

    assert written == {"n": huge, "id": str(UUID(int=7)), "at": "2026-01-01T00:00:00"}

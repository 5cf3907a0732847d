"""The repository contracts (the same suite the in-memory adapter passes), against the real
Postgres adapter on this session's random, migrated database."""

from __future__ import annotations

import pytest

from tests.contracts.repositories import *  # noqa: F403

pytestmark = pytest.mark.integration

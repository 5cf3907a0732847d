"""The repository contracts, run against the in-memory adapter."""

from __future__ import annotations

import pytest

from brx_adapters.memory import MemoryStore, MemoryUnitOfWorkFactory
from brx_domain.ports import UnitOfWorkFactory
from tests.contracts.repositories import *  # noqa: F403


@pytest.fixture
def uow_factory() -> UnitOfWorkFactory:
    return MemoryUnitOfWorkFactory(MemoryStore())

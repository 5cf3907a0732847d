"""The marketplace contract, run against the fake CardTrader."""

from __future__ import annotations

import pytest

from brx_adapters.memory import MemoryMarketplace
from brx_domain.ports import Marketplace
from tests.contracts.marketplace import *  # noqa: F403


@pytest.fixture
def marketplace() -> Marketplace:
    return MemoryMarketplace()

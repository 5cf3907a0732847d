"""The marketplace contract, run against the CardTrader client over an in-memory CardTrader."""

from __future__ import annotations

import pytest

from brx_domain.ports import Marketplace
from tests.contracts.marketplace import *  # noqa: F403
from tests.unit.test_cardtrader_fakes import TOKEN, harness


@pytest.fixture
def marketplace() -> Marketplace:
    return harness().gateway.for_token(TOKEN)

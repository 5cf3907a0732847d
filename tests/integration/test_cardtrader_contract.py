"""The marketplace contract, run against the CardTrader client talking to the sandbox."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis

from brx_adapters.cardtrader import CardTraderGateway
from brx_adapters.redis import RedisRateLimiter
from brx_domain.ports import Marketplace
from tests.contracts.marketplace import *  # noqa: F403

pytestmark = pytest.mark.integration


@pytest.fixture
def free_blueprint_id() -> int:
    """A Magic single of the sandbox catalogue (blueprint number i with i % 20 < 14)."""
    number = random.randrange(0, 2000) * 20 + random.randrange(0, 14)
    return 16 + 7 * number


@pytest.fixture
async def marketplace(
    sandbox_factory: Any, redis_url: str, redis_prefix: str
) -> AsyncIterator[Marketplace]:
    sandbox = sandbox_factory(products=0, tokens=["contract-token"], seed=3)
    redis: aioredis.Redis[Any] = aioredis.Redis.from_url(redis_url)
    async with httpx.AsyncClient(timeout=10.0) as http:
        gateway = CardTraderGateway(
            http,
            base_url=sandbox.base_url,
            limiter=RedisRateLimiter(redis, prefix=redis_prefix),
        )
        yield gateway.for_token(sandbox.token)
    await redis.aclose()

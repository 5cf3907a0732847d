"""Property-based fuzzing of the API from its own /openapi.json: whatever schemathesis sends,
the answer is never a 5xx, always the documented status and shape.

Runs over the in-memory wiring with a real RS256 token (tests/fuzz/cases.py: the checks, and
half the cases aimed at the token's own user); the reliability suite runs the same over the
deployed service."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings

from brx_app.commands.keys import generate_rsa_pem
from brx_app.commands.token import mint_access_token
from brx_app.http import create_app
from tests.fuzz.cases import CHECKS, aim, bearer
from tests.unit.http.conftest import CT_TOKEN, build_api

PRIVATE, PUBLIC = generate_rsa_pem()
CONTAINER, (CLOCK, GATEWAY) = build_api(PRIVATE, PUBLIC, RATE_LIMIT_REQUESTS="1000000000")
GATEWAY.add_account(CT_TOKEN)
USER = uuid.uuid4()
TOKEN = mint_access_token(PRIVATE, str(USER), admin=True, minutes=240)
APP = create_app(CONTAINER)


async def _seed() -> None:
    from brx_domain.inventory import InventoryItem
    from brx_domain.usecases.users import register_user

    await register_user(CONTAINER.ports(), USER, CT_TOKEN)
    async with CONTAINER.uow()() as uow:
        for n in range(1, 6):
            await uow.items.add(
                InventoryItem(0, USER, 100 + n, 10_000, 100, external_stock_id=str(n))
            )
        await uow.commit()


asyncio.run(_seed())
# The development test order asks the CardTrader sandbox over HTTP; this wiring has none, so its
# correct answer here is 503 (sandbox unreachable): not a fault to fuzz for.
schema = schemathesis.openapi.from_asgi("/openapi.json", APP).exclude(
    path_regex=r"/dev/test-order/"
)


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_makes_the_api_fail_or_break_its_contract(case: Any) -> None:
    aim(case, str(USER)).call_and_validate(headers=bearer(TOKEN), checks=CHECKS)

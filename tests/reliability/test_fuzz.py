"""schemathesis over the deployed service's own /openapi.json, with a real token: every operation
of the document (the development test order included: the sandbox is there to take it), a
bounded number of generated cases each, sent over HTTP to `brx-sync serve`; the checks and the
aiming at the token's user are those of tests/fuzz."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from brx_app.commands.token import mint_access_token
from tests.fuzz.cases import CHECKS, aim, bearer
from tests.reliability.report import Finding
from tests.reliability.stack import PRIVATE_PEM, Shop, Stack

EXAMPLES = 100  # per operation: the whole document in about a minute on a loaded machine
RUN = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.generate],  # no shrinking against a live server: bounded
    database=None,
)


async def _shop(stack: Stack) -> Shop:
    async with stack.client() as http:
        return await stack.new_shop(http)


def _fuzz(operation: Any, shop: Shop, token: str, statuses: Counter[int]) -> None:
    @given(case=st.one_of(*(operation.as_strategy(mode) for mode in GenerationMode)))
    @RUN
    def one(case: Any) -> None:
        aim(case, shop.user_id)
        response = case.call(headers=bearer(token), timeout=30)
        statuses[response.status_code] += 1
        case.validate_response(response, checks=CHECKS, headers=bearer(token))

    one()


def _summary(exc: BaseException) -> str:
    """The failing checks' titles (schemathesis groups them), else the error's first line."""
    found = getattr(exc, "exceptions", None)
    if found:
        return "; ".join(sorted({str(e).strip().splitlines()[0] for e in found}))[:300]
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]


def test_schemathesis_over_the_deployed_api_finds_no_5xx_and_no_answer_off_the_schema(
    stack: Stack, finding: Finding
) -> None:
    finding.describe(
        "schemathesis with a valid token",
        f"Every operation of the served /openapi.json, {EXAMPLES} generated cases each "
        "(schemathesis, no shrinking), with an operator access token of a synced shop, half "
        "the cases aimed at that shop's own user id, over HTTP to the deployed API",
        "no 5xx; every status, content type and body as the document says",
    )
    shop = asyncio.run(_shop(stack))
    token = mint_access_token(PRIVATE_PEM, shop.user_id, admin=True, minutes=60)
    schema = schemathesis.openapi.from_url(f"{stack.url}/openapi.json")
    statuses: Counter[int] = Counter()
    failures: dict[str, str] = {}
    started = time.monotonic()
    operations = [result.ok() for result in schema.get_all_operations()]
    for operation in operations:
        try:
            _fuzz(operation, shop, token, statuses)
        except (Exception, BaseExceptionGroup) as exc:  # schemathesis' FailureGroup is the latter
            failures[operation.label] = _summary(exc)
    finding.measure(
        operations=len(operations),
        cases=sum(statuses.values()),
        statuses=dict(sorted(statuses.items())),
        answered_5xx=sum(n for status, n in statuses.items() if status >= 500),
        failing=failures or 0,
        seconds=time.monotonic() - started,
    )
    assert not failures, failures
    assert sum(statuses.values()) >= len(operations) * 2  # the fuzzer really ran

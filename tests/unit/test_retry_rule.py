"""The one retry rule: the error says whether to retry, `backoff` how long to wait, the
horizon when to stop."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from brx_domain.errors import (
    Conflict,
    DependencyUnavailable,
    DomainError,
    InvalidInput,
    MarketplaceNotFound,
    MarketplaceRateLimited,
    MarketplaceUnauthorized,
    MarketplaceUnavailable,
    MarketplaceValidation,
    NotFound,
    SyncInProgress,
)
from brx_domain.retry import RetryRule, backoff

TRANSIENT: list[DomainError] = [
    DependencyUnavailable("the card catalogue is unavailable"),
    MarketplaceRateLimited("429", retry_after=3),
    MarketplaceUnavailable("CardTrader answered 503"),
]
PERMANENT: list[BaseException] = [
    InvalidInput("quantity", "must be >= 0"),
    NotFound("gone"),
    Conflict("no"),
    SyncInProgress("busy"),
    MarketplaceValidation("bad"),
    MarketplaceNotFound("gone"),
    MarketplaceUnauthorized("token"),
    LookupError("unknown job"),
    TypeError("a bug"),
]
rules = st.builds(
    RetryRule,
    base=st.floats(0.01, 10),
    cap=st.floats(10, 600),
    horizon=st.floats(1, 86_400),
)
jitters = st.floats(0, 0.999)


@pytest.mark.parametrize("error", TRANSIENT, ids=lambda e: type(e).__name__)
def test_outages_and_rate_limits_are_transient(error: DomainError) -> None:
    assert error.transient is True
    assert RetryRule().next_delay(error, 1, 0.0) is not None


@pytest.mark.parametrize("error", PERMANENT, ids=lambda e: type(e).__name__)
def test_bad_input_not_found_conflicts_and_bugs_give_up_at_once(error: BaseException) -> None:
    assert RetryRule().next_delay(error, 1, 0.0) is None


@given(attempt=st.integers(1, 10_000), base=st.floats(0.01, 10), cap=st.floats(10, 600),
       jitter=jitters)  # fmt: skip
def test_backoff_doubles_up_to_its_cap_with_at_most_a_fifth_of_jitter(
    attempt: int, base: float, cap: float, jitter: float
) -> None:
    step = min(cap, base * 2.0 ** min(attempt - 1, 60))

    delay = backoff(attempt, base=base, cap=cap, jitter=lambda: jitter)

    assert step <= delay <= step * 1.2
    assert backoff(attempt + 1, base=base, cap=cap, jitter=lambda: 0.0) >= step


@given(attempt=st.integers(1, 50), retry_after=st.floats(0, 3600), jitter=jitters)
def test_a_known_retry_after_is_waited_for_in_full(
    attempt: int, retry_after: float, jitter: float
) -> None:
    delay = backoff(attempt, base=2, cap=300, retry_after=retry_after, jitter=lambda: jitter)

    assert retry_after <= delay <= retry_after * 1.2


@given(rule=rules, attempt=st.integers(1, 1000), elapsed=st.floats(0, 100_000), jitter=jitters,
       error=st.sampled_from(TRANSIENT))  # fmt: skip
def test_a_transient_failure_is_retried_exactly_while_the_next_try_is_within_the_horizon(
    rule: RetryRule, attempt: int, elapsed: float, jitter: float, error: DomainError
) -> None:
    delay = rule.next_delay(error, attempt, elapsed, jitter=lambda: jitter)
    wait = backoff(
        attempt, base=rule.base, cap=rule.cap, retry_after=error.retry_after, jitter=lambda: jitter
    )

    if elapsed + wait <= rule.horizon:
        assert delay == wait
    else:
        assert delay is None


def test_the_number_of_tries_alone_never_ends_a_retry() -> None:
    rule = RetryRule(base=2, cap=300, horizon=6 * 3600)

    assert rule.next_delay(MarketplaceUnavailable("open circuit"), 10_000, 60.0) is not None

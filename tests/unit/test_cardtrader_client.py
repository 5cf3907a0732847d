"""The CardTrader client over httpx.MockTransport: every call of the port, errors and retries."""

from __future__ import annotations

import pytest

from brx_adapters.cardtrader import CircuitOpen, RetryPolicy
from brx_domain.errors import (
    MarketplaceError,
    MarketplaceNotFound,
    MarketplaceRateLimited,
    MarketplaceUnauthorized,
    MarketplaceUnavailable,
    MarketplaceValidation,
)
from brx_domain.inventory import Properties
from brx_domain.ports import ProductDraft
from tests.unit.test_cardtrader_fakes import TOKEN, FakeLimiter, Fault, harness, product


def draft(quantity: int = 2, **props: object) -> ProductDraft:
    properties = Properties.trusted({"condition": "Near Mint", "mtg_language": "it", **props})
    return ProductDraft(blueprint_id=16, quantity=quantity, price_cents=25, properties=properties)


async def test_info_returns_the_webhook_secret_and_ids() -> None:
    h = harness()

    info = await h.gateway.for_token(TOKEN).info()

    assert (info.id, info.user_id, info.shared_secret) == (1, 58213, "a" * 32)


async def test_every_request_carries_the_token_but_the_observer_never_sees_it() -> None:
    h = harness([product(1)])

    await h.gateway.for_token(TOKEN).update_product(1, draft())

    assert h.server.requests[0].headers["Authorization"] == f"Bearer {TOKEN}"
    assert [(endpoint, status) for endpoint, status, _ in h.observed] == [("/products/{id}", 200)]
    assert all(TOKEN not in key for key in h.limiter.keys)


async def test_update_reads_the_write_answer_shape_with_price_object_and_properties() -> None:
    h = harness([product(1, quantity=4)])

    updated = await h.gateway.for_token(TOKEN).update_product(1, draft(quantity=3))

    assert (updated.id, updated.quantity, updated.price_cents) == (1, 3, 25)
    assert updated.properties.condition == "Near Mint"
    assert updated.graded is False  # `graded: 0`


async def test_deleting_a_product_that_is_already_gone_is_not_an_error() -> None:
    h = harness([product(1)])
    market = h.gateway.for_token(TOKEN)

    first, second = await market.delete_product(1), await market.delete_product(1)

    assert (first, second) == (True, False)


async def test_a_rejected_token_raises_unauthorized_without_retrying() -> None:
    h = harness()
    h.server.faults.append(Fault("GET /info", "401"))

    with pytest.raises(MarketplaceUnauthorized):
        await h.gateway.for_token(TOKEN).info()
    assert h.server.count("GET /info") == 1


async def test_a_validation_error_carries_the_messages_of_each_field() -> None:
    h = harness([product(1)])
    body = {
        "error_code": "validation_error",
        "errors": {"quantity": ["must be greater than or equal to 0"]},
        "extra": {"message": "Validation failed"},
    }
    h.server.faults.append(Fault("PUT /products/1", "422", body=body))

    with pytest.raises(MarketplaceValidation) as caught:
        await h.gateway.for_token(TOKEN).update_product(1, draft(quantity=-1))
    assert caught.value.errors == {"quantity": ["must be greater than or equal to 0"]}


async def test_a_bare_429_is_retried_after_backoff_and_then_succeeds() -> None:
    h = harness([product(1)])
    h.server.faults += [Fault("PUT /products/1", "429"), Fault("PUT /products/1", "429")]

    updated = await h.gateway.for_token(TOKEN).update_product(1, draft(quantity=3))

    assert updated.quantity == 3
    assert h.server.count("PUT /products/1") == 3
    assert len(h.clock.sleeps) == 2


async def test_retry_after_in_seconds_is_honoured() -> None:
    h = harness([product(1)])
    h.server.faults.append(Fault("PUT /products/1", "429", {"Retry-After": "7"}))

    await h.gateway.for_token(TOKEN).update_product(1, draft())

    assert len(h.clock.sleeps) == 1 and 7.0 <= h.clock.sleeps[0] <= 7.0 * 1.2


async def test_retry_after_as_an_http_date_is_honoured() -> None:
    h = harness([product(1)])
    h.server.faults.append(
        Fault("PUT /products/1", "429", {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})
    )

    await h.gateway.for_token(TOKEN).update_product(1, draft())

    assert h.clock.sleeps == [0.0]  # a date in the past: try again at once


async def test_a_retry_after_beyond_the_time_budget_gives_up_with_rate_limited() -> None:
    h = harness([product(1)], policy=RetryPolicy(total=10))
    h.server.faults.append(Fault("PUT /products/1", "429", {"Retry-After": "3600"}))

    with pytest.raises(MarketplaceRateLimited) as caught:
        await h.gateway.for_token(TOKEN).update_product(1, draft())
    assert caught.value.retry_after == 3600


async def test_server_errors_and_dropped_connections_are_retried_for_idempotent_calls() -> None:
    h = harness([product(1)])
    h.server.faults += [
        Fault("PUT /products/1", "502"),
        Fault("PUT /products/1", "connect"),
        Fault("PUT /products/1", "read_timeout"),
    ]

    updated = await h.gateway.for_token(TOKEN).update_product(1, draft(quantity=3))

    assert updated.quantity == 3
    assert [status for _, status, _ in h.observed] == [502, None, None, 200]


async def test_retries_stop_within_the_total_time_budget() -> None:
    h = harness(
        [product(1)], policy=RetryPolicy(base=1, cap=4, total=20, max_attempts=100), threshold=1000
    )
    h.server.faults += [Fault("PUT /products/1", "503") for _ in range(100)]

    with pytest.raises(MarketplaceUnavailable):
        await h.gateway.for_token(TOKEN).update_product(1, draft())
    assert sum(h.clock.sleeps) <= 20


async def test_an_html_page_with_status_200_is_a_server_failure_not_a_product() -> None:
    h = harness([product(1)], policy=RetryPolicy(max_attempts=1))
    h.server.faults.append(Fault("GET /info", "html"))

    with pytest.raises(MarketplaceUnavailable):
        await h.gateway.for_token(TOKEN).info()


async def test_the_circuit_opens_after_consecutive_failures_and_then_fails_fast() -> None:
    h = harness([product(1)], policy=RetryPolicy(max_attempts=1), threshold=3)
    market = h.gateway.for_token(TOKEN)
    h.server.faults += [Fault("GET /info", "500") for _ in range(3)]
    for _ in range(3):
        with pytest.raises(MarketplaceUnavailable):
            await market.info()

    with pytest.raises(CircuitOpen):
        await market.info()
    assert h.server.count("GET /info") == 3


async def test_a_4xx_answer_does_not_count_towards_opening_the_circuit() -> None:
    h = harness([], policy=RetryPolicy(max_attempts=1), threshold=2)
    market = h.gateway.for_token(TOKEN)
    for _ in range(3):
        assert await market.delete_product(99) is False

    info = await market.info()

    assert info.id == 1


async def test_after_the_cool_down_one_probe_closes_the_circuit_again() -> None:
    h = harness([product(1)], policy=RetryPolicy(max_attempts=1), threshold=1)
    market = h.gateway.for_token(TOKEN)
    h.server.faults.append(Fault("GET /info", "500"))
    with pytest.raises(MarketplaceUnavailable):
        await market.info()

    h.clock.now += 31
    info = await market.info()

    assert info.id == 1 and h.gateway.breaker(TOKEN).state == "closed"


async def test_one_sick_token_does_not_open_the_circuit_of_another() -> None:
    h = harness([product(1)], policy=RetryPolicy(max_attempts=1), threshold=1)
    h.server.faults.append(Fault("GET /info", "500"))
    with pytest.raises(MarketplaceUnavailable):
        await h.gateway.for_token(TOKEN).info()

    info = await h.gateway.for_token("another-token").info()

    assert info.id == 1


async def test_a_denied_rate_limit_token_is_waited_for_not_failed() -> None:
    h = harness(limiter=FakeLimiter(deny=3, retry_after=0.5))

    await h.gateway.for_token(TOKEN).info()

    assert len(h.clock.sleeps) == 3 and all(0.5 <= s < 0.7 for s in h.clock.sleeps)
    assert h.waits == [("cardtrader_all", pytest.approx(sum(h.clock.sleeps)))]  # one per wait


async def test_a_granted_rate_limit_token_reports_no_wait() -> None:
    h = harness()

    await h.gateway.for_token(TOKEN).info()

    assert h.waits == [] and h.clock.sleeps == []


async def test_waiting_for_a_rate_limit_token_is_bounded() -> None:
    h = harness(limiter=FakeLimiter(deny=10_000, retry_after=5), policy=RetryPolicy(rate_wait=30))

    with pytest.raises(MarketplaceRateLimited):
        await h.gateway.for_token(TOKEN).info()
    assert h.server.requests == []


async def test_an_unknown_status_is_a_plain_marketplace_error() -> None:
    h = harness()
    h.server.faults.append(Fault("GET /info", "409"))

    with pytest.raises(MarketplaceError) as caught:
        await h.gateway.for_token(TOKEN).info()
    assert not caught.value.transient


async def test_updating_a_product_that_is_gone_raises_not_found() -> None:
    h = harness()

    with pytest.raises(MarketplaceNotFound):
        await h.gateway.for_token(TOKEN).update_product(5, draft())


async def test_a_probe_that_never_got_a_rate_slot_does_not_wedge_the_circuit() -> None:
    limiter = FakeLimiter()
    h = harness(limiter=limiter, policy=RetryPolicy(max_attempts=1, rate_wait=1), threshold=1)
    market = h.gateway.for_token(TOKEN)
    h.server.faults.append(Fault("GET /info", "500"))
    with pytest.raises(MarketplaceUnavailable):
        await market.info()
    h.clock.now += 31
    limiter.deny = 1_000
    with pytest.raises(MarketplaceRateLimited):
        await market.info()

    limiter.deny = 0
    info = await market.info()

    assert info.id == 1 and h.gateway.breaker(TOKEN).state == "closed"

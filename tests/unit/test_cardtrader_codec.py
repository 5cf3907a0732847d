"""CardTrader's shapes and quirks, decoded and encoded; its limits and breaker."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from brx_adapters.cardtrader import CircuitBreaker, Limit
from brx_adapters.cardtrader.codec import error_for, product_from, resource_of
from brx_adapters.cardtrader.policy import JOBS, MARKETPLACE, OVERALL, parse_retry_after
from brx_domain.errors import (
    MarketplaceNotFound,
    MarketplaceRateLimited,
    MarketplaceUnavailable,
    MarketplaceValidation,
)
from tests.unit.test_cardtrader_fakes import product


@pytest.mark.parametrize(
    ("raw", "expected"), [(None, None), (0, False), (False, False), (True, True), (1, True)]
)
def test_graded_null_zero_and_false_are_told_apart(raw: object, expected: bool | None) -> None:
    assert product_from(product(1, graded=raw)).graded is expected


def test_the_export_shape_and_the_write_shape_give_the_same_product() -> None:
    export = product(1, price_cents=30)
    written = {
        "id": 1,
        "blueprint_id": 16,
        "quantity": 4,
        "price": {"cents": 30},
        "properties": export["properties_hash"],
        "description": None,
        "user_data_field": "box 12",
        "graded": None,
        "name_en": "Tranquil Cove",
    }

    assert product_from(export) == product_from(written)


@pytest.mark.parametrize("shape", ["plain", "write"])
def test_the_card_and_expansion_names_are_read_from_either_shape(shape: str) -> None:
    raw = product(1, expansion={"id": 8, "code": "m20", "name_en": "Core Set 2020"})
    if shape == "write":  # the long path: `price {cents}` and `properties`
        raw["price"] = {"cents": raw.pop("price_cents")}
        raw["properties"] = raw.pop("properties_hash")

    decoded = product_from(raw)

    assert (decoded.card_name, decoded.expansion_name) == ("Tranquil Cove", "Core Set 2020")


@pytest.mark.parametrize("expansion", [None, "Core Set 2020", {"id": 8}, {"name_en": ""}])
def test_a_missing_or_odd_expansion_gives_no_expansion_name(expansion: object) -> None:
    decoded = product_from(product(1, name_en="", expansion=expansion))

    assert (decoded.card_name, decoded.expansion_name) == (None, None)


def test_an_empty_description_is_no_description() -> None:
    assert product_from(product(1, description="")).description is None


@pytest.mark.parametrize("warnings", [{}, [], {"properties": {"mtg_foil": ["ignored"]}}])
def test_a_write_answer_is_read_whatever_its_warnings_look_like(warnings: object) -> None:
    body = {
        "result": "ok",
        "warnings": warnings,
        "resource": {"id": 3, "blueprint_id": 16, "quantity": 1, "price": {"cents": 5}},
    }

    assert resource_of(httpx.Response(200, json=body)).price_cents == 5


def test_the_bare_429_body_becomes_rate_limited_with_its_retry_after() -> None:
    response = httpx.Response(
        429, json={"error": "Too many requests: max 200 requests per 10 seconds"}
    )

    error = error_for(response, "/products/export", 4.0)

    assert isinstance(error, MarketplaceRateLimited) and error.retry_after == 4.0
    assert "max 200 requests" in error.message


def test_an_html_error_page_still_maps_by_status() -> None:
    page = httpx.Response(404, text="<!DOCTYPE html><html>Not Found</html>")

    assert isinstance(error_for(page, "/products/{id}", None), MarketplaceNotFound)


def test_a_bare_errors_list_is_kept_under_base() -> None:
    response = httpx.Response(400, json={"errors": ["blueprint_id is missing"]})

    error = error_for(response, "/products", None)

    assert isinstance(error, MarketplaceValidation)
    assert error.errors == {"base": ["blueprint_id is missing"]}


def test_a_gateway_error_is_unavailable_and_transient() -> None:
    error = error_for(httpx.Response(504, text="<html>504</html>"), "/info", None)

    assert isinstance(error, MarketplaceUnavailable) and error.transient


def test_retry_after_reads_seconds_dates_and_ignores_nonsense() -> None:
    now = datetime(2024, 1, 1, 12, 0, 0, tzinfo=UTC)

    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("Mon, 01 Jan 2024 12:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


@pytest.mark.parametrize("limit", [OVERALL, JOBS, MARKETPLACE, Limit("x", 3, 2.0)])
def test_a_bucket_never_admits_more_than_the_limit_in_any_window(limit: Limit) -> None:
    burst, per_seconds = limit.bucket_shape()
    refill_per_window = burst / per_seconds * limit.window

    assert burst + refill_per_window <= max(limit.requests, burst + 1)
    if limit.requests > 1:
        assert burst + refill_per_window <= limit.requests


def test_a_half_open_breaker_lets_only_one_probe_through() -> None:
    now = [0.0]
    breaker = CircuitBreaker(threshold=1, cooldown=10, clock=lambda: now[0])
    breaker.record_failure()
    now[0] = 11

    first, second = breaker.allow(), breaker.allow()

    assert (first, second) == (True, False)


def test_a_failed_probe_opens_the_breaker_for_another_cool_down() -> None:
    now = [0.0]
    breaker = CircuitBreaker(threshold=3, cooldown=10, clock=lambda: now[0])
    for _ in range(3):
        breaker.record_failure()
    now[0] = 11
    breaker.allow()

    breaker.record_failure()

    assert breaker.state == "open" and breaker.retry_in() == 10


@pytest.mark.parametrize("graded", [None, 0, 1, False, True])
def test_the_plain_export_shape_reads_like_the_general_one(graded: object) -> None:
    raw = product(7, graded=graded, description="")
    general = dict(raw, id=str(raw["id"]))  # a string id takes the long way

    assert product_from(raw) == product_from(general)

"""Rate limits, the request log and injected faults."""

from __future__ import annotations

from email.utils import parsedate_to_datetime

from cardtrader_sandbox.limits import SandboxRateLimiter, retry_after_value
from tests.unit.test_sandbox_helpers import Sandbox


def test_two_hundred_requests_pass_and_the_next_one_waits_for_the_window() -> None:
    limiter = SandboxRateLimiter()

    accepted = [limiter.check("t", "/api/v2/info", i * 0.01) is None for i in range(200)]
    refused = limiter.check("t", "/api/v2/info", 2.5)
    later = limiter.check("t", "/api/v2/info", 10.01)

    assert all(accepted)
    assert refused is not None
    assert refused[0].message == "Too many requests: max 200 requests per 10 seconds"
    assert later is None


def test_marketplace_allows_ten_per_second_and_jobs_one() -> None:
    limiter = SandboxRateLimiter()

    market = [limiter.check("t", "/api/v2/marketplace/products", 0.0) for _ in range(11)]
    jobs = [limiter.check("t", "/api/v2/jobs/x", 0.0) for _ in range(2)]

    assert market[:10] == [None] * 10
    assert market[10] is not None
    assert jobs[0] is None
    assert jobs[1] is not None


def test_tokens_have_separate_windows() -> None:
    limiter = SandboxRateLimiter()
    for _ in range(200):
        limiter.check("a", "/api/v2/info", 0.0)

    assert limiter.check("b", "/api/v2/info", 0.0) is None


def test_retry_after_can_be_absent_seconds_or_an_http_date() -> None:
    assert retry_after_value("absent", 2.2, 0.0) is None
    assert retry_after_value("seconds", 2.2, 0.0) == "3"
    assert parsedate_to_datetime(retry_after_value("http-date", 2.2, 0.0) or "").year == 1970


def test_the_log_records_token_hash_path_and_status_but_never_the_token() -> None:
    sb = Sandbox()
    sb.call("GET", "/info")
    sb.call("GET", "/info", token="wrong")

    entries = sb.control("GET", "/requests").json

    assert [e["status"] for e in entries] == [200, 401]
    assert entries[0]["path"] == "/api/v2/info"
    assert "t1" not in str(entries)


def test_the_summary_counts_the_busiest_window() -> None:
    sb = Sandbox()
    for _ in range(5):
        sb.call("GET", "/info")

    summary = sb.control("GET", "/requests", params={"summary": "1"}).json

    assert summary["count"] == 5
    assert summary["max_in_10s"] == 5
    assert summary["statuses"] == {"200": 5}


def test_fail_next_gives_server_errors_then_recovers() -> None:
    sb = Sandbox()
    sb.control("POST", "/faults", json={"fail_next": 2})

    statuses = [sb.call("GET", "/info").status_code for _ in range(3)]

    assert all(s in (500, 502) for s in statuses[:2])
    assert statuses[2] == 200


def test_control_endpoints_ignore_faults_and_rate_limits() -> None:
    sb = Sandbox(error_rate=1.0)

    assert sb.control("GET", "/state").status_code == 200


def test_unknown_fault_option_is_refused() -> None:
    answer = Sandbox().control("POST", "/faults", json={"explode": True})

    assert answer.status_code == 422


def test_mutations_change_the_exported_stock() -> None:
    sb = Sandbox(products=100)
    before = {p["id"]: p for p in sb.export()}

    changed = sb.control(
        "POST", "/mutate", json={"change_quantity": 3, "change_price": 2, "delete": 4, "add": 5}
    ).json

    after = {p["id"]: p for p in sb.export()}
    assert len(after) == 101
    assert all(after[i]["quantity"] > before[i]["quantity"] for i in changed["quantity_changed"])
    assert all(after[i]["price_cents"] > before[i]["price_cents"] for i in changed["price_changed"])
    assert not set(changed["deleted"]) & set(after)
    assert set(changed["added"]) <= set(after)


def test_state_never_shows_tokens_or_secrets() -> None:
    sb = Sandbox()

    text = str(sb.control("GET", "/state").json)

    assert "t1" not in text.replace("token_hash", "")
    assert sb.state.sellers["t1"].shared_secret not in text

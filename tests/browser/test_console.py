"""The console in a real browser against the demo stack: the operator's whole flow, and what it
says when things go wrong. Screenshots of the main screens land in docs/screenshots/."""

from __future__ import annotations

import re
import time
from typing import Any

from brx_domain.inventory import CONDITIONS, LANGUAGES
from tests.browser.conftest import RETRY_HORIZON_SECONDS, Stack, shot


def sign_in(page: Any, stack: Stack, token: str | None = None) -> None:
    page.goto(f"{stack.api_url}/console")
    page.fill("#token", token or stack.token)
    page.click("#signin-form button[type=submit]")


def notice(page: Any, text: str) -> Any:
    found = page.locator(".notice", has_text=text).last
    found.wait_for()
    return found


def synced(page: Any, stack: Stack) -> None:
    """Signed in, with the bulk sync run to completion from the console."""
    sign_in(page, stack)
    page.locator("#sync").wait_for()
    page.click("#start")
    notice(page, "Sync finished")


def open_card(page: Any, stack: Stack, name: str) -> None:
    page.click("nav button[data-tab=inventory]")
    page.fill("#f-q", name)
    page.click("#filters button[type=submit]")
    page.locator("#items tbody tr.clickable", has_text=name).first.click()
    page.locator("#item").wait_for()


def a_listed_card(stack: Stack, **query: Any) -> dict[str, Any]:
    page = stack.api("GET", f"inventory/{stack.user_id}", params={"limit": 50, **query}).json()
    return next(i for i in page["items"] if i["external_stock_id"] and i["quantity"] >= 2)


def test_a_shop_operator_syncs_finds_edits_and_sells_a_card(page: Any, stack: Stack) -> None:
    page.goto(f"{stack.api_url}/console")
    shot(page, "signin")
    sign_in(page, stack)
    page.locator("#who-text", has_text=stack.user_id).wait_for()
    assert "operator: no" in page.inner_text("#who-text")

    page.click("#start")
    notice(page, "Sync finished")
    assert page.get_attribute("#progress", "value") == "100"
    counts = page.inner_text("#progress-counts")
    assert re.search(r"created\s+\d+", counts) and "skipped" in counts
    shot(page, "sync")

    card = a_listed_card(stack)
    page.click("nav button[data-tab=inventory]")
    conditions = page.locator("#f-condition option").evaluate_all("os => os.map(o => o.value)")
    languages = page.locator("#i-language option").evaluate_all("os => os.map(o => o.value)")
    assert (conditions, languages) == (["", *CONDITIONS], ["", *LANGUAGES])  # from /openapi.json
    page.fill("#f-q", card["card_name"].lower())
    page.click("#filters button[type=submit]")
    row = page.locator("#items tbody tr.clickable", has_text=card["card_name"]).first
    row.wait_for()
    assert card["expansion_name"] in row.inner_text()
    shot(page, "inventory")

    row.click()
    page.fill("#i-quantity", str(card["quantity"] + 3))
    page.fill("#i-price", "12,34")
    page.click("#item-form button[type=submit]")
    notice(page, "Saved here. CardTrader update queued")
    page.fill("#buy-quantity", "1")
    page.click("#buy")
    notice(page, f"Sold 1; {card['quantity'] + 2} left here")

    history = page.locator("#history tbody")
    history.locator("tr", has_text="sale on the shop's site").wait_for()
    assert "edit here" in history.inner_text()
    assert "+3" in history.inner_text() and "-1" in history.inner_text()
    after = stack.api("GET", f"inventory/{stack.user_id}", params={"q": card["card_name"]})
    stored = next(i for i in after.json()["items"] if i["id"] == card["id"])
    assert (stored["price_cents"], stored["quantity"]) == (1234, card["quantity"] + 2)
    shot(page, "item")


def test_a_failed_push_shows_in_what_went_wrong_and_its_retry_lands(
    page: Any, stack: Stack
) -> None:
    synced(page, stack)
    card = a_listed_card(stack)
    assert stack.cardtrader_price_cents(card) != 999
    stack.sandbox("faults", {"error_rate": 1.0})  # CardTrader answers every call with a 500
    try:
        open_card(page, stack, card["card_name"])
        page.fill("#i-price", "9,99")
        page.click("#item-form button[type=submit]")
        notice(page, "CardTrader update queued")
        page.click("nav button[data-tab=problems]")
        row = page.locator(f"#problem-list tbody tr[data-item='{card['id']}']")
        failed = row.filter(has=page.locator("td.state-failed"))
        deadline = time.monotonic() + RETRY_HORIZON_SECONDS + 60  # the horizon, then some
        while not failed.is_visible() and time.monotonic() < deadline:
            page.wait_for_timeout(1000)
            page.click("#problems-refresh")
        assert failed.is_visible(), "the push did not end failed past the retry horizon"
        assert "update on CardTrader" in failed.inner_text()  # what it was, in words
        assert "answered 500" in failed.inner_text()  # the last error says what failed
        shot(page, "problems")
    finally:
        stack.sandbox("reset", {})  # CardTrader is back

    failed.get_by_role("button", name="Retry").click()

    notice(page, "Retry queued")
    row.locator("text=retry of").wait_for()  # the failure is now listed as its retry
    landed = page.locator(".notice", has_text="The retry landed").last
    landed.wait_for(timeout=(RETRY_HORIZON_SECONDS + 30) * 1000)  # waits out the breaker
    assert stack.cardtrader_price_cents(card) == 999
    page.locator("#problem-list tbody", has_text="Nothing is waiting or failed").wait_for()


def test_a_malformed_or_forged_token_is_refused_in_plain_words(page: Any, stack: Stack) -> None:
    sign_in(page, stack, "not-a-token")
    notice(page, "That is not an access token")

    forged = stack.token[:-4] + ("AAAA" if not stack.token.endswith("AAAA") else "BBBB")
    page.fill("#token", forged)
    page.click("#signin-form button[type=submit]")
    refused = notice(page, "The token was refused")

    assert re.search(r"trace id [0-9a-f]{8,}", refused.inner_text())
    assert page.is_visible("#signin") and not page.is_visible("#tabs")
    assert "[object Object]" not in page.inner_text("body")


def test_an_expired_token_says_so(page: Any, stack: Stack) -> None:
    sign_in(page, stack, stack.mint(minutes=-5))

    expired = notice(page, "The token has expired")

    assert "trace id" in expired.inner_text()
    assert page.is_visible("#signin")


def test_the_api_being_down_is_a_notice_not_a_blank_page(page: Any, stack: Stack) -> None:
    sign_in(page, stack)
    page.locator("#sync").wait_for()
    page.route("**/api/v1/**", lambda route: route.abort("connectionrefused"))

    page.click("nav button[data-tab=inventory]")

    notice(page, "The service cannot be reached")
    assert page.is_visible("#inventory")
    assert "{" not in page.inner_text("#notices")


def test_a_purchase_cardtrader_refuses_is_409_and_the_stock_is_corrected(
    page: Any, stack: Stack
) -> None:
    synced(page, stack)
    card = a_listed_card(stack)
    stack.sandbox(
        "orders",
        {
            "kind": "paid",
            "product_id": int(card["external_stock_id"]),
            "quantity": card["quantity"],
            "send_webhook": False,
        },
    )  # sold out on CardTrader behind the shop's back: the webhook never came
    open_card(page, stack, card["card_name"])

    page.click("#buy")

    notice(page, "Not sold")
    page.locator("#item-facts", has_text="Qty").wait_for()
    assert (
        stack.api("GET", f"inventory/{stack.user_id}/item/{card['id']}/history").json()["entries"][
            0
        ]["reason"]
        == "correction"
    )


def test_the_operator_screen_and_webhook_setup_in_italian(page: Any, stack: Stack) -> None:
    sign_in(page, stack, stack.mint(admin=True))
    page.locator("#who-text", has_text="operator: yes").wait_for()
    page.select_option("#lang", "it")
    page.locator("nav button[data-tab=operator]", has_text="Operatore").click()

    page.locator("#health tbody tr").first.wait_for()
    page.locator("#logs tbody tr").first.wait_for()
    assert "Chiamate a CardTrader" in page.inner_text("#ratelimit")
    assert "archivi in memoria" in page.inner_text("#health")  # the demo has no Postgres
    page.click("#operator-refresh")
    page.locator("#ratelimit", has_text="ogni 10 s, contro il limite").wait_for()  # the rate
    shot(page, "operator")

    page.click("nav button[data-tab=webhook]")
    page.locator("#webhook-url", has_text=f"/webhook/user/{stack.user_id}").wait_for()
    assert page.locator("#webhook-steps li").count() == 4
    page.click("#test-order")
    delivered = notice(page, "sul sandbox")
    assert "HTTP 200" in delivered.inner_text()
    shot(page, "webhook")


def test_a_sync_that_would_delete_most_of_the_stock_stops_says_why_and_force_runs_it(
    page: Any, stack: Stack
) -> None:
    """Last in this file: it leaves the seller with a quarter of the products."""
    synced(page, stack)
    before = stack.api("GET", f"inventory/{stack.user_id}", params={"limit": 1}).json()["total"]
    stack.sandbox("mutate", {"delete": 300})  # CardTrader lists a quarter of the products

    page.click("#start")

    notice(page, "The sync failed")
    guard = page.locator("#guard")
    guard.wait_for()
    found = re.search(rf"would delete (\d+) of {before} items", guard.inner_text())
    assert found and int(found[1]) > before // 2 and "“force”" in guard.inner_text()
    after = stack.api("GET", f"inventory/{stack.user_id}", params={"limit": 1}).json()["total"]
    assert after == before  # nothing was deleted
    while page.locator(".notice", has_text="Sync finished").count():
        page.wait_for_timeout(200)  # the first sync's notice may still be up (for 8 s)
    page.check("#force")
    page.click("#start")
    notice(page, "Sync finished")
    assert re.search(rf"deleted\s+{found[1]}\b", page.inner_text("#progress-counts"))
    assert not page.is_visible("#guard")

"""Never a 500, never HTML for an API error: every answer the suite received from the shared
stack, plus requests made to provoke the framework's own errors, checked at the end."""

from __future__ import annotations

import pytest

from tests.reliability.report import Finding
from tests.reliability.stack import API, Stack

PROBES = [
    ("GET", "/nowhere"),
    ("GET", f"{API}/nowhere"),
    ("DELETE", "/health/live"),
    ("PATCH", f"{API}/status/00000000-0000-4000-8000-000000000001"),
    ("POST", f"{API}/setup-test-user"),  # no body, no content type
    ("GET", "/health/live/%ff"),
    ("GET", f"{API}/inventory/00000000-0000-4000-8000-000000000001?limit=0"),
    ("GET", f"{API}/inventory/00000000-0000-4000-8000-000000000001?limit=abc"),
    ("OPTIONS", f"{API}/status/x"),
]


@pytest.mark.last  # reads what the other scenarios on the shared stack were answered
async def test_no_answer_is_a_500_or_an_html_error(stack: Stack, finding: Finding) -> None:
    finding.describe(
        "No HTML 500s",
        "Every answer of the shared stack's API during the whole suite, plus requests that "
        "reach the framework's own errors (unknown paths and methods, no body, bad query "
        "values, a bad percent-escape)",
        "no 500; every 4xx/5xx answer is JSON in the error shape "
        "(`{error: {code, message, details}, trace_id}`)",
    )
    async with stack.client() as http:
        for method, path in PROBES:
            await http.request(method, path, headers={"Content-Type": "text/plain"})
    errors = [a for a in stack.answers if a.status >= 400]
    server_errors = [a for a in stack.answers if a.status >= 500]
    unshaped = [a for a in errors if not a.error_shaped]
    html = [a for a in stack.answers if "html" in a.content_type and a.status >= 400]
    finding.measure(answers=len(stack.answers), error_answers=len(errors),
                    answered_500=sum(a.status == 500 for a in stack.answers),
                    other_5xx=len(server_errors), html_errors=len(html),
                    not_error_shaped=len(unshaped))  # fmt: skip
    assert len(stack.answers) > 500  # the other scenarios ran on this stack first
    assert not server_errors, server_errors[:10]
    assert not unshaped and not html, (unshaped + html)[:10]

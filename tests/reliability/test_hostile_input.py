"""Hand-made hostile input against the real server (uvicorn's parser, the API, real Postgres):
deep nesting, NUL characters, huge numbers, invalid UTF-8, giant headers, NULs in paths. Each
is a 4xx in the JSON error shape, naming the field where there is one, and changes nothing."""

from __future__ import annotations

import json
import time
import uuid

import httpx

from brx_domain.usecases.webhooks import sign
from tests.reliability.report import Finding
from tests.reliability.stack import API, Shop, Stack

DEEP = 100_000


def _edits() -> dict[str, tuple[bytes, str | None]]:
    """Raw PUT bodies for an item, and the field the answer must name (None: any)."""
    return {
        "NUL in description": (json.dumps({"description": "a\u0000b"}).encode(), "description"),
        "NUL in user_data_field": (json.dumps({"user_data_field": "\u0000"}).encode(),
                                   "user_data_field"),
        "NUL in a properties key": (json.dumps({"properties": {"k\u0000": 1}}).encode(),
                                    "properties"),
        "quantity 10**30": (b'{"quantity": 1000000000000000000000000000000}', "quantity"),
        "price 1e400": (b'{"price_cents": 1e400}', None),
        "NaN": (b'{"price_cents": NaN}', None),
        "lone surrogate": (b'{"description": "\\ud800"}', None),
        "invalid UTF-8": (b'{"description": "\xff\xfe"}', None),
        f"nested {DEEP} deep": (b'{"properties": ' + b"[" * DEEP + b"]" * DEEP + b"}", None),
        "not JSON": (b"{'quantity': 1", None),
    }  # fmt: skip


def _refusal(answer: httpx.Response, field: str | None) -> str | None:
    """What is wrong with this answer to hostile input (None: it is a proper refusal)."""
    if not 400 <= answer.status_code < 500:
        return f"status {answer.status_code}"
    if not answer.headers.get("content-type", "").startswith("application/json"):
        return f"content-type {answer.headers.get('content-type')}"
    error = answer.json().get("error", {})
    if not error.get("code") or "message" not in error:
        return f"not the error shape: {answer.text[:200]}"
    named = json.dumps(error.get("details")) + error["message"]
    if field is not None and field not in named:
        return f"does not name {field}: {answer.text[:200]}"
    return None


async def _pending_operations(stack: Stack, shop: Shop) -> int:
    count: int = await stack.scalar(
        "SELECT count(*) FROM sync_operations WHERE user_id = $1", uuid.UUID(shop.user_id)
    )
    return count


async def test_hostile_input_is_a_4xx_naming_the_field_with_nothing_changed(
    stack: Stack, finding: Finding
) -> None:
    finding.describe(
        "Hostile input",
        "Against the real server: item edits with NUL characters (description, "
        "user_data_field, a properties key), 10**30, 1e400, NaN, a lone surrogate, invalid "
        f"UTF-8, nesting {DEEP} deep, broken JSON; signed webhooks nested {DEEP} deep or with "
        "`data` 50,000 deep; NULs and junk in path ids; CardTrader tokens with non-ASCII, "
        "control characters or NUL; 64 KiB and 1 MiB headers",
        "every answer a 4xx in the JSON error shape naming the field where there is one; the "
        "item, its operations and the webhook deliveries unchanged; big headers never a 5xx",
    )
    problems: dict[str, str] = {}
    statuses: dict[str, int] = {}
    async with stack.client() as http:
        shop = await stack.new_shop(http)
        item = next(i for i in await stack.items(http, shop) if i["quantity"] > 0)
        operations = await _pending_operations(stack, shop)
        headers = {**shop.auth(), "Content-Type": "application/json"}

        async def check(name: str, answer: httpx.Response, field: str | None) -> None:
            statuses[name] = answer.status_code
            problem = _refusal(answer, field)
            if problem:
                problems[name] = problem

        item_path = f"{API}/inventory/{shop.user_id}/item/{item['id']}"
        for name, (body, field) in _edits().items():
            await check(name, await http.put(item_path, content=body, headers=headers), field)
        for name, body in _webhooks().items():
            signature = sign(body, stack.sandbox.shared_secrets[shop.token])
            answer = await http.post(
                f"{API}/webhook/user/{shop.user_id}", content=body,
                headers={"Signature": signature, "Content-Type": "application/json"},
            )  # fmt: skip
            await check(name, answer, None)
        for name, path in _paths(shop).items():
            await check(name, await http.get(API + path, headers=shop.auth()), None)
        for name, token in {"token non-ASCII": "tök", "token with a newline": "a\nb",
                            "token NUL": "\u0000"}.items():  # fmt: skip
            answer = await http.post(
                f"{API}/setup-test-user",
                json={"user_id": str(uuid.uuid4()), "cardtrader_token": token},
            )
            await check(name, answer, "cardtrader_token")
        for size in (64, 1024):  # a big header is no reason to refuse: no 5xx, server up
            giant = {**shop.auth(), "X-Filler": "x" * (size * 1024)}
            try:
                answer = await http.get(f"{API}/status/{shop.user_id}", headers=giant)
                statuses[f"{size} KiB header"] = answer.status_code
                if answer.status_code >= 500:
                    problems[f"{size} KiB header"] = f"status {answer.status_code}"
            except httpx.RemoteProtocolError:  # the server may refuse to read it at all
                statuses[f"{size} KiB header"] = 0
            alive = await http.get("/health/live")
            assert alive.status_code == 200
        after = await stack.item(http, shop, item["id"])
        operations_after = await _pending_operations(stack, shop)
        deliveries = await stack.scalar(
            "SELECT count(*) FROM webhook_deliveries WHERE user_id = $1", uuid.UUID(shop.user_id)
        )
    finding.measure(requests=len(statuses), statuses={s: list(statuses.values()).count(s)
                    for s in sorted(set(statuses.values()))}, problems=len(problems),
                    item_unchanged=after == item, operations_added=operations_after - operations,
                    deliveries_stored=deliveries)  # fmt: skip
    assert not problems, problems
    assert after == item and operations_after == operations and deliveries == 0


def _webhooks() -> dict[str, bytes]:
    now = int(time.time())
    envelope = (
        f'{{"id": "evt-deep", "time": {now}, "cause": "order.create", "object_class": "Order", '
        '"object_id": 1, "mode": "live", "data": '
    ).encode()
    return {
        f"webhook nested {DEEP} deep": b"[" * DEEP + b"]" * DEEP,
        "webhook data nested 50,000 deep": envelope + b'{"a": ' * 50_000 + b"1" + b"}" * 50_001,
        "webhook with NUL in data": envelope + b'{"id": 1, "state": "pa\\u0000id"}}',
    }


def _paths(shop: Shop) -> dict[str, str]:
    user = shop.user_id
    return {
        "GET /task/%00": "/task/%00",
        "GET /inventory/%00": "/inventory/%00",
        "GET /status/<NUL in a UUID>": f"/status/{user[:-1]}%00",
        "GET item/%00/history": f"/inventory/{user}/item/%00/history",
        "GET item/<10**30>/history": f"/inventory/{user}/item/{10**30}/history",
        "GET /task/<4 KiB>": "/task/" + "a" * 4096,
    }

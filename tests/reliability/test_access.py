"""Authentication and authorisation from outside: every forged or unfit token is refused, and
no path or id lets one shop read or change another's items, history, operations or tasks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import uuid
from typing import Any

import jwt

from brx_app.commands.keys import generate_rsa_pem
from tests.reliability.report import Finding
from tests.reliability.stack import API, PRIVATE_PEM, PUBLIC_PEM, Shop, Stack
from tests.unit.http.test_auth import _b64, _claims

OTHER_PRIVATE_PEM, _ = generate_rsa_pem()


def _hs256(header: dict[str, Any], claims: dict[str, Any], key: bytes) -> str:
    signing = f"{_b64(header)}.{_b64(claims)}"
    mac = hmac.new(key, signing.encode(), hashlib.sha256).digest()
    return f"{signing}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


def forged_tokens(user: uuid.UUID) -> dict[str, str]:
    """Every way a token must not get in, by name."""
    good = _claims(user)

    def rs256(key: bytes = PRIVATE_PEM, **changes: Any) -> str:
        claims = {k: v for k, v in {**good, **changes}.items() if v is not None}
        return jwt.encode(claims, key, algorithm="RS256")

    signed = rs256()
    head, body, sig = signed.split(".")
    tampered = _b64({**good, "sub": str(uuid.uuid4())})
    return {
        "alg none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(good)}.",
        "alg none, no dot": f"{_b64({'alg': 'none'})}.{_b64(good)}",
        "HS256 with the public key": _hs256({"alg": "HS256", "typ": "JWT"}, good, PUBLIC_PEM),
        "HS512 header, RS256 signature": f"{_b64({'alg': 'HS512'})}.{body}.{sig}",
        "expired": rs256(exp=int(time.time()) - 5),
        "no exp": jwt.encode({k: v for k, v in good.items() if k != "exp"}, PRIVATE_PEM, "RS256"),
        "type refresh": rs256(type="refresh"),
        "no type": jwt.encode({k: v for k, v in good.items() if k != "type"}, PRIVATE_PEM, "RS256"),
        "mfa_verified false": rs256(mfa_verified=False),
        'mfa_verified "true"': rs256(mfa_verified="true"),
        "no mfa_verified": jwt.encode(
            {k: v for k, v in good.items() if k != "mfa_verified"}, PRIVATE_PEM, "RS256"
        ),
        "signed by another key": rs256(OTHER_PRIVATE_PEM),
        "payload altered": f"{head}.{tampered}.{sig}",
        "signature cut": f"{head}.{body}.",
        "sub not a UUID": rs256(sub="admin"),
        "no sub": jwt.encode({k: v for k, v in good.items() if k != "sub"}, PRIVATE_PEM, "RS256"),
        "garbage": "not-a-jwt",
        "a bare base64 object": "e30",
        "two tokens": f"{signed} {signed}",
    }


async def test_forged_and_unfit_tokens_are_refused(stack: Stack, finding: Finding) -> None:
    finding.describe(
        "Forged tokens",
        "GET /inventory/{user} with each forged or unfit token (alg none, HS256 keyed with the "
        "public key, expired, no exp, wrong or no type, no MFA, another key, altered payload, "
        "…), then a valid token of another user",
        "401 for every forged one (JSON error shape), 403 for another user's valid token",
    )
    user = uuid.uuid4()
    other = Shop(str(uuid.uuid4()), "")
    async with stack.client() as http:
        statuses: dict[str, int] = {}
        for name, token in forged_tokens(user).items():
            answer = await http.get(
                f"{API}/inventory/{user}", headers={"Authorization": f"Bearer {token}"}
            )
            statuses[name] = answer.status_code
            assert answer.json()["error"]["code"] == "unauthorized", (name, answer.text)
        other_sub = await http.get(f"{API}/inventory/{user}", headers=other.auth())
    refused = sum(1 for s in statuses.values() if s == 401)
    finding.measure(
        forged=len(statuses), answered_401=refused, other_users_token=other_sub.status_code
    )
    assert statuses == dict.fromkeys(statuses, 401), statuses
    assert other_sub.status_code == 403


async def test_no_path_or_id_reaches_another_shops_data(stack: Stack, finding: Finding) -> None:
    finding.describe(
        "Cross-user access",
        "Shop A's valid token against shop B: B's paths (status, inventory, progress, "
        "operations, edit, purchase, delete, history), and B's item and task ids under A's own "
        "paths",
        "403 on B's paths, 404 for B's ids under A's paths; B's item unchanged",
    )
    async with stack.client() as http:
        a, b = await stack.new_shop(http), await stack.new_shop(http)
        b_item = next(i for i in await stack.items(http, b) if i["quantity"] > 0)
        b_task = (
            await http.post(f"{API}/sync-from-cardtrader/{b.user_id}", headers=b.auth())
        ).json()["task_id"]
        as_a = a.auth()
        theirs = {
            "GET status/B": ("GET", f"/status/{b.user_id}", None),
            "GET inventory/B": ("GET", f"/inventory/{b.user_id}", None),
            "GET progress/B": ("GET", f"/progress/{b.user_id}", None),
            "GET operations/B": ("GET", f"/operations/{b.user_id}", None),
            "PUT B's item": ("PUT", f"/inventory/{b.user_id}/item/{b_item['id']}", {"quantity": 0}),
            "POST purchase B's item": (
                "POST",
                f"/purchase/{b.user_id}/item/{b_item['id']}",
                {"purchaseQuantity": 1},
            ),
            "DELETE B's item": ("DELETE", f"/inventory/{b.user_id}/item/{b_item['id']}", None),
            "GET B's history": ("GET", f"/inventory/{b.user_id}/item/{b_item['id']}/history", None),
        }
        smuggled = {
            "PUT A/item/<B's id>": (
                "PUT",
                f"/inventory/{a.user_id}/item/{b_item['id']}",
                {"quantity": 0},
            ),
            "POST purchase A/item/<B's id>": (
                "POST",
                f"/purchase/{a.user_id}/item/{b_item['id']}",
                {"purchaseQuantity": 1},
            ),
            "DELETE A/item/<B's id>": (
                "DELETE",
                f"/inventory/{a.user_id}/item/{b_item['id']}",
                None,
            ),
            "GET A/item/<B's id>/history": (
                "GET",
                f"/inventory/{a.user_id}/item/{b_item['id']}/history",
                None,
            ),
            "GET task/<B's task>": ("GET", f"/task/{b_task}", None),
        }
        seen: dict[str, int] = {}
        for name, (method, path, body) in {**theirs, **smuggled}.items():
            answer = await http.request(method, API + path, json=body, headers=as_a)
            seen[name] = answer.status_code
        after = await stack.item(http, b, b_item["id"])
    finding.measure(
        requests=len(seen),
        answered_403=sum(s == 403 for s in seen.values()),
        answered_404=sum(s == 404 for s in seen.values()),
        b_item_quantity=f"{b_item['quantity']} -> {after['quantity']}",
    )
    operations_route = seen.pop("GET operations/B")
    assert operations_route in (403, 404)  # 404 while the route does not exist
    assert all(seen[name] == 403 for name in theirs if name in seen), seen
    assert all(seen[name] == 404 for name in smuggled), seen
    assert after == b_item

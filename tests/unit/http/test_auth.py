"""The JWT rules of the spec, each in a test that fails if the rule is broken."""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any

import jwt
import pytest
from falcon.testing import ASGIConductor

from brx_app.commands.keys import generate_rsa_pem
from brx_app.commands.token import mint_access_token
from brx_app.http import create_app
from tests.unit.http.conftest import Api, build_api


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _claims(user_id: uuid.UUID, **extra: Any) -> dict[str, Any]:
    now = int(time.time())
    return {
        "sub": str(user_id),
        "type": "access",
        "mfa_verified": True,
        "iat": now,
        "exp": now + 600,
        **extra,
    }


async def _status_with(api: Api, token: str) -> int:
    result = await api.conductor.simulate_get(
        f"/api/v1/sync/inventory/{api.user_id}", headers={"Authorization": f"Bearer {token}"}
    )
    return result.status_code


async def test_a_valid_access_token_reads_its_own_inventory(api: Api) -> None:
    assert await _status_with(api, api.token()) == 200


async def test_a_request_without_a_token_is_refused_with_401(api: Api) -> None:
    result = await api.conductor.simulate_get(f"/api/v1/sync/inventory/{api.user_id}")
    assert result.status_code == 401
    assert result.json["error"]["code"] == "unauthorized"
    assert result.headers["WWW-Authenticate"] == "Bearer"


async def test_alg_none_is_refused(api: Api) -> None:
    token = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims(api.user_id))}."
    assert await _status_with(api, token) == 401


async def test_hs256_signed_with_the_public_key_is_refused(
    api: Api, rsa_keys: tuple[bytes, bytes]
) -> None:
    header = _b64({"alg": "HS256", "typ": "JWT"})
    payload = _b64(_claims(api.user_id))
    import hashlib
    import hmac

    mac = hmac.new(rsa_keys[1], f"{header}.{payload}".encode(), hashlib.sha256).digest()
    token = f"{header}.{payload}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"
    assert await _status_with(api, token) == 401


async def test_an_expired_token_is_refused(api: Api) -> None:
    assert await _status_with(api, api.token(exp=int(time.time()) - 5)) == 401


async def test_a_token_without_exp_is_refused(api: Api) -> None:
    claims = _claims(api.user_id)
    del claims["exp"]
    assert await _status_with(api, jwt.encode(claims, api.private_pem, algorithm="RS256")) == 401


async def test_a_token_signed_by_another_key_is_refused(api: Api) -> None:
    other_private, _ = generate_rsa_pem()
    token = mint_access_token(other_private, str(api.user_id))
    assert await _status_with(api, token) == 401


@pytest.mark.parametrize(
    "override",
    [{"type": "refresh"}, {"mfa_verified": False}, {"mfa_verified": "true"}, {"sub": "nobody"}],
)
async def test_a_token_that_is_not_an_mfa_verified_access_token_is_refused(
    api: Api, override: dict[str, Any]
) -> None:
    assert await _status_with(api, api.token(**override)) == 401


async def test_issuer_and_audience_are_checked_when_configured(
    rsa_keys: tuple[bytes, bytes],
) -> None:
    private_pem, public_pem = rsa_keys
    container, _ = build_api(private_pem, public_pem, JWT_ISSUER="auth", JWT_AUDIENCE="brx")
    user = uuid.uuid4()
    path = f"/api/v1/sync/inventory/{user}"
    async with ASGIConductor(create_app(container)) as conductor:
        statuses = [
            (
                await conductor.simulate_get(
                    path,
                    headers={
                        "Authorization": "Bearer "
                        + mint_access_token(private_pem, str(user), issuer=iss, audience=aud)
                    },
                )
            ).status_code
            for iss, aud in [("auth", "brx"), ("evil", "brx"), ("auth", "other"), (None, None)]
        ]
    assert statuses == [200, 401, 401, 401]


async def test_a_path_user_that_is_not_the_callers_is_forbidden(api: Api) -> None:
    result = await api.conductor.simulate_get(
        f"/api/v1/sync/inventory/{uuid.uuid4()}", headers=api.auth()
    )
    assert result.status_code == 403
    assert result.json["error"]["code"] == "forbidden"


async def test_a_malformed_path_user_is_a_400_naming_user_id(api: Api) -> None:
    result = await api.conductor.simulate_get("/api/v1/sync/status/not-a-uuid", headers=api.auth())
    assert result.status_code == 400
    assert result.json["error"]["details"]["field"] == "user_id"


async def test_another_users_item_cannot_be_read_changed_deleted_or_bought(api: Api) -> None:
    other = uuid.uuid4()
    item_id = await api.add_item(5, user_id=other)
    base = f"/api/v1/sync/inventory/{api.user_id}/item/{item_id}"
    mine = api.auth()
    results = [
        await api.conductor.simulate_get(f"{base}/history", headers=mine),
        await api.conductor.simulate_put(base, headers=mine, json={"quantity": 0}),
        await api.conductor.simulate_delete(base, headers=mine),
        await api.conductor.simulate_post(
            f"/api/v1/sync/purchase/{api.user_id}/item/{item_id}",
            headers=mine,
            json={"purchaseQuantity": 1},
        ),
    ]
    assert [r.status_code for r in results] == [404, 404, 404, 404]
    assert api.store.items[item_id].quantity == 5


async def test_another_users_task_answers_404_like_a_missing_one(api: Api) -> None:
    other = uuid.uuid4()
    await api.register(other)
    started = await api.conductor.simulate_post(
        f"/api/v1/sync/start/{other}", headers=api.auth(other)
    )
    task_id = started.json["task_id"]
    theirs = await api.conductor.simulate_get(f"/api/v1/sync/task/{task_id}", headers=api.auth())
    missing = await api.conductor.simulate_get("/api/v1/sync/task/no-such", headers=api.auth())
    own = await api.conductor.simulate_get(f"/api/v1/sync/task/{task_id}", headers=api.auth(other))
    assert (theirs.status_code, missing.status_code, own.status_code) == (404, 404, 200)
    assert theirs.json["error"]["message"].replace(task_id, "X") == missing.json["error"][
        "message"
    ].replace("no-such", "X")


async def test_operator_endpoints_need_the_admin_claim(api: Api) -> None:
    plain = await api.conductor.simulate_get("/api/v1/sync/debug-logs", headers=api.auth())
    admin = await api.conductor.simulate_get(
        "/api/v1/sync/debug-logs", headers=api.auth(admin=True)
    )
    index = await api.conductor.simulate_post(
        "/api/v1/sync/migrate/composite-index", headers=api.auth(admin=True)
    )
    assert (plain.status_code, admin.status_code, index.status_code) == (403, 200, 200)
    assert index.json["index_name"] == "idx_inventory_user_blueprint_external"


async def test_setup_test_user_works_without_a_token_in_development(api: Api) -> None:
    result = await api.conductor.simulate_post(
        "/api/v1/sync/setup-test-user",
        json={"user_id": str(api.user_id), "cardtrader_token": "ct-token-of-the-shop"},
    )
    assert result.status_code == 200
    assert "ct-token-of-the-shop" not in result.text
    assert api.store.settings[api.user_id].webhook_secret_encrypted


@pytest.mark.parametrize("environment", ["production", "staging", "test"])
async def test_setup_test_user_does_not_exist_outside_development(
    rsa_keys: tuple[bytes, bytes], environment: str
) -> None:
    container, _ = build_api(
        *rsa_keys,
        ENVIRONMENT=environment,
        DATABASE_URL="postgresql+asyncpg://unused/x",
        REDIS_URL="redis://unused",
    )
    async with ASGIConductor(create_app(container)) as conductor:
        result = await conductor.simulate_post(
            "/api/v1/sync/setup-test-user",
            json={"user_id": str(uuid.uuid4()), "cardtrader_token": "x"},
        )
    assert result.status_code == 404


async def test_without_a_public_key_development_answers_503_on_protected_routes(
    rsa_keys: tuple[bytes, bytes],
) -> None:
    container, _ = build_api(rsa_keys[0], b"", JWT_PUBLIC_KEY=None)
    async with ASGIConductor(create_app(container)) as conductor:
        protected = await conductor.simulate_get(f"/api/v1/sync/status/{uuid.uuid4()}")
        live = await conductor.simulate_get("/health/live")
    assert (protected.status_code, live.status_code) == (503, 200)


def test_a_verified_token_is_refused_once_it_expires(
    rsa_keys: tuple[bytes, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    from brx_app.http import auth
    from brx_domain.errors import Unauthenticated

    verifier = auth.TokenVerifier(auth.load_public_key(rsa_keys[1].decode()))
    token = mint_access_token(rsa_keys[0], str(uuid.uuid4()), minutes=1)
    first = verifier.verify(f"Bearer {token}")
    later = time.time() + 120
    monkeypatch.setattr(auth.time, "time", lambda: later)
    with pytest.raises(Unauthenticated):
        verifier.verify(f"Bearer {token}")
    assert first.admin is False

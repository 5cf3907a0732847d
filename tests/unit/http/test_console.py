"""The console's files: served without a token, under a strict Content-Security-Policy, with
no inline script or style and no third-party origin; its dev helper exists only in development."""

from __future__ import annotations

import re

import pytest
from falcon.testing import ASGIConductor

from brx_app.http import create_app
from brx_app.http.resources.console import ASSETS, read_asset
from brx_domain.inventory import CONDITIONS, LANGUAGES
from tests.unit.http.conftest import Api, build_api


@pytest.mark.parametrize("path", ["/console", "/console/app.js", "/console/app.css"])
async def test_every_console_file_is_public_and_under_a_strict_policy(api: Api, path: str) -> None:
    result = await api.conductor.simulate_get(path)

    policy = dict(
        part.strip().split(" ", 1) for part in result.headers["content-security-policy"].split(";")
    )
    assert result.status_code == 200
    assert policy["default-src"] == policy["script-src"] == policy["style-src"] == "'self'"
    assert policy["connect-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'" and policy["object-src"] == "'none'"
    assert not any("unsafe" in value or "http" in value for value in policy.values())
    assert result.headers["x-content-type-options"] == "nosniff"
    assert "access-control-allow-origin" not in result.headers  # CORS unchanged: none configured


def test_the_page_has_no_inline_script_or_style_and_no_other_origin() -> None:
    html = read_asset("index.html").decode()
    every = "".join(read_asset(name).decode() for name in ASSETS)

    assert re.findall(r"<script[^>]*>", html) == ['<script src="/console/app.js" defer>']
    assert " style=" not in html and "<style" not in html
    assert re.findall(r"\son\w+=", html) == []  # no inline event handlers
    assert re.findall(r"https?://", every) == []  # nothing fetched from anywhere else
    script = read_asset("app.js").decode()
    assert not re.search(r"localStorage\s*[.\[]", script)  # the token never leaves the tab
    assert not re.search(r"\.(innerHTML|outerHTML)|insertAdjacentHTML|eval\(", script)


async def test_the_console_api_calls_still_need_a_token(api: Api) -> None:
    await api.register()

    refused = await api.conductor.simulate_get(f"/api/v1/sync/status/{api.user_id}")

    assert refused.status_code == 401


async def test_the_test_order_helper_exists_only_in_development(
    rsa_keys: tuple[bytes, bytes],
) -> None:
    private_pem, public_pem = rsa_keys
    container, _ = build_api(private_pem, public_pem, ENVIRONMENT="test")
    async with ASGIConductor(create_app(container)) as conductor:
        result = await conductor.simulate_post(
            "/api/v1/sync/dev/test-order/00000000-0000-0000-0000-000000000001", json={}
        )

    assert result.status_code == 404


async def test_the_condition_and_language_lists_come_from_the_api_document(api: Api) -> None:
    document = (await api.conductor.simulate_get("/openapi.json")).json
    inventory = document["paths"]["/api/v1/sync/inventory/{user_id}"]["get"]
    schemas = {p["name"]: p["schema"] for p in inventory["parameters"]}
    script = read_asset("app.js").decode()

    # the stored spellings come first, apart from the aliases, for a client to list
    assert schemas["condition"]["anyOf"][0]["enum"] == list(CONDITIONS)
    assert schemas["language"]["anyOf"][0]["enum"] == list(LANGUAGES)
    assert '"/openapi.json"' in script and "`${API}/inventory/{user_id}`" in script
    assert not [v for v in (*CONDITIONS, "zh-CN", "zh-TW") if f'"{v}"' in script]  # none copied

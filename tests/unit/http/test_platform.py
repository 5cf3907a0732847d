"""Cross-cutting behaviour: error shape, 500s that leak nothing, rate limit, request id, CORS,
health probes and metrics."""

from __future__ import annotations

import uuid
from typing import Any

import jsonschema_rs
from dependency_injector import providers
from falcon.testing import ASGIConductor

from brx_app.http import create_app
from brx_app.http.responses import ErrorBody
from brx_domain.ports import RateDecision
from tests.unit.http.conftest import Api, build_api


class BrokenUnitOfWork:
    """A `UnitOfWorkFactory` (the container checks the port) whose database is unreachable."""

    def __call__(self) -> Any:
        raise RuntimeError("connection to postgres://admin:hunter2@db failed")

    def prepare_import(self, products: Any) -> Any:
        return products


class DownLimiter:
    async def try_acquire(self, key: str, capacity: int, per_seconds: float) -> RateDecision:
        raise ConnectionError("redis is down")


async def test_an_unexpected_error_is_a_generic_500_with_a_trace_id_and_no_details(
    rsa_keys: tuple[bytes, bytes],
) -> None:
    container, _ = build_api(*rsa_keys)
    container.uow.override(providers.Object(BrokenUnitOfWork()))
    user = uuid.uuid4()
    from brx_app.commands.token import mint_access_token

    token = mint_access_token(rsa_keys[0], str(user))
    async with ASGIConductor(create_app(container)) as conductor:
        result = await conductor.simulate_get(
            f"/api/v1/sync/status/{user}", headers={"Authorization": f"Bearer {token}"}
        )
    assert result.status_code == 500
    body = ErrorBody.model_validate(result.json)
    assert body.error.code == "internal_error"
    assert body.trace_id == result.headers["X-Request-ID"]
    assert "hunter2" not in result.text and "Traceback" not in result.text


async def test_errors_from_falcon_itself_use_the_one_shape(api: Api) -> None:
    missing = await api.conductor.simulate_get("/nowhere")
    wrong_method = await api.conductor.simulate_patch("/health/live")
    for result in (missing, wrong_method):
        ErrorBody.model_validate(result.json)
    assert (missing.status_code, wrong_method.status_code) == (404, 405)


async def test_a_client_request_id_is_echoed_and_a_missing_one_is_created(api: Api) -> None:
    given = await api.conductor.simulate_get("/health/live", headers={"X-Request-ID": "abc-123"})
    created = await api.conductor.simulate_get("/health/live")
    assert given.headers["X-Request-ID"] == "abc-123"
    assert len(created.headers["X-Request-ID"]) == 32


async def test_the_rate_limit_answers_429_with_retry_after_and_counts_down(
    rsa_keys: tuple[bytes, bytes],
) -> None:
    container, _ = build_api(*rsa_keys, RATE_LIMIT_REQUESTS="3", RATE_LIMIT_WINDOW_SECONDS="60")
    user = uuid.uuid4()
    from brx_app.commands.token import mint_access_token

    headers = {"Authorization": f"Bearer {mint_access_token(rsa_keys[0], str(user))}"}
    async with ASGIConductor(create_app(container)) as conductor:
        results = [
            await conductor.simulate_get(f"/api/v1/sync/inventory/{user}", headers=headers)
            for _ in range(4)
        ]
        health = [await conductor.simulate_get("/health/live") for _ in range(5)]
    assert [r.status_code for r in results] == [200, 200, 200, 429]
    assert [r.headers["X-RateLimit-Remaining"] for r in results] == ["2", "1", "0", "0"]
    assert results[0].headers["X-RateLimit-Limit"] == "3"
    assert int(results[3].headers["Retry-After"]) >= 1
    assert results[3].json["error"]["code"] == "rate_limited"
    assert {r.status_code for r in health} == {200}


async def test_a_failing_rate_limiter_lets_requests_through_and_is_counted(
    rsa_keys: tuple[bytes, bytes],
) -> None:
    from brx_app import metrics
    from brx_app.commands.token import mint_access_token

    container, _ = build_api(*rsa_keys)
    container.rate_limiter.override(providers.Object(DownLimiter()))
    user = uuid.uuid4()
    before = metrics.RATE_LIMITER_ERRORS._value.get()
    headers = {"Authorization": f"Bearer {mint_access_token(rsa_keys[0], str(user))}"}
    async with ASGIConductor(create_app(container)) as conductor:
        result = await conductor.simulate_get(f"/api/v1/sync/inventory/{user}", headers=headers)
    assert result.status_code == 200
    assert metrics.RATE_LIMITER_ERRORS._value.get() == before + 1


async def test_cors_allows_only_configured_origins_with_credentials(
    rsa_keys: tuple[bytes, bytes],
) -> None:
    container, _ = build_api(*rsa_keys, ALLOWED_ORIGINS="https://shop.example")
    async with ASGIConductor(create_app(container)) as conductor:
        allowed = await conductor.simulate_get(
            "/health/live", headers={"Origin": "https://shop.example"}
        )
        other = await conductor.simulate_get("/health/live", headers={"Origin": "https://evil"})
        preflight = await conductor.simulate_options(
            f"/api/v1/sync/inventory/{uuid.uuid4()}",
            headers={
                "Origin": "https://shop.example",
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "Authorization",
            },
        )
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    assert allowed.headers["Access-Control-Allow-Credentials"] == "true"
    assert "Access-Control-Allow-Origin" not in other.headers
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://shop.example"


async def test_a_wildcard_origin_never_comes_with_credentials(
    rsa_keys: tuple[bytes, bytes],
) -> None:
    container, _ = build_api(*rsa_keys, ALLOWED_ORIGINS="*")
    async with ASGIConductor(create_app(container)) as conductor:
        result = await conductor.simulate_get("/health/live", headers={"Origin": "https://a"})
    assert result.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in result.headers


async def test_readiness_is_503_naming_the_dependency_that_is_down(
    rsa_keys: tuple[bytes, bytes],
) -> None:
    container, _ = build_api(*rsa_keys)

    async def fine() -> None:
        return None

    async def down() -> None:
        raise OSError("could not connect to mysql://root:pw@10.0.0.1")

    container.runtime().checks.update({"postgresql": fine, "redis": fine, "mysql": down})
    async with ASGIConductor(create_app(container)) as conductor:
        ready = await conductor.simulate_get("/health/ready")
        health = await conductor.simulate_get("/health")
        live = await conductor.simulate_get("/health/live")
    assert ready.status_code == 503
    assert ready.json["postgresql"]["status"] == "healthy"
    assert ready.json["mysql"] == {"status": "unhealthy", "message": "MySQL unavailable (OSError)"}
    assert "pw@" not in ready.text and "pw@" not in health.text
    assert health.json["dependencies"]["mysql"]["status"] == "unhealthy"
    assert live.status_code == 200


async def test_metrics_label_requests_by_route_template_never_by_user(api: Api) -> None:
    await api.conductor.simulate_get(f"/api/v1/sync/inventory/{api.user_id}", headers=api.auth())
    result = await api.conductor.simulate_get("/metrics")
    assert result.status_code == 200
    assert result.headers["Content-Type"].startswith("text/plain")
    assert 'route="/api/v1/sync/inventory/{user_id}"' in result.text
    assert str(api.user_id) not in result.text
    assert "brx_queue_depth" in result.text


async def test_a_probe_answering_503_is_the_body_the_document_describes(
    rsa_keys: tuple[bytes, bytes],
) -> None:
    container, _ = build_api(*rsa_keys)

    async def down() -> None:
        raise OSError("refused")

    container.runtime().checks["redis"] = down
    app = create_app(container)
    async with ASGIConductor(app) as conductor:
        document = (await conductor.simulate_get("/openapi.json")).json
        answers = {
            path: await conductor.simulate_get(path) for path in ("/health/ready", "/health")
        }
        container.runtime().stop_accepting()
        answers["stopping"] = await conductor.simulate_get("/health/ready")
    documents = {"stopping": "/health/ready"}
    for name, answer in answers.items():
        documented = document["paths"][documents.get(name, name)]["get"]["responses"]["503"]
        schema = documented["content"]["application/json"]["schema"]
        validator = jsonschema_rs.validator_for({**schema, "components": document["components"]})
        assert answer.status_code == 503
        assert validator.is_valid(answer.json), (name, answer.json)

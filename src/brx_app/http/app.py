"""`create_app(container)`: the Falcon ASGI application, its middleware, error handlers and
every route, each described once (the same table feeds the OpenAPI document)."""

from __future__ import annotations

import json
from datetime import date, datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any
from uuid import UUID

import falcon
import falcon.asgi
import falcon.media
import orjson

from brx_app.config import AppConfig
from brx_app.http import responses as r
from brx_app.http import schemas as s
from brx_app.http.auth import TokenVerifier
from brx_app.http.errors import register_error_handlers
from brx_app.http.middleware import (
    AuthMiddleware,
    LifespanMiddleware,
    RateLimitMiddleware,
    RequestContextMiddleware,
)
from brx_app.http.openapi import Op, Route, build_openapi
from brx_app.http.reference import annotate
from brx_app.http.resources import admin, console, docs, health, inventory, sync, webhooks
from brx_app.http.routes import PREFIX, account_routes
from brx_app.logs import RING

EXPOSED = ["X-Request-ID", "X-RateLimit-Limit", "X-RateLimit-Remaining", "Retry-After"]


def _version() -> str:
    try:
        return version("brx-sync")
    except PackageNotFoundError:
        return "0.0.0"


def api_routes(container: Any) -> list[Route]:
    """The `/api/v1/sync` routes (setup-test-user only in development)."""
    config: AppConfig = container.config()
    ports = container.ports()
    routes = [
        Route(
            f"{PREFIX}/start/{{user_id}}",
            sync.StartSync(ports),
            {
                "POST": Op(
                    "Start the bulk sync as a job",
                    r.Accepted,
                    202,
                    query=s.StartQuery,
                    errors=(404, 409),
                )
            },
        ),
        Route(
            f"{PREFIX}/status/{{user_id}}",
            sync.SyncStatus(ports),
            {"GET": Op("The user's sync status", r.SyncStatusOut, errors=(404,))},
        ),
        Route(
            f"{PREFIX}/progress/{{user_id}}",
            sync.Progress(ports),
            {"GET": Op("Progress of the user's latest bulk sync", r.ProgressOut, errors=(404,))},
        ),
        Route(
            f"{PREFIX}/task/{{task_id}}",
            sync.Task(ports),
            {"GET": Op("State of one of the caller's tasks", r.TaskOut, errors=(400, 404))},
        ),
        Route(
            f"{PREFIX}/sync-from-cardtrader/{{user_id}}",
            sync.SyncFromCardTrader(ports),
            {
                "POST": Op(
                    "Queue a reconciliation from CardTrader",
                    r.ReconcileAccepted,
                    202,
                    query=s.ReconcileQuery,
                    errors=(404,),
                )
            },
        ),
        Route(
            f"{PREFIX}/inventory/{{user_id}}",
            inventory.Inventory(ports),
            {
                "GET": Op(
                    "One page of the user's inventory, filtered and sorted",
                    r.InventoryOut,
                    query=s.InventoryQueryIn,
                )
            },
        ),
        Route(
            f"{PREFIX}/inventory/{{user_id}}/item/{{item_id}}",
            inventory.Item(ports),
            {
                "PUT": Op(
                    "Edit an item, then push it to CardTrader",
                    r.ItemUpdated,
                    body=s.ItemUpdate,
                    errors=(404,),
                ),
                "DELETE": Op("Delete an item here and on CardTrader", r.ItemDeleted, errors=(404,)),
            },
        ),
        Route(
            f"{PREFIX}/inventory/{{user_id}}/item/{{item_id}}/history",
            inventory.ItemHistory(ports),
            {
                "GET": Op(
                    "The item's stock ledger, newest first",
                    r.HistoryOut,
                    query=s.PageQuery,
                    errors=(404,),
                )
            },
        ),
        Route(
            f"{PREFIX}/purchase/{{user_id}}/item/{{item_id}}",
            inventory.Purchase(ports),
            {
                "POST": Op(
                    "Sell units from the shop's own site",
                    r.Purchased,
                    body=s.PurchaseRequest,
                    errors=(404, 409),
                )
            },
        ),
        Route(
            f"{PREFIX}/webhook/user/{{user_id}}",
            webhooks.Webhook(ports, config.webhook_max_body_bytes),
            {
                "POST": Op(
                    "CardTrader webhook receiver (Signature header, no JWT)",
                    r.WebhookAck,
                    body=s.WebhookEvent,
                    errors=(400, 401, 413),
                )
            },
        ),
        Route(
            f"{PREFIX}/webhook-url/{{user_id}}",
            webhooks.WebhookUrl(ports, config.public_base_url),
            {"GET": Op("The URL to give CardTrader for this user's webhooks", r.WebhookUrlOut)},
        ),
        Route(
            f"{PREFIX}/migrate/composite-index",
            admin.CompositeIndex(container.runtime().composite_index),
            {"POST": Op("Create the composite index (operator, idempotent)", r.CompositeIndexOut)},
        ),
        Route(
            f"{PREFIX}/debug-logs",
            admin.DebugLogs(RING),
            {
                "GET": Op(
                    "Recent log records of this process (operator)",
                    r.DebugLogsOut,
                    query=s.DebugLogsQuery,
                )
            },
        ),
    ]
    routes += account_routes(ports, config.public_base_url)
    if config.is_development:
        routes += console.development_routes(container, PREFIX)
        routes.append(
            Route(
                f"{PREFIX}/setup-test-user",
                admin.SetupTestUserResource(ports),
                {
                    "POST": Op(
                        "Create or replace a test user (development only)",
                        r.SetupDone,
                        body=s.SetupTestUser,
                        errors=(422, 502, 503),
                    )
                },
            )
        )
    return routes


def public_routes(container: Any) -> list[Route]:
    runtime, ports = container.runtime(), container.ports()
    config: AppConfig = container.config()
    return [
        *console.asset_routes(),
        *docs.routes(),
        Route("/health/live", health.Live(), {"GET": Op("Liveness (no I/O)", r.Alive)}),
        Route(
            "/health/ready",
            health.Ready(runtime.checks, lambda: runtime.stopping),
            {"GET": Op("Readiness: every dependency answers", r.ReadyOut, probe=True)},
        ),
        Route(
            "/health",
            health.Health(runtime.checks, runtime.details, ports.queue, config.environment.value),
            {"GET": Op("Detailed health", r.HealthOut, probe=True)},
        ),
        Route(
            "/metrics",
            health.Metrics(runtime),
            {"GET": Op("Prometheus metrics", None, content_type="text/plain")},
        ),
    ]


def _cors(config: AppConfig) -> list[Any]:
    """Only the configured origins; `*` never comes with credentials."""
    origins = config.origins
    if not origins:
        return []
    if "*" in origins:
        return [falcon.CORSMiddleware(allow_origins="*", expose_headers=EXPOSED)]
    return [
        falcon.CORSMiddleware(
            allow_origins=origins, allow_credentials=origins, expose_headers=EXPOSED
        )
    ]


def _dumps(value: Any) -> bytes:
    """orjson, except for what it refuses (an integer beyond 64 bits): the standard library
    then writes the same JSON, datetimes as isoformat() like orjson does."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:
        return json.dumps(value, ensure_ascii=False, default=_plain).encode()


def _plain(value: Any) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def use_orjson(app: falcon.asgi.App[Any, Any]) -> None:
    """orjson for JSON responses: a 100-item inventory page encodes about 15 times faster than
    with the standard library, and that encoding was a large share of the page's CPU. Request
    bodies keep the standard library (exact integers of any size)."""
    handler = falcon.media.JSONHandler(dumps=_dumps)
    app.resp_options.media_handlers[falcon.MEDIA_JSON] = handler


def create_app(container: Any) -> falcon.asgi.App[Any, Any]:
    """The API over `container` (built by `brx_app.container`, the one composition root)."""
    config: AppConfig = container.config()
    middleware: list[Any] = [
        RequestContextMiddleware(),
        *_cors(config),
        AuthMiddleware(TokenVerifier.from_config(config)),
        RateLimitMiddleware(
            container.rate_limiter(), config.rate_limit_requests, config.rate_limit_window_seconds
        ),
        LifespanMiddleware(container.runtime()),
    ]
    app = falcon.asgi.App(middleware=middleware)
    use_orjson(app)
    app.req_options.auto_parse_qs_csv = False
    app.req_options.strip_url_path_trailing_slash = True
    register_error_handlers(app)
    routes = api_routes(container) + public_routes(container)
    for route in routes:
        app.add_route(route.path, route.resource)
    document = annotate(build_openapi(routes, version=_version()))
    app.add_route("/openapi.json", health.OpenApi(document))
    return app

"""What the API reference (`/docs`) says beyond the schemas: tags, readable operation ids, a
description and an example per operation, and the webhook's `Signature` header.

Kept apart from the route table so the table stays about behaviour; `annotate` adds it to the
document `build_openapi` generates, and a test holds every operation to having it and every
example to validating against the operation's own pydantic models.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from brx_app.http.resources.admin import INDEX_COLUMNS, INDEX_NAME
from brx_app.http.resources.webhooks import INSTRUCTIONS

USER = "00000000-0000-4000-8000-000000000001"
TASK = "6f1c2a0e-4b7d-4a51-9c3e-2d8f0b9a7e11"
P = "/api/v1/sync"
TAGS = [
    {"name": "sync", "description": "Bulk import from CardTrader, reconciliation, progress."},
    {"name": "inventory", "description": "The shop's items: read, edit, delete, sell."},
    {"name": "webhooks", "description": "CardTrader's order webhooks (signed, no JWT)."},
    {
        "name": "account",
        "description": "The shop's CardTrader connection, and every operation run for it.",
    },
    {"name": "operator", "description": "Operator and development tools (admin claim)."},
    {"name": "health", "description": "Probes and metrics for the orchestrator (public)."},
    {"name": "pages", "description": "The operator console and this reference: static files."},
]
DESCRIPTION = """Keeps a card shop's inventory and its CardTrader listing the same.

**Authentication.** Every `/api/v1/sync` operation but the webhook needs an RS256 access token
(`Authorization: Bearer ...`) whose `sub` is the `user_id` of the path; operator operations need
the admin claim. Paste a token into *Authorize* to try them (`brx-sync demo` prints one).

**Errors** are `{"error": {"code", "message", "details"}, "trace_id"}`: 400 names the bad field,
429 carries `Retry-After`, 503 means a dependency is down. Writes to CardTrader run as queued jobs
whose `task_id` `GET /task/{task_id}` follows."""
ITEM = {
    "id": 42,
    "blueprint_id": 12345,
    "quantity": 3,
    "price_cents": 250,
    "properties": {"condition": "Near Mint", "mtg_language": "en", "mtg_foil": False},
    "external_stock_id": "987654321",
    "description": None,
    "user_data_field": None,
    "graded": None,
    "updated_at": "2026-11-27T19:40:39+00:00",
    "card_name": "Lightning Bolt",
    "expansion_name": "Magic 2010",
}


@dataclass(frozen=True)
class Doc:
    operation_id: str
    tag: str
    description: str
    example: Any = None  # the success response's JSON body (pages have none)
    request: Any = None  # the request body, where there is one


DOCS: dict[tuple[str, str], Doc] = {
    ("POST", f"{P}/start/{{user_id}}"): Doc(
        "startBulkSync",
        "sync",
        "Queues the import of everything the user lists on CardTrader. 409 while one runs.",
        {"status": "accepted", "task_id": TASK, "user_id": USER, "message": "Bulk sync queued"},
    ),
    ("GET", f"{P}/status/{{user_id}}"): Doc(
        "getSyncStatus",
        "sync",
        "The user's sync state: `idle`, `initial_sync`, `active` or `error`, with the last error.",
        {
            "user_id": USER,
            "sync_status": "active",
            "last_sync_at": "2026-11-27T19:40:39+00:00",
            "last_error": None,
            "connected": True,
        },
    ),
    ("GET", f"{P}/progress/{{user_id}}"): Doc(
        "getSyncProgress",
        "sync",
        "Counts of the latest bulk sync; they only grow. `skipped` are blueprints the catalogue "
        "does not know.",
        {
            "user_id": USER,
            "operation_id": TASK,
            "status": "pending",
            "progress_percent": 40,
            "total_chunks": 50,
            "processed_chunks": 20,
            "total_products": 250000,
            "processed": 100000,
            "created": 95000,
            "updated": 1200,
            "skipped": 3800,
            "unchanged": 0,
            "deleted": 0,
            "failed": 0,
            "checked": 0,
            "downloaded_bytes": 149000000,
        },
    ),
    ("GET", f"{P}/task/{{task_id}}"): Doc(
        "getTask",
        "sync",
        "State of a job the caller queued (a sync, a push to CardTrader, a webhook).",
        {"task_id": TASK, "status": "SUCCESS", "ready": True, "message": "completed"},
    ),
    ("POST", f"{P}/sync-from-cardtrader/{{user_id}}"): Doc(
        "reconcileFromCardTrader",
        "sync",
        "Queues a reconciliation of the whole inventory, or of one `blueprint_id`, from "
        "CardTrader (catches what a webhook missed); `dry_run` only counts.",
        {
            "status": "accepted",
            "task_id": TASK,
            "user_id": USER,
            "message": "Reconciliation queued",
            "blueprint_id": 12345,
            "dry_run": False,
        },
    ),
    ("GET", f"{P}/inventory/{{user_id}}"): Doc(
        "listInventory",
        "inventory",
        "One page of the user's items, filtered and sorted; `total` counts every match.",
        {"user_id": USER, "items": [ITEM], "total": 1},
    ),
    ("PUT", f"{P}/inventory/{{user_id}}/item/{{item_id}}"): Doc(
        "updateItem",
        "inventory",
        "Changes only the fields sent (`properties` merged key by key), commits, then queues the "
        "push to CardTrader. Accepts `Idempotency-Key`.",
        {
            "item_id": 42,
            "status": "updated",
            "task_id": TASK,
            "cardtrader_sync_queued": True,
            "external_stock_id": "987654321",
        },
        request={"quantity": 2, "price_cents": 300, "properties": {"condition": "Slightly Played"}},
    ),
    ("DELETE", f"{P}/inventory/{{user_id}}/item/{{item_id}}"): Doc(
        "deleteItem",
        "inventory",
        "Removes the item here and queues its removal from CardTrader. Accepts `Idempotency-Key`.",
        {"item_id": 42, "status": "deleted", "task_id": TASK, "cardtrader_sync_queued": True},
    ),
    ("GET", f"{P}/inventory/{{user_id}}/item/{{item_id}}/history"): Doc(
        "getItemHistory",
        "inventory",
        "Every stock change of the item (sales, edits, orders, syncs), newest first.",
        {
            "user_id": USER,
            "item_id": 42,
            "entries": [
                {
                    "delta": -1,
                    "reason": "purchase",
                    "operation_id": TASK,
                    "at": "2026-11-27T19:40:39+00:00",
                    "quantity_after": 2,
                }
            ],
        },
    ),
    ("POST", f"{P}/purchase/{{user_id}}/item/{{item_id}}"): Doc(
        "purchaseItem",
        "inventory",
        "Sells units atomically (never oversells) and confirms the sale with CardTrader. 400 "
        "when the stock is short, 409 when CardTrader does not list the item. Accepts "
        "`Idempotency-Key`: a repeat gets the first answer and sells nothing again.",
        {
            "item_id": 42,
            "status": "purchased",
            "quantity_purchased": 1,
            "remaining_quantity": 2,
            "message": "Purchased 1",
            "task_id": TASK,
            "cardtrader_confirmed": True,
            "cardtrader_sync_queued": False,
        },
        request={"purchaseQuantity": 1},
    ),
    ("POST", f"{P}/webhook/user/{{user_id}}"): Doc(
        "receiveWebhook",
        "webhooks",
        "CardTrader's order notifications, verified by the `Signature` header over the raw "
        "body, stored once per delivery id and applied to stock by a job.",
        {"status": "accepted", "webhook_id": "whk-1", "user_id": USER, "processing_time_ms": 3.2},
        request={
            "id": "whk-1",
            "time": 1764272439,
            "cause": "order.update",
            "object_class": "Order",
            "object_id": 733,
            "mode": "live",
            "data": {"id": 733, "state": "paid", "order_items": []},
        },
    ),
    ("GET", f"{P}/webhook-url/{{user_id}}"): Doc(
        "getWebhookUrl",
        "webhooks",
        "The URL to enter in CardTrader's settings for this user, and how.",
        {
            "user_id": USER,
            "webhook_url": f"https://api.brx-sync.example.com{P}/webhook/user/{USER}",
            "instructions": INSTRUCTIONS,
            "webhook_secret_configured": True,
        },
    ),
    ("GET", f"{P}/operations/{{user_id}}"): Doc(
        "listOperations",
        "account",
        "The user's operations newest first (syncs, reconciliations, pushes, purchases, "
        "webhooks), with attempts and why one failed; filter by `status` and `type`.",
        {
            "user_id": USER,
            "items": [
                {
                    "operation_id": TASK,
                    "operation_type": "update",
                    "status": "failed",
                    "attempts": 3,
                    "last_error": "marketplace_unavailable: CardTrader answered 503",
                    "created_at": "2026-11-27T19:40:39+00:00",
                    "completed_at": "2026-11-27T19:52:10+00:00",
                    "item_id": 42,
                    "blueprint_id": 12345,
                    "retry_of": None,
                    "retried_by": None,
                }
            ],
            "total": 1,
        },
    ),
    ("POST", f"{P}/operations/{{user_id}}/{{operation_id}}/retry"): Doc(
        "retryOperation",
        "account",
        "Queues a failed push or sync again, as a new task; 409 unless it failed (and was not "
        "retried yet), 404 for another user's.",
        {"status": "accepted", "task_id": f"{TASK}.retry1"},
    ),
    ("PUT", f"{P}/connection/{{user_id}}"): Doc(
        "connectCardTrader",
        "account",
        "Stores the seller's CardTrader token (encrypted) after CardTrader accepts it, with the "
        "webhook secret; replacing a token keeps the inventory. 422 when CardTrader refuses it.",
        {
            "user_id": USER,
            "connected": True,
            "cardtrader_user_id": 4242,
            "webhook_url": f"https://api.brx-sync.example.com{P}/webhook/user/{USER}",
        },
        request={"cardtrader_token": "eyJhbGciOiJSUzI1NiJ9.seller.token"},
    ),
    ("DELETE", f"{P}/connection/{{user_id}}"): Doc(
        "disconnectCardTrader",
        "account",
        "Stops syncing: webhooks are refused and nothing is sent to CardTrader. `purge=true` "
        "also erases the token, secret, items, ledger, operations and idempotency keys.",
        {"user_id": USER, "connected": False, "purged": False, "removed": {}},
    ),
    ("POST", f"{P}/migrate/composite-index"): Doc(
        "createCompositeIndex",
        "operator",
        "Creates the seed's composite index if it is missing (idempotent).",
        {
            "status": "skipped",
            "message": "index already exists",
            "index_name": INDEX_NAME,
            "columns": list(INDEX_COLUMNS),
        },
    ),
    ("GET", f"{P}/debug-logs"): Doc(
        "getDebugLogs",
        "operator",
        "The latest log records of the answering process, newest first (never secrets).",
        {"records": [{"level": "INFO", "message": "GET /health 200"}], "count": 1},
    ),
    ("POST", f"{P}/setup-test-user"): Doc(
        "setupTestUser",
        "operator",
        "Development only: stores a user's CardTrader token (encrypted) and fetches the webhook "
        "secret from CardTrader.",
        {
            "status": "success",
            "user_id": USER,
            "message": "Test user configured",
            "webhook_secret_configured": True,
        },
        request={"user_id": USER, "cardtrader_token": "demo"},
    ),
    ("POST", f"{P}/dev/test-order/{{user_id}}"): Doc(
        "sendTestOrder",
        "operator",
        "Development only: the CardTrader sandbox sells one of the user's products and sends "
        "the signed webhook here, as CardTrader would (the console's test order).",
        {"order_id": 733, "product_id": 987654321, "quantity": 1, "webhook_statuses": [200]},
        request={"quantity": 1, "test": False},
    ),
    ("GET", "/console"): Doc("getConsole", "pages", "The operator console (paste a token)."),
    ("GET", "/console/app.js"): Doc("getConsoleScript", "pages", "The console's script."),
    ("GET", "/console/app.css"): Doc("getConsoleStyle", "pages", "The console's style sheet."),
    ("GET", "/docs"): Doc("getApiReference", "pages", "This reference (Swagger UI)."),
    ("GET", "/docs/assets/swagger-ui.css"): Doc(
        "getSwaggerUiStyle", "pages", "Swagger UI's style sheet, served from the package."
    ),
    ("GET", "/docs/assets/swagger-ui-bundle.js"): Doc(
        "getSwaggerUiScript", "pages", "Swagger UI, served from the package."
    ),
    ("GET", "/docs/assets/docs.js"): Doc(
        "getApiReferenceScript", "pages", "Starts Swagger UI on /openapi.json."
    ),
    ("GET", "/health/live"): Doc(
        "getLiveness", "health", "The process answers (no I/O).", {"status": "alive"}
    ),
    ("GET", "/health/ready"): Doc(
        "getReadiness",
        "health",
        "200 only when Postgres, Redis and (if configured) the catalogue answer, else 503.",
        {
            "status": "healthy",
            "postgresql": {"status": "healthy", "message": "ok"},
            "redis": {"status": "healthy", "message": "ok"},
        },
    ),
    ("GET", "/health"): Doc(
        "getHealth",
        "health",
        "Readiness plus versions, pool usage and queue depth.",
        {
            "status": "healthy",
            "version": "0.1.0",
            "versions": {"python": "3.11.7"},
            "environment": "production",
            "dependencies": {"postgresql": {"status": "healthy", "message": "ok"}},
            "details": {"postgresql_pool": {"size": 10, "checked_out": 1}},
            "queue_depth": {"high": 0, "default": 2, "bulk": 0},
        },
    ),
    ("GET", "/metrics"): Doc(
        "getMetrics",
        "health",
        "Prometheus text format (deploy/prometheus/alerts.yml alerts on it).",
        'brx_queue_depth{queue="bulk"} 0.0\n',
    ),
}
SIGNATURE = {
    "name": "Signature",
    "in": "header",
    "required": True,
    "description": "base64(HMAC-SHA256(raw body, the user's webhook secret)), as CardTrader "
    "signs. A missing or wrong signature is 401.",
    "schema": {"type": "string", "minLength": 1},
    "example": "m1n9bWV0aGluZy1iYXNlNjQtZW5jb2RlZA==",
}


def _example(operation: dict[str, Any], doc: Doc) -> None:
    success = next(v for k, v in operation["responses"].items() if k.startswith("2"))
    for media in success.get("content", {}).values():
        if doc.example is not None:
            media["example"] = doc.example
    if doc.request is not None and "requestBody" in operation:
        operation["requestBody"]["content"]["application/json"]["example"] = doc.request


def annotate(document: dict[str, Any]) -> dict[str, Any]:
    """`document` with the tags, ids, descriptions, examples and the Signature header added
    (an operation not in DOCS keeps its generated id)."""
    document["tags"] = TAGS
    document["info"]["description"] = DESCRIPTION
    for path, item in document["paths"].items():
        for method, operation in item.items():
            doc = DOCS.get((method.upper(), path))
            if doc is None:
                continue
            operation["operationId"] = doc.operation_id
            operation["tags"] = [doc.tag]
            operation["description"] = doc.description
            _example(operation, doc)
            if doc.operation_id == "receiveWebhook":
                operation["parameters"].append(SIGNATURE)
    return document

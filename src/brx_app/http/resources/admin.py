"""Development and operator endpoints: test-user setup, the composite index, recent logs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import falcon.asgi

from brx_app.http.io import query, read_json
from brx_app.http.middleware import OPERATOR, PUBLIC
from brx_app.http.schemas import DebugLogsQuery, SetupTestUser
from brx_app.logs import RingBufferHandler
from brx_domain.usecases import Ports
from brx_domain.usecases.users import register_user

INDEX_NAME = "idx_inventory_user_blueprint_external"
INDEX_COLUMNS = ["user_id", "blueprint_id", "external_stock_id"]


class SetupTestUserResource:
    """Development only (the route is not even added elsewhere), and tokenless as in the seed:
    the same "connect" use case as `PUT /connection`, for any user id."""

    auth = PUBLIC

    def __init__(self, ports: Ports) -> None:
        self.ports = ports

    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        body = await read_json(req, SetupTestUser)
        settings = await register_user(self.ports, body.user_id, body.cardtrader_token)
        resp.media = {
            "status": "success",
            "user_id": str(settings.user_id),
            "message": "Test user configured",
            "webhook_secret_configured": bool(settings.webhook_secret_encrypted),
        }


class CompositeIndex:
    """Idempotent; in memory there is no index to create and the answer says so."""

    auth = OPERATOR

    def __init__(self, ensure: Callable[[], Awaitable[bool]] | None) -> None:
        self.ensure = ensure

    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        if self.ensure is None:
            status, message = "skipped", "No database index to create for the in-memory store"
        elif await self.ensure():
            status, message = "success", "Composite index created successfully"
        else:
            status, message = "success", "Composite index already exists"
        resp.media = {
            "status": status,
            "message": message,
            "index_name": INDEX_NAME,
            "columns": INDEX_COLUMNS,
        }


class DebugLogs:
    auth = OPERATOR

    def __init__(self, ring: RingBufferHandler) -> None:
        self.ring = ring

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        records = self.ring.recent(query(req, DebugLogsQuery).limit)
        resp.media = {"records": records, "count": len(records)}

"""Bulk sync, reconciliation, status, progress and task resources."""

from __future__ import annotations

from uuid import UUID

import falcon
import falcon.asgi

from brx_app.http.io import query
from brx_app.http.middleware import request_id_of
from brx_app.http.present import accepted_json, progress_json, status_json, task_state
from brx_app.http.schemas import ReconcileQuery, StartQuery
from brx_domain.usecases import Ports
from brx_domain.usecases.sync import (
    get_status,
    get_task,
    latest_bulk_sync,
    request_reconciliation,
    start_bulk_sync,
)


class StartSync:
    def __init__(self, ports: Ports) -> None:
        self.ports = ports

    async def on_post(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, user_id: UUID
    ) -> None:
        options = query(req, StartQuery)
        operation = await start_bulk_sync(
            self.ports, user_id, force=options.force, request_id=request_id_of(req)
        )
        resp.status = falcon.HTTP_202
        resp.media = accepted_json(operation, user_id, "Bulk sync started")


class SyncStatus:
    def __init__(self, ports: Ports) -> None:
        self.ports = ports

    async def on_get(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, user_id: UUID
    ) -> None:
        resp.media = status_json(await get_status(self.ports, user_id))


class Progress:
    def __init__(self, ports: Ports) -> None:
        self.ports = ports

    async def on_get(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, user_id: UUID
    ) -> None:
        resp.media = progress_json(await latest_bulk_sync(self.ports, user_id))


class Task:
    """Only the caller's own task is visible; any other id answers 404 like a missing one."""

    def __init__(self, ports: Ports) -> None:
        self.ports = ports

    async def on_get(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, task_id: str
    ) -> None:
        operation = await get_task(self.ports, req.context.principal.user_id, task_id)
        status, ready, message = task_state(operation)
        resp.media = {"task_id": task_id, "status": status, "ready": ready, "message": message}


class SyncFromCardTrader:
    def __init__(self, ports: Ports) -> None:
        self.ports = ports

    async def on_post(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, user_id: UUID
    ) -> None:
        options = query(req, ReconcileQuery)
        operation = await request_reconciliation(
            self.ports,
            user_id,
            blueprint_id=options.blueprint,
            dry_run=options.dry_run,
            request_id=request_id_of(req),
        )
        resp.status = falcon.HTTP_202
        resp.media = {
            **accepted_json(operation, user_id, "Sync from CardTrader queued"),
            "blueprint_id": options.blueprint,
            "dry_run": options.dry_run,
        }

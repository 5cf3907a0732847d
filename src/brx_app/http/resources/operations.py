"""The user's operations (every sync, push, purchase and webhook, newest first) and the retry
of a failed one: what makes every push visible and recoverable from the shop's side."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import falcon
import falcon.asgi
from pydantic import MISSING

from brx_app.http.io import query
from brx_app.http.schemas import OperationsQuery
from brx_domain.usecases import Ports
from brx_domain.usecases.activity import OperationView, list_operations, retry_operation


def operation_json(view: OperationView) -> dict[str, Any]:
    return {
        "operation_id": view.operation_id,
        "operation_type": view.operation_type.value,
        "status": view.status.value,
        "attempts": view.attempts,
        "last_error": view.last_error,
        "created_at": view.created_at,
        "completed_at": view.completed_at,
        "item_id": view.item_id,
        "blueprint_id": view.blueprint_id,
        "retry_of": view.retry_of,
        "retried_by": view.retried_by,
    }


class Operations:
    def __init__(self, ports: Ports) -> None:
        self.ports = ports

    async def on_get(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, user_id: UUID
    ) -> None:
        options = query(req, OperationsQuery)
        page = await list_operations(
            self.ports,
            user_id,
            status=None if options.status is MISSING else options.status,
            operation_type=None if options.type is MISSING else options.type,
            limit=options.limit,
            offset=options.offset,
        )
        resp.media = {
            "user_id": str(user_id),
            "items": [operation_json(view) for view in page.items],
            "total": page.total,
        }


class RetryOperation:
    def __init__(self, ports: Ports) -> None:
        self.ports = ports

    async def on_post(
        self,
        req: falcon.asgi.Request,
        resp: falcon.asgi.Response,
        user_id: UUID,
        operation_id: str,
    ) -> None:
        retry = await retry_operation(self.ports, user_id, operation_id)
        resp.status = falcon.HTTP_202
        resp.media = {"status": "accepted", "task_id": retry.operation_id}

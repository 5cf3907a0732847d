"""The user's inventory: list, edit, delete, purchase, and each item's stock history."""

from __future__ import annotations

from uuid import UUID

import falcon.asgi

from brx_app.http.idempotency import idempotent
from brx_app.http.io import query, read_json
from brx_app.http.middleware import request_id_of
from brx_app.http.present import item_json, ledger_json
from brx_app.http.schemas import InventoryQueryIn, ItemUpdate, PageQuery, PurchaseRequest
from brx_domain.usecases import Ports
from brx_domain.usecases.inventory import (
    delete_item,
    item_history,
    list_inventory,
    update_item,
)
from brx_domain.usecases.purchases import purchase_item


class Inventory:
    def __init__(self, ports: Ports) -> None:
        self.ports = ports

    async def on_get(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, user_id: UUID
    ) -> None:
        asked = query(req, InventoryQueryIn)
        page = await list_inventory(
            self.ports, user_id, asked.limit, asked.offset, asked.to_query()
        )
        resp.media = {
            "user_id": str(user_id),
            "items": [item_json(item) for item in page.items],
            "total": page.total,
        }


class Item:
    """PUT edits (then pushes to CardTrader through the queue); DELETE removes."""

    def __init__(self, ports: Ports) -> None:
        self.ports = ports

    @idempotent
    async def on_put(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, user_id: UUID, item_id: int
    ) -> None:
        body = await read_json(req, ItemUpdate)
        change = await update_item(
            self.ports, user_id, item_id, body.to_patch(), request_id=request_id_of(req)
        )
        resp.media = {
            "item_id": item_id,
            "status": "updated",
            "task_id": change.task_id,
            "cardtrader_sync_queued": change.queued,
            "external_stock_id": change.item.external_stock_id,
        }

    @idempotent
    async def on_delete(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, user_id: UUID, item_id: int
    ) -> None:
        change = await delete_item(self.ports, user_id, item_id, request_id=request_id_of(req))
        resp.media = {
            "item_id": item_id,
            "status": "deleted",
            "task_id": change.task_id,
            "cardtrader_sync_queued": change.queued,
        }


class ItemHistory:
    def __init__(self, ports: Ports) -> None:
        self.ports = ports

    async def on_get(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, user_id: UUID, item_id: int
    ) -> None:
        page = query(req, PageQuery)
        entries = await item_history(self.ports, user_id, item_id, page.limit, page.offset)
        resp.media = {
            "user_id": str(user_id),
            "item_id": item_id,
            "entries": [ledger_json(entry) for entry in entries],
        }


class Purchase:
    """Atomic local decrement, confirmed with CardTrader within the request (or queued, or
    refused, as `PURCHASE_WHEN_CARDTRADER_DOWN` says when CardTrader cannot answer in time)."""

    def __init__(self, ports: Ports) -> None:
        self.ports = ports

    @idempotent
    async def on_post(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, user_id: UUID, item_id: int
    ) -> None:
        body = await read_json(req, PurchaseRequest)
        done = await purchase_item(
            self.ports, user_id, item_id, body.units, request_id=request_id_of(req)
        )
        resp.media = {
            "item_id": item_id,
            "status": "purchased",
            "quantity_purchased": done.quantity,
            "remaining_quantity": done.remaining,
            "message": "Purchase successful",
            "task_id": done.task_id,
            "cardtrader_confirmed": done.confirmed,
            "cardtrader_sync_queued": done.queued,
        }

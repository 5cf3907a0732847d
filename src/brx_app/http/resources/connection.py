"""Connecting and disconnecting a shop's CardTrader account, in any environment (JWT, the
caller's own user): what a production deployment onboards and offboards shops with."""

from __future__ import annotations

from uuid import UUID

import falcon.asgi

from brx_app.http.io import query, read_json
from brx_app.http.resources.webhooks import webhook_url_of
from brx_app.http.schemas import ConnectionIn, DisconnectQuery
from brx_domain.usecases import Ports
from brx_domain.usecases.users import connect_user, disconnect_user


class Connection:
    def __init__(self, ports: Ports, public_base_url: str) -> None:
        self.ports, self.base = ports, public_base_url

    async def on_put(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, user_id: UUID
    ) -> None:
        body = await read_json(req, ConnectionIn)
        connection = await connect_user(self.ports, user_id, body.cardtrader_token)
        resp.media = {
            "user_id": str(user_id),
            "connected": True,
            "cardtrader_user_id": connection.cardtrader_user_id,
            "webhook_url": webhook_url_of(self.base, user_id),
        }

    async def on_delete(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, user_id: UUID
    ) -> None:
        options = query(req, DisconnectQuery)
        done = await disconnect_user(self.ports, user_id, purge=options.purge)
        resp.media = {
            "user_id": str(user_id),
            "connected": False,
            "purged": done.purged,
            "removed": done.removed,
        }

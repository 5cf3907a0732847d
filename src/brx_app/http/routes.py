"""The routes of a shop's account: its operations (listed, retried) and its CardTrader
connection. Kept apart from `app.py` so the route table there stays readable; `create_app`
adds them like every other route, documented from the same `Route` entries."""

from __future__ import annotations

from brx_app.http import responses as r
from brx_app.http import schemas as s
from brx_app.http.openapi import Op, Route
from brx_app.http.resources import connection, operations
from brx_domain.usecases import Ports

PREFIX = "/api/v1/sync"


def account_routes(ports: Ports, public_base_url: str) -> list[Route]:
    return [
        Route(
            f"{PREFIX}/operations/{{user_id}}",
            operations.Operations(ports),
            {
                "GET": Op(
                    "The user's operations, newest first",
                    r.OperationsOut,
                    query=s.OperationsQuery,
                )
            },
        ),
        Route(
            f"{PREFIX}/operations/{{user_id}}/{{operation_id}}/retry",
            operations.RetryOperation(ports),
            {
                "POST": Op(
                    "Queue a failed operation again",
                    r.RetryAccepted,
                    202,
                    errors=(404, 409),
                )
            },
        ),
        Route(
            f"{PREFIX}/connection/{{user_id}}",
            connection.Connection(ports, public_base_url),
            {
                "PUT": Op(
                    "Connect the user's CardTrader account (token checked with CardTrader)",
                    r.ConnectionOut,
                    body=s.ConnectionIn,
                    errors=(422, 502, 503),
                ),
                "DELETE": Op(
                    "Disconnect: stop syncing (purge=true also erases the user's data)",
                    r.DisconnectedOut,
                    query=s.DisconnectQuery,
                    errors=(404,),
                ),
            },
        ),
    ]

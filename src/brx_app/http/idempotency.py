"""`@idempotent`: the `Idempotency-Key` header on a write responder. Without the header the
responder runs as always; with it, the request is fingerprinted (method, path, raw body) and
run at most once per user and key by `run_once`, and a repeat gets the first answer back.

A decorator on the responder rather than a change to each use case: it composes with whatever
the write does (the purchase's own CardTrader confirmation included), and the OpenAPI document
reads the mark it leaves, so the documented header cannot drift from the behaviour.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import falcon.asgi

from brx_app.http.io import read_body
from brx_app.http.schemas import IdempotencyHeader
from brx_domain.idempotency import HEADER, IdempotentRequest, StoredAnswer, fingerprint
from brx_domain.limits import JSON_BODY_MAX
from brx_domain.usecases import Ports
from brx_domain.usecases.idempotency import run_once

REPLAYED_HEADER = "Idempotent-Replayed"


class HasPorts(Protocol):
    ports: Ports


Responder = Callable[..., Awaitable[None]]


def idempotent(responder: Responder) -> Responder:
    @functools.wraps(responder)
    async def keyed(
        resource: HasPorts, req: falcon.asgi.Request, resp: falcon.asgi.Response, **params: Any
    ) -> None:
        raw_key = req.get_header(HEADER)
        if raw_key is None:
            await responder(resource, req, resp, **params)
            return
        key = IdempotencyHeader.model_validate({HEADER: raw_key}).key
        body = await read_body(req, JSON_BODY_MAX)
        request = IdempotentRequest(
            req.context.principal.user_id, key, fingerprint(req.method, req.path, body)
        )

        async def write() -> StoredAnswer:
            await responder(resource, req, resp, **params)
            return StoredAnswer(resp.status_code, dict(resp.media))

        outcome = await run_once(resource.ports, request, write)
        if outcome.replayed:
            resp.status = outcome.answer.status
            resp.media = dict(outcome.answer.body)
            resp.set_header(REPLAYED_HEADER, "true")

    keyed.idempotent = True  # type: ignore[attr-defined]  # read by the OpenAPI builder
    return keyed


def is_idempotent(responder: object) -> bool:
    return bool(getattr(responder, "idempotent", False))

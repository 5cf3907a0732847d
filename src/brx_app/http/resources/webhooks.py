"""CardTrader's webhook receiver (signature, not JWT) and the per-user webhook URL."""

from __future__ import annotations

import time
import uuid
from uuid import UUID

import falcon.asgi

from brx_app import metrics
from brx_app.http.errors import ApiError
from brx_app.http.io import read_body
from brx_app.http.middleware import PUBLIC, request_id_of
from brx_domain.errors import DomainError, NotFound, Unauthenticated
from brx_domain.usecases import Ports
from brx_domain.usecases.sync import get_status
from brx_domain.usecases.webhooks import REJECTED, receive_webhook

WEBHOOK_PATH = "/api/v1/sync/webhook/user/{user_id}"
INSTRUCTIONS = {
    "step_1": "Go to https://www.cardtrader.com/it/full_api_app",
    "step_2": "Copy the webhook URL below",
    "step_3": "Paste it in the 'Indirizzo del tuo endpoint webhook' field",
    "step_4": "Click 'Salva l'endpoint del Webhook'",
}


def _outcome(exc: Exception) -> str:
    if isinstance(exc, Unauthenticated):
        return "rejected"
    if isinstance(exc, ApiError) and exc.status == 413:
        return "too_large"
    return "invalid" if isinstance(exc, DomainError | ApiError) else "error"


class Webhook:
    """Verify, store once by delivery id, queue, answer: stock is the worker's business. Every
    rejection (bad or missing signature, unknown user, stale time) is the same 401."""

    auth = PUBLIC

    def __init__(self, ports: Ports, max_body_bytes: int) -> None:
        self.ports, self.max_body_bytes = ports, max_body_bytes

    async def on_post(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, user_id: str
    ) -> None:
        started = time.perf_counter()
        try:
            body = await read_body(req, self.max_body_bytes)
            owner = _user_or_reject(user_id)
            receipt = await receive_webhook(
                self.ports, owner, body, req.get_header("Signature"), request_id=request_id_of(req)
            )
        except Exception as exc:  # counted here, answered by the one error mapping
            metrics.observe_webhook(_outcome(exc))
            raise
        metrics.observe_webhook("duplicate" if receipt.duplicate else "accepted")
        resp.media = {
            "status": "accepted",
            "webhook_id": receipt.webhook_id,
            "user_id": str(owner),
            "processing_time_ms": round((time.perf_counter() - started) * 1000, 3),
        }


def _user_or_reject(raw: str) -> UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise Unauthenticated(REJECTED) from None


def webhook_url_of(public_base_url: str, user_id: UUID) -> str:
    """The URL to give CardTrader for this user's webhooks."""
    return public_base_url.rstrip("/") + WEBHOOK_PATH.format(user_id=user_id)


class WebhookUrl:
    def __init__(self, ports: Ports, public_base_url: str) -> None:
        self.ports, self.base = ports, public_base_url

    async def on_get(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, user_id: UUID
    ) -> None:
        try:
            configured = bool((await get_status(self.ports, user_id)).webhook_secret_encrypted)
        except NotFound:  # not set up yet: the URL is still the one to give CardTrader
            configured = False
        resp.media = {
            "user_id": str(user_id),
            "webhook_url": webhook_url_of(self.base, user_id),
            "instructions": INSTRUCTIONS,
            "webhook_secret_configured": configured,
        }

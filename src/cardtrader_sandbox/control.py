"""The /_sandbox control surface (no auth: the simulator only ever listens for tests and demos):
faults, reset, the request log, stock mutations and simulated buyer orders with webhooks, or
without them (`send_webhook: false`: the sale a shop never hears of, a missed webhook)."""

from __future__ import annotations

import json
import time
from typing import Any

import falcon
from falcon.asgi import Request, Response

from cardtrader_sandbox import orders as book_ops
from cardtrader_sandbox.api import body_of
from cardtrader_sandbox.limits import RequestLog
from cardtrader_sandbox.mutations import mutate
from cardtrader_sandbox.operations import SandboxError, invalid, not_found
from cardtrader_sandbox.state import SandboxState, Seller
from cardtrader_sandbox.webhooks import WebhookSender

ORDER_KINDS = ("paid", "hub_pending", "merge", "cancel", "destroy")


class StateResource:
    def __init__(self, state: SandboxState) -> None:
        self.state = state

    async def on_get(self, req: Request, resp: Response) -> None:
        resp.media = self.state.describe()


class FaultsResource:
    def __init__(self, state: SandboxState) -> None:
        self.state = state

    async def on_post(self, req: Request, resp: Response) -> None:
        try:
            self.state.configure_faults(**(await body_of(req)))
        except (TypeError, ValueError) as exc:
            raise invalid({"faults": [str(exc)]}) from None
        resp.media = self.state.faults.as_dict(time.monotonic())


class ResetResource:
    def __init__(self, state: SandboxState) -> None:
        self.state = state

    async def on_post(self, req: Request, resp: Response) -> None:
        self.state.reset()
        resp.media = self.state.faults.as_dict(time.monotonic())


class RequestsResource:
    """GET: the log (`?summary=1` for per-window counts, `?token=` to select one seller)."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state

    async def on_get(self, req: Request, resp: Response) -> None:
        log, token = self.state.log, req.get_param("token")
        if req.get_param_as_bool("summary", default=False):
            resp.media = log.summary(token)
        else:
            since = req.get_param_as_float("since")
            resp.media = RequestLog.as_dicts(log.select(token, since))

    async def on_delete(self, req: Request, resp: Response) -> None:
        self.state.log.clear()
        resp.status = falcon.HTTP_204


class MutationsResource:
    def __init__(self, state: SandboxState) -> None:
        self.state = state

    async def on_post(self, req: Request, resp: Response) -> None:
        body = await body_of(req)
        seller = self.state.seller_or_first(body.pop("token", None))
        try:
            resp.media = mutate(self.state, seller, **{k: int(v) for k, v in body.items()})
        except (TypeError, ValueError) as exc:
            raise invalid({"mutation": [str(exc)]}) from None


class WebhookResource:
    def __init__(self, state: SandboxState) -> None:
        self.state = state

    async def on_put(self, req: Request, resp: Response) -> None:
        self.state.webhook_url = (await body_of(req)).get("url") or None
        resp.media = {"webhook_url": self.state.webhook_url}


class SimulatedOrdersResource:
    """POST a buyer order event; the stock changes as on CardTrader and the webhook is sent,
    unless `send_webhook` is false: then the order is kept and answered, the signed body included
    (a test can deliver it late), but nothing reaches the receiver."""

    def __init__(self, state: SandboxState, sender: WebhookSender) -> None:
        self.state = state
        self.sender = sender

    async def on_post(self, req: Request, resp: Response) -> None:
        body = await body_of(req)
        seller = self.state.seller_or_first(body.get("token"))
        kind = body.get("kind", "paid")
        if kind not in ORDER_KINDS:
            raise invalid({"kind": [f"must be one of {', '.join(ORDER_KINDS)}"]})
        send = body.get("send_webhook", True)
        if not isinstance(send, bool):
            raise invalid({"send_webhook": ["must be true or false"]})
        mode = "test" if body.get("test") else "live"
        order, events = self._apply(seller, kind, body, mode)
        url = body.get("webhook_url") or self.state.webhook_url
        deliveries = [await self._send(seller, url, send, cause, o, mode) for cause, o in events]
        resp.media = {"order": order, "deliveries": deliveries}

    def _apply(
        self, seller: Seller, kind: str, body: dict[str, Any], mode: str
    ) -> tuple[book_ops.SandboxOrder, list[tuple[str, book_ops.SandboxOrder]]]:
        now, book, inv = time.time(), seller.book, seller.inventory
        if kind in ("paid", "hub_pending"):
            product = self._product(seller, body.get("product_id"))
            sale = (product, int(body.get("quantity", 1)))
            order = book_ops.sell(
                book,
                inv,
                sale,
                self.state.new_order_ids(),
                kind == "hub_pending",
                now,
                store=mode == "live",
            )
            return order, [("order.create", order)]
        if kind == "merge":
            merged, closed = book_ops.merge_zero(
                book, list(body.get("order_ids") or []), self.state.new_order_ids()[0], now
            )
            return merged, [("order.update", o) for o in closed] + [("order.create", merged)]
        order_id = body.get("order_id")
        if not isinstance(order_id, int):
            raise invalid({"order_id": ["is required"]})
        if kind == "cancel":
            order = book_ops.cancel(book, inv, order_id, now)
            return order, [("order.update", order)]
        return book_ops.destroy(book, order_id), [("order.destroy", {"id": order_id})]

    def _product(self, seller: Seller, product_id: object) -> Any:
        inv = seller.inventory
        if product_id is None:
            in_stock = [pid for pid, p in inv.products.items() if p.quantity > 0]
            if not in_stock:
                raise SandboxError(
                    422,
                    "validation_error",
                    "Validation failed",
                    {"product_id": ["the seller has no stock"]},
                )
            product_id = self.state.rng.choice(in_stock)
        product = inv.get(product_id) if isinstance(product_id, int) else None
        if product is None:
            raise not_found()
        return product

    async def _send(
        self,
        seller: Seller,
        url: str | None,
        send: bool,
        cause: str,
        order: book_ops.SandboxOrder,
        mode: str,
    ) -> dict[str, object]:
        data = {} if cause == "order.destroy" else order
        raw = book_ops.envelope(cause, order["id"], data, mode, time.time())
        outcome: dict[str, object] = {
            "cause": cause,
            "body": raw.decode(),
            "envelope": json.loads(raw),
        }
        if not send:
            outcome.update(url=None, status=None, error="not sent (send_webhook: false)")
            return outcome
        if url is None:
            outcome.update(url=None, status=None, error="no webhook url configured")
            return outcome
        outcome.update(await self.sender.deliver(url, raw, seller.shared_secret))
        return outcome


def add_control_routes(
    app: falcon.asgi.App[Request, Response], state: SandboxState, sender: WebhookSender
) -> None:
    app.add_route("/_sandbox/state", StateResource(state))
    app.add_route("/_sandbox/faults", FaultsResource(state))
    app.add_route("/_sandbox/reset", ResetResource(state))
    app.add_route("/_sandbox/requests", RequestsResource(state))
    app.add_route("/_sandbox/mutate", MutationsResource(state))
    app.add_route("/_sandbox/webhook", WebhookResource(state))
    app.add_route("/_sandbox/orders", SimulatedOrdersResource(state, sender))

"""The /api/v2 resources of the simulator: thin responders over `operations`, `jobs` and
`orders`. Auth, faults and rate limits already happened in the gate (`gate.py`)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import falcon
from falcon.asgi import Request, Response

from cardtrader_sandbox import operations as ops
from cardtrader_sandbox.jobs import KINDS, new_job, run_job
from cardtrader_sandbox.market import listings
from cardtrader_sandbox.order_query import select_orders
from cardtrader_sandbox.product import resource_dict
from cardtrader_sandbox.state import SandboxState, Seller


def seller_of(req: Request) -> Seller:
    seller: Seller = req.scope["brx.seller"]
    return seller


async def body_of(req: Request) -> dict[str, Any]:
    media = await req.get_media(default_when_empty={})
    if not isinstance(media, dict):
        raise ops.SandboxError(400, "bad_request", "The body must be a JSON object")
    return media


def _int_param(req: Request, name: str) -> int | None:
    raw = req.get_param(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise ops.invalid({name: ["is not an integer"]}) from None


def single(resp: Response, seller: Seller, product: Any, warnings: object) -> None:
    """CardTrader's single-product answer: `{result, warnings, resource}`."""
    resource = resource_dict(product, seller.inventory.currency)
    resp.media = {"result": "ok", "warnings": warnings, "resource": resource}


async def _stream(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    """Yield the pre-serialised blocks, letting other requests run between them."""
    for n, chunk in enumerate(chunks):
        yield chunk
        if n % 16 == 15:
            await asyncio.sleep(0)


class InfoResource:
    async def on_get(self, req: Request, resp: Response) -> None:
        s = seller_of(req)
        resp.media = {
            "id": s.app_id,
            "name": f"BRX Sync sandbox app {s.number}",
            "shared_secret": s.shared_secret,
            "user_id": s.user_id,
        }


class ExportResource:
    async def on_get(self, req: Request, resp: Response) -> None:
        inv = seller_of(req).inventory
        resp.content_type = falcon.MEDIA_JSON
        blueprint_id, expansion_id = (
            _int_param(req, "blueprint_id"),
            _int_param(req, "expansion_id"),
        )
        if blueprint_id is None and expansion_id is None:
            length, chunks = inv.export_body()
            if length is not None:
                resp.content_length = length
            resp.stream = _stream(chunks)
        else:
            resp.data = inv.export_filtered(blueprint_id, expansion_id)


class ProductsResource:
    def __init__(self, state: SandboxState) -> None:
        self.state = state

    async def on_post(self, req: Request, resp: Response) -> None:
        s = seller_of(req)
        payload = await body_of(req)
        product, warnings = ops.create_product(
            s.inventory, payload, self.state.new_product_id, self.state.foil_false_refused
        )
        resp.status = falcon.HTTP_201
        single(resp, s, product, warnings or [])


class ProductResource:
    def __init__(self, state: SandboxState) -> None:
        self.state = state

    async def on_put(self, req: Request, resp: Response, product_id: int) -> None:
        s = seller_of(req)
        payload = await body_of(req)
        product, warnings = ops.update_product(
            s.inventory, product_id, payload, self.state.foil_false_refused
        )
        single(resp, s, product, warnings)

    async def on_delete(self, req: Request, resp: Response, product_id: int) -> None:
        s = seller_of(req)
        single(resp, s, ops.delete_product(s.inventory, product_id), {})


class IncrementResource:
    async def on_post(self, req: Request, resp: Response, product_id: int) -> None:
        s = seller_of(req)
        payload = await body_of(req)
        product = ops.increment_product(s.inventory, product_id, payload.get("delta_quantity"))
        single(resp, s, product, [])


class BulkResource:
    """POST /products/bulk_*: answers `{job}` at once; the writes happen at completion."""

    def __init__(self, state: SandboxState, kind: str) -> None:
        self.state = state
        self.kind = kind

    async def on_post(self, req: Request, resp: Response) -> None:
        s = seller_of(req)
        items = (await body_of(req)).get("products")
        if not isinstance(items, list):
            raise ops.missing("products")
        job = new_job(self.kind, items, time.monotonic(), self.state.job_timing)
        s.jobs[job.uuid] = job
        delay = job.done_at - time.monotonic()
        asyncio.get_running_loop().call_later(max(delay, 0), self._complete, s, job.uuid)
        resp.media = {"job": job.uuid}

    def _complete(self, seller: Seller, job_uuid: str) -> None:
        job = seller.jobs[job_uuid]
        run_job(job, seller.inventory, self.state.new_product_id, self.state.foil_false_refused)


class JobsResource:
    def __init__(self, state: SandboxState) -> None:
        self.state = state

    async def on_get(self, req: Request, resp: Response, job_uuid: str) -> None:
        s = seller_of(req)
        job = s.jobs.get(job_uuid)
        if job is None:
            raise ops.not_found("Job")
        now = time.monotonic()
        if now >= job.done_at:
            run_job(job, s.inventory, self.state.new_product_id, self.state.foil_false_refused)
        resp.media = job.as_dict(now)


class OrdersResource:
    async def on_get(self, req: Request, resp: Response) -> None:
        resp.media = select_orders(seller_of(req).book, req.params)


class OrderResource:
    async def on_get(self, req: Request, resp: Response, order_id: int) -> None:
        resp.media = seller_of(req).book.get(order_id)


class MarketplaceResource:
    def __init__(self, state: SandboxState) -> None:
        self.state = state

    async def on_get(self, req: Request, resp: Response) -> None:
        blueprint_id = _int_param(req, "blueprint_id")
        if blueprint_id is None:
            raise ops.missing("blueprint_id")
        resp.media = {str(blueprint_id): listings(self.state.seed, blueprint_id)}


def add_api_routes(app: falcon.asgi.App[Request, Response], state: SandboxState) -> None:
    base = "/api/v2"
    app.add_route(f"{base}/info", InfoResource())
    app.add_route(f"{base}/products/export", ExportResource())
    app.add_route(f"{base}/products", ProductsResource(state))
    for kind in KINDS:
        app.add_route(f"{base}/products/{kind}", BulkResource(state, kind))
    app.add_route(f"{base}/products/{{product_id:int}}", ProductResource(state))
    app.add_route(f"{base}/products/{{product_id:int}}/increment", IncrementResource())
    app.add_route(f"{base}/jobs/{{job_uuid}}", JobsResource(state))
    app.add_route(f"{base}/orders", OrdersResource())
    app.add_route(f"{base}/orders/{{order_id:int}}", OrderResource())
    app.add_route(f"{base}/marketplace/products", MarketplaceResource(state))

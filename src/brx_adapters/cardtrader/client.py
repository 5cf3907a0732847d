"""CardTrader as the `Marketplace` port, for one seller's token."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import httpx

from brx_adapters.cardtrader.codec import (
    UnexpectedAnswer,
    draft_payload,
    json_body,
    outgoing_properties,
    resource_of,
)
from brx_adapters.cardtrader.export import StreamedExport, download_export
from brx_adapters.cardtrader.transport import Channel, OutcomeUnknown
from brx_domain.errors import MarketplaceNotFound, MarketplaceUnavailable
from brx_domain.inventory import Properties
from brx_domain.ports import MarketplaceInfo, ProductDraft
from brx_domain.sync import RemoteProduct

SETTLE_ROUNDS = 3  # re-read / re-send rounds for a write whose outcome stays unknown


class CardTraderMarketplace:
    """The port's calls. Non-idempotent writes are never sent twice
    blindly: an increment's unknown outcome goes back to the caller (`brx_domain.writes`
    settles it), a create's is settled here by re-reading the blueprint's products."""

    def __init__(self, channel: Channel, *, export_timeout: httpx.Timeout) -> None:
        self._channel, self._export_timeout = channel, export_timeout

    async def info(self) -> MarketplaceInfo:
        body = await self._channel.send("GET", "/info", "/info", json_body)
        if not isinstance(body, Mapping) or "shared_secret" not in body:
            raise UnexpectedAnswer("CardTrader /info answer has no shared_secret")
        user_id = body.get("user_id")
        return MarketplaceInfo(
            id=int(body.get("id") or 0),
            name=str(body.get("name") or ""),
            shared_secret=str(body["shared_secret"]),
            user_id=int(user_id) if user_id is not None else None,
        )

    async def export_products(
        self,
        *,
        blueprint_id: int | None = None,
        on_download: Callable[[int], Awaitable[None]] | None = None,
    ) -> StreamedExport:
        params = {} if blueprint_id is None else {"blueprint_id": blueprint_id}
        return await download_export(
            self._channel, params, self._export_timeout, on_download=on_download
        )

    async def update_product(self, product_id: int, draft: ProductDraft) -> RemoteProduct:
        path = f"/products/{product_id}"
        return await self._channel.send(
            "PUT", "/products/{id}", path, resource_of, json=draft_payload(draft)
        )

    async def delete_product(self, product_id: int) -> bool:
        try:
            await self._channel.send(
                "DELETE", "/products/{id}", f"/products/{product_id}", lambda r: None
            )
        except MarketplaceNotFound:
            return False
        return True

    async def create_product(self, draft: ProductDraft) -> RemoteProduct:
        """POST adds to an identical product if one exists, so the quantity before is read
        first: after an unknown outcome only the missing units are added."""
        before = await self._identical(draft)
        target = (before.quantity if before else 0) + draft.quantity
        for _ in range(SETTLE_ROUNDS):
            try:
                return await self._post_create(draft)
            except OutcomeUnknown:
                now = await self._identical(draft)
                have = now.quantity if now else 0
                if have >= target and now is not None:
                    return now
                if now is not None and have > (before.quantity if before else 0):
                    settled = await self._settled_increment(
                        now.id, target - have, blueprint_id=draft.blueprint_id, expected_before=have
                    )
                    if settled is not None:
                        return settled
        raise MarketplaceUnavailable("CardTrader create: outcome still unknown after re-reading")

    async def _post_create(self, draft: ProductDraft) -> RemoteProduct:
        return await self._channel.send(
            "POST",
            "/products",
            "/products",
            resource_of,
            json=draft_payload(draft),
            idempotent=False,
        )

    async def _identical(self, draft: ProductDraft) -> RemoteProduct | None:
        """The listed product CardTrader would merge `draft` into (same blueprint, editable
        properties and price), if any."""
        wanted = _identity(draft.properties, draft.price_cents)
        async for product in await self.export_products(blueprint_id=draft.blueprint_id):
            if _identity(product.properties, product.price_cents) == wanted:
                return product
        return None

    async def find_product(self, product_id: int, *, blueprint_id: int) -> RemoteProduct | None:
        return await self._find(product_id, blueprint_id)

    async def increment_quantity(self, product_id: int, delta: int) -> RemoteProduct | None:
        """Sent once: an unknown outcome raises OutcomeUnknown for the caller to settle."""
        product = await self._channel.send(
            "POST",
            "/products/{id}/increment",
            f"/products/{product_id}/increment",
            resource_of,
            json={"delta_quantity": delta},
            idempotent=False,
        )
        return product if product.quantity > 0 else None

    async def _settled_increment(
        self, product_id: int, delta: int, *, blueprint_id: int, expected_before: int
    ) -> RemoteProduct | None:
        """For a create that landed partly: add the missing units, re-reading after a lost
        answer (nothing else writes to a product this service is still creating)."""
        for _ in range(SETTLE_ROUNDS):
            try:
                return await self.increment_quantity(product_id, delta)
            except OutcomeUnknown:
                current = await self._find(product_id, blueprint_id)
                if current is not None and current.quantity == expected_before + delta:
                    return current
        raise MarketplaceUnavailable("CardTrader increment: outcome still unknown after re-reading")

    async def _find(self, product_id: int, blueprint_id: int) -> RemoteProduct | None:
        found = None
        async for product in await self.export_products(blueprint_id=blueprint_id):
            if product.id == product_id:
                found = product
        return found


def _identity(properties: Properties, price_cents: int) -> tuple[dict[str, Any], int]:
    return outgoing_properties(properties), price_cents

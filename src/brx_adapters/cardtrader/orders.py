"""Reading orders: CardTrader's shapes turned into the domain's `Order`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from brx_adapters.cardtrader.codec import UnexpectedAnswer, json_body
from brx_adapters.cardtrader.transport import Channel
from brx_domain.errors import InvalidInput
from brx_domain.orders import Order, parse_order

FILTERS = frozenset(
    {"page", "limit", "from", "to", "from_id", "to_id", "state", "order_as", "sort"}
)


async def list_orders(channel: Channel, filters: Mapping[str, Any]) -> list[Order]:
    params = {_name(k): v for k, v in filters.items() if v is not None}
    unknown = set(params) - FILTERS
    if unknown:
        raise ValueError(f"unknown order filters: {sorted(unknown)}")
    return await channel.send("GET", "/orders", "/orders", _orders, params=params)


async def get_order(channel: Channel, order_id: int) -> Order:
    return await channel.send("GET", "/orders/{id}", f"/orders/{order_id}", _order)


def _name(key: str) -> str:
    return key.rstrip("_")  # `from_` in Python is `from` for CardTrader


def _orders(response: httpx.Response) -> list[Order]:
    body = json_body(response)
    if isinstance(body, Mapping):  # tolerate an envelope around the array
        body = next((v for v in body.values() if isinstance(v, list)), None)
    if not isinstance(body, list):
        raise UnexpectedAnswer("CardTrader /orders answer is not a list")
    return [_parse(raw) for raw in body]


def _order(response: httpx.Response) -> Order:
    return _parse(json_body(response))


def _parse(raw: object) -> Order:
    if not isinstance(raw, Mapping):
        raise UnexpectedAnswer("CardTrader sent an order that is not an object")
    try:
        return parse_order(raw, int(raw.get("id") or 0))
    except (InvalidInput, TypeError, ValueError) as exc:
        raise UnexpectedAnswer(f"CardTrader sent a malformed order: {exc}") from exc

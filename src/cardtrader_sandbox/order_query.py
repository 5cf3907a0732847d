"""`GET /orders` query rules: page, limit 1..100, from/to dates, from_id/to_id, state,
order_as and sort, answered as a bare array like CardTrader."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from cardtrader_sandbox.operations import invalid
from cardtrader_sandbox.orders import OrderBook, SandboxOrder

SORTS = {"id.asc", "id.desc", "date.asc", "date.desc"}


def _int(params: Mapping[str, Any], name: str, default: int | None) -> int | None:
    raw = params.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise invalid({name: ["is not an integer"]}) from None


def _date(params: Mapping[str, Any], name: str) -> str | None:
    raw = params.get(name)
    if raw in (None, ""):
        return None
    try:
        return date.fromisoformat(str(raw)).isoformat()
    except ValueError:
        raise invalid({name: ["is not a date (YYYY-MM-DD)"]}) from None


def _matches(order: SandboxOrder, params: Mapping[str, Any]) -> bool:
    day = str(order["created_at"])[:10]
    from_day, to_day = _date(params, "from"), _date(params, "to")
    from_id, to_id = _int(params, "from_id", None), _int(params, "to_id", None)
    state = params.get("state")
    return (
        (from_day is None or day >= from_day)
        and (to_day is None or day <= to_day)
        and (from_id is None or order["id"] >= from_id)
        and (to_id is None or order["id"] <= to_id)
        and (not state or order["state"] == state)
    )


def select_orders(book: OrderBook, params: Mapping[str, Any]) -> list[SandboxOrder]:
    page = _int(params, "page", 1) or 1
    limit = _int(params, "limit", 20)
    if limit is None or not 1 <= limit <= 100:
        raise invalid({"limit": ["must be between 1 and 100"]})
    if page < 1:
        raise invalid({"page": ["must be greater than or equal to 1"]})
    sort = params.get("sort") or "id.desc"
    if sort not in SORTS:
        raise invalid({"sort": [f"must be one of {', '.join(sorted(SORTS))}"]})
    if params.get("order_as", "seller") == "buyer":
        return []
    found = [o for o in book.orders.values() if _matches(o, params)]
    key = "id" if sort.startswith("id") else "created_at"
    found.sort(key=lambda o: (o[key], o["id"]), reverse=sort.endswith("desc"))
    return found[(page - 1) * limit : page * limit]

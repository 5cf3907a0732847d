"""Bulk writes: CardTrader queues them as a job that is polled (1 request / s) to the end."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from brx_adapters.cardtrader.codec import UnexpectedAnswer, field_errors, json_body
from brx_adapters.cardtrader.transport import Channel
from brx_domain.errors import MarketplaceUnavailable, MarketplaceValidation

FINAL_STATES = frozenset({"completed", "unprocessable"})


@dataclass(frozen=True)
class JobPolling:
    interval: float = 1.0
    timeout: float = 900.0
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    clock: Callable[[], float] = time.monotonic


@dataclass(frozen=True)
class JobItem:
    """The outcome of one payload element (`index` is its position in the payload)."""

    index: int
    result: str  # ok | warning | error
    product_id: int | None = None
    errors: Mapping[str, list[str]] = field(default_factory=dict)
    warnings: Mapping[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class JobResult:
    uuid: str
    state: str
    stats: Mapping[str, int]
    items: tuple[JobItem, ...] = ()

    @property
    def failed(self) -> tuple[JobItem, ...]:
        return tuple(item for item in self.items if item.result == "error")


async def run(
    channel: Channel,
    kind: str,
    items: Sequence[Mapping[str, Any]],
    polling: JobPolling,
    *,
    idempotent: bool = True,
) -> JobResult:
    """Submit, then poll until the job ends; an `unprocessable` job raises with its errors."""
    path = f"/products/{kind}"
    submitted = await channel.send(
        "POST", path, path, json_body, json={"products": list(items)}, idempotent=idempotent
    )
    uuid = submitted.get("job") if isinstance(submitted, Mapping) else None
    if not isinstance(uuid, str) or not uuid:
        raise UnexpectedAnswer(f"CardTrader {path} answered without a job id")
    result = await _poll(channel, uuid, polling)
    if result.state == "unprocessable":
        errors: dict[str, list[str]] = {}
        for item in result.failed:
            for name, messages in item.errors.items():
                errors.setdefault(f"{item.index}.{name}", []).extend(messages)
        raise MarketplaceValidation(f"CardTrader job {uuid} was unprocessable", errors)
    return result


async def _poll(channel: Channel, uuid: str, polling: JobPolling) -> JobResult:
    deadline = polling.clock() + polling.timeout
    while True:
        result = await channel.send("GET", "/jobs/{uuid}", f"/jobs/{uuid}", _job_result)
        if result.state in FINAL_STATES:
            return result
        if polling.clock() + polling.interval > deadline:
            raise MarketplaceUnavailable(f"CardTrader job {uuid} still {result.state}")
        await polling.sleep(polling.interval)


def _job_result(response: httpx.Response) -> JobResult:
    body = json_body(response)
    if not isinstance(body, Mapping) or not isinstance(body.get("state"), str):
        raise UnexpectedAnswer("CardTrader job answer has no state")
    stats = body.get("stats") if isinstance(body.get("stats"), Mapping) else {}
    results = body.get("results") if isinstance(body.get("results"), list) else []
    return JobResult(
        uuid=str(body.get("uuid") or ""),
        state=body["state"],
        stats={str(k): int(v or 0) for k, v in (stats or {}).items()},
        items=tuple(
            _item(raw, i) for i, raw in enumerate(results or []) if isinstance(raw, Mapping)
        ),
    )


def _item(raw: Mapping[str, Any], position: int) -> JobItem:
    product_id = raw.get("product_id")
    index = raw.get("job_index")
    return JobItem(
        index=int(index) if isinstance(index, int) else position,
        result=str(raw.get("result") or "error"),
        product_id=int(product_id) if isinstance(product_id, int) else None,
        errors=field_errors(raw.get("errors")),
        warnings=field_errors(raw.get("warnings")),
    )

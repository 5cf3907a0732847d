"""Bulk jobs: pending, then running, then completed over a short real time; the writes happen
when the job completes and results come back per item, in payload order."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cardtrader_sandbox.inventory import SellerInventory
from cardtrader_sandbox.operations import (
    Payload,
    SandboxError,
    create_product,
    delete_product,
    update_product,
)

KINDS = ("bulk_create", "bulk_update", "bulk_destroy")


@dataclass
class JobTiming:
    """Seconds spent pending, then running (plus a little per item, like the real thing)."""

    pending: float = 0.2
    running: float = 0.3
    per_item: float = 0.0002


@dataclass
class Job:
    uuid: str
    kind: str
    items: list[Any]
    started: float
    pending_until: float
    done_at: float
    results: list[dict[str, object]] = field(default_factory=list)
    unprocessable: bool = False
    applied: bool = False

    def state(self, now: float) -> str:
        if now < self.pending_until:
            return "pending"
        if now < self.done_at or not self.applied:
            return "running"
        return "unprocessable" if self.unprocessable else "completed"

    def as_dict(self, now: float) -> dict[str, object]:
        state = self.state(now)
        results = self.results if state in ("completed", "unprocessable") else []
        stats = {"ok": 0, "warning": 0, "error": 0}
        for r in results:
            stats[str(r["result"])] += 1
        return {"uuid": self.uuid, "state": state, "stats": stats, "results": results}


def new_job(kind: str, items: list[Any], now: float, timing: JobTiming) -> Job:
    pending_until = now + timing.pending
    done_at = pending_until + timing.running + timing.per_item * len(items)
    return Job(str(uuid.uuid4()), kind, items, now, pending_until, done_at)


def _one(
    inv: SellerInventory, kind: str, item: Any, new_id: Callable[[], int], quirk: bool
) -> tuple[int, dict[str, object]]:
    if not isinstance(item, dict):
        raise SandboxError(422, "validation_error", "Validation failed", {"item": ["is invalid"]})
    if kind == "bulk_create":
        product, warnings = create_product(inv, item, new_id, quirk)
        return product.id, warnings
    product_id = item.get("id")
    if not isinstance(product_id, int) or isinstance(product_id, bool):
        raise SandboxError(422, "validation_error", "Validation failed", {"id": ["is missing"]})
    if kind == "bulk_update":
        body: Payload = {k: v for k, v in item.items() if k != "id"}
        product, warnings = update_product(inv, product_id, body, quirk)
        return product.id, warnings
    return delete_product(inv, product_id).id, {}


def run_job(job: Job, inv: SellerInventory, new_id: Callable[[], int], foil_quirk: bool) -> None:
    """Apply every item once (idempotent per job) and record one result per item."""
    if job.applied:
        return
    job.unprocessable = not job.items
    for index, item in enumerate(job.items):
        result: dict[str, object] = {"job_index": index}
        try:
            product_id, warnings = _one(inv, job.kind, item, new_id, foil_quirk)
        except SandboxError as exc:
            errors = exc.errors if isinstance(exc.errors, dict) else {"base": [exc.message]}
            if exc.code == "not_found":
                errors = {"id": ["Product not found"]}
            result.update(result="error", errors=errors)
        else:
            result.update(product_id=product_id, result="warning" if warnings else "ok")
            if warnings:
                result["warnings"] = warnings
        job.results.append(result)
    job.applied = True

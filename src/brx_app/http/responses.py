"""The response models: they document the JSON each resource builds (the OpenAPI document's
responses) and, in tests, check it. Requests are in `schemas.py`."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorBody(BaseModel):
    error: ErrorDetail
    trace_id: str


class Accepted(BaseModel):
    status: Literal["accepted"]
    task_id: str
    user_id: UUID
    message: str


class ReconcileAccepted(Accepted):
    blueprint_id: int | None
    dry_run: bool = False


class SyncStatusOut(BaseModel):
    user_id: UUID
    sync_status: Literal["idle", "initial_sync", "active", "error"]
    last_sync_at: datetime | None
    last_error: str | None
    connected: bool


class ConnectionOut(BaseModel):
    user_id: UUID
    connected: Literal[True]
    cardtrader_user_id: int | None
    webhook_url: str


class DisconnectedOut(BaseModel):
    user_id: UUID
    connected: Literal[False]
    purged: bool
    removed: dict[str, int] = Field(description="Rows erased per kind (with purge=true).")


class OperationOut(BaseModel):
    operation_id: str
    operation_type: Literal["bulk_sync", "update", "delete", "purchase", "webhook", "periodic_sync"]
    status: Literal["pending", "completed", "failed"]
    attempts: int
    last_error: str | None = Field(description="Why it failed, or what it is retrying after.")
    created_at: datetime | None
    completed_at: datetime | None
    item_id: int | None
    blueprint_id: int | None
    retry_of: str | None = Field(description="The failed operation this one retries.")
    retried_by: str | None = Field(description="The operation that retries this failed one.")


class OperationsOut(BaseModel):
    user_id: UUID
    items: list[OperationOut]
    total: int


class RetryAccepted(BaseModel):
    status: Literal["accepted"]
    task_id: str


class ProgressOut(BaseModel):
    user_id: UUID
    operation_id: str
    status: Literal["pending", "completed", "failed"]
    progress_percent: int
    total_chunks: int
    processed_chunks: int
    total_products: int
    processed: int
    created: int
    updated: int
    skipped: int
    unchanged: int
    deleted: int
    failed: int
    checked: int = Field(
        description="Local items compared with the whole export for removal (the last phase, "
        "after every chunk is in): moves while the vanished ones are looked for."
    )
    downloaded_bytes: int = Field(
        0,
        description="Bytes of CardTrader's export received (the first phase, before any "
        "product is read): saved when the first bytes arrive, then about twice a second.",
    )


class TaskOut(BaseModel):
    task_id: str
    status: Literal["PENDING", "STARTED", "SUCCESS", "FAILURE", "RETRY"]
    ready: bool
    message: str


class ItemOut(BaseModel):
    id: int
    blueprint_id: int
    quantity: int
    price_cents: int
    properties: dict[str, Any]
    external_stock_id: str | None
    description: str | None
    user_data_field: str | None
    graded: bool | None
    updated_at: datetime | None
    card_name: str | None = Field(description="CardTrader's English card name (`name_en`).")
    expansion_name: str | None = Field(description="The expansion's English name.")


class InventoryOut(BaseModel):
    user_id: UUID
    items: list[ItemOut]
    total: int


class ItemUpdated(BaseModel):
    item_id: int
    status: Literal["updated"]
    task_id: str | None
    cardtrader_sync_queued: bool
    external_stock_id: str | None


class ItemDeleted(BaseModel):
    item_id: int
    status: Literal["deleted"]
    task_id: str | None
    cardtrader_sync_queued: bool


class Purchased(BaseModel):
    item_id: int
    status: Literal["purchased"]
    quantity_purchased: int
    remaining_quantity: int
    message: str
    task_id: str
    cardtrader_confirmed: bool = Field(description="CardTrader took the units in the request")
    cardtrader_sync_queued: bool = Field(
        description="CardTrader could not answer in time: its decrement follows (at most once)"
    )


class LedgerEntryOut(BaseModel):
    delta: int
    reason: str = Field(description="purchase, edit, order, order_restore, sync, correction")
    operation_id: str
    at: datetime
    quantity_after: int | None


class HistoryOut(BaseModel):
    user_id: UUID
    item_id: int
    entries: list[LedgerEntryOut]


class WebhookAck(BaseModel):
    status: Literal["accepted"]
    webhook_id: str
    user_id: UUID
    processing_time_ms: float


class WebhookInstructions(BaseModel):
    step_1: str
    step_2: str
    step_3: str
    step_4: str


class WebhookUrlOut(BaseModel):
    user_id: UUID
    webhook_url: str
    instructions: WebhookInstructions
    webhook_secret_configured: bool


class SetupDone(BaseModel):
    status: Literal["success"]
    user_id: UUID
    message: str
    webhook_secret_configured: bool


class CompositeIndexOut(BaseModel):
    status: Literal["success", "skipped"]
    message: str
    index_name: str
    columns: list[str]


class DebugLogsOut(BaseModel):
    records: list[dict[str, Any]]
    count: int


class Alive(BaseModel):
    status: Literal["alive"]


class DependencyState(BaseModel):
    status: Literal["healthy", "unhealthy"]
    message: str


class ReadyOut(BaseModel):
    model_config = ConfigDict(extra="allow")  # one DependencyState per dependency

    status: Literal["healthy", "unhealthy"]


class HealthOut(BaseModel):
    status: Literal["healthy", "unhealthy"]
    version: str
    versions: dict[str, str]
    environment: str
    dependencies: dict[str, DependencyState]
    details: dict[str, Any]
    queue_depth: dict[str, int]


class TestOrderOut(BaseModel):
    order_id: int | None
    product_id: int | None
    quantity: int | None
    webhook_statuses: list[int | None]

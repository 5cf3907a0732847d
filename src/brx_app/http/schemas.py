"""The pydantic models of the API: they validate requests at the edge and generate the OpenAPI
document, so the two cannot drift apart. Response models document (and in tests check) the JSON
the resources build."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt

from brx_domain.listing import MAX_SEARCH, InventorySort

INT32 = 2_147_483_647
MAX_TEXT = 2000


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- requests: query strings ------------------------------------------------------------------


class PageQuery(_Model):
    limit: int = Field(100, ge=1, le=1000, description="Page size, 1..1000.")
    offset: int = Field(0, ge=0, le=1_000_000_000, description="Items to skip.")


class InventoryQueryIn(PageQuery):
    """Filters (combined with AND) and a sort for `GET /inventory`."""

    q: str | None = Field(
        None, max_length=MAX_SEARCH, description="Card name contains this (any case)."
    )
    blueprint_id: int | None = Field(None, ge=1, le=INT32, description="CardTrader blueprint.")
    external_stock_id: str | None = Field(
        None, min_length=1, max_length=255, description="CardTrader product id."
    )
    condition: str | None = Field(None, max_length=64, examples=["Near Mint", "NM"])
    language: str | None = Field(None, max_length=16, examples=["it"])
    out_of_stock: bool | None = Field(None, description="true: quantity 0; false: in stock.")
    unlisted: bool | None = Field(None, description="true: not on CardTrader; false: listed.")
    sort: str = Field(  # its vocabulary is checked by the domain (`InventoryQuery.of`)
        InventorySort.ID.value,
        max_length=16,
        description="id, name, price, quantity or updated; a leading '-' reverses.",
        json_schema_extra={"enum": [s.value for s in InventorySort]},
    )


class StartQuery(_Model):
    force: bool = Field(False, description="Start even if a bulk sync is already running.")


class ReconcileQuery(_Model):
    blueprint_id: int | None = Field(None, ge=1, le=INT32, description="Only this blueprint.")
    dry_run: bool = Field(False, description="Count what would change, change nothing.")


class DebugLogsQuery(_Model):
    limit: int = Field(100, ge=1, le=500)


# --- requests: bodies -----------------------------------------------------------------------


class PropertiesIn(BaseModel):
    """CardTrader properties; the editable ones are validated, other keys kept (merged)."""

    model_config = ConfigDict(extra="allow")

    condition: str | None = Field(None, max_length=64, examples=["Near Mint"])
    mtg_language: str | None = Field(None, max_length=16, examples=["en"])
    mtg_foil: StrictBool | None = None
    signed: StrictBool | None = None
    altered: StrictBool | None = None


class ItemUpdate(_Model):
    """A partial update: only the fields sent change; `properties` merges key by key."""

    quantity: StrictInt | None = Field(None, ge=0, le=INT32)
    price_cents: StrictInt | None = Field(None, ge=0, le=INT32)
    description: str | None = Field(None, max_length=MAX_TEXT)
    user_data_field: str | None = Field(None, max_length=MAX_TEXT)
    graded: StrictBool | None = None
    properties: PropertiesIn | None = None


class PurchaseRequest(BaseModel):
    """`purchaseQuantity` (or its alias `quantity`), at least 1."""

    model_config = ConfigDict(extra="ignore")

    purchaseQuantity: StrictInt | None = Field(None, ge=1, le=INT32)  # the seed's name
    quantity: StrictInt | None = Field(None, ge=1, le=INT32, description="Alias.")


class SetupTestUser(_Model):
    user_id: UUID
    cardtrader_token: str = Field(min_length=1, max_length=4096)


class TestOrderRequest(_Model):
    """A buyer's order in the CardTrader sandbox (development): one product, some units."""

    product_id: StrictInt | None = Field(None, ge=1, description="Any product in stock if absent.")
    quantity: StrictInt = Field(1, ge=1, le=100)
    test: StrictBool = Field(False, description="Send it as a `mode: test` event.")


class TestOrderOut(BaseModel):
    order_id: int | None
    product_id: int | None
    quantity: int | None
    webhook_statuses: list[int | None]


class WebhookEvent(BaseModel):
    """CardTrader's delivery (documented here; verified by signature over the raw body)."""

    model_config = ConfigDict(extra="allow")

    id: str
    time: int | float = Field(description="Epoch seconds.")
    cause: str
    object_class: str
    object_id: int
    mode: str
    data: dict[str, Any] | None = None


# --- responses --------------------------------------------------------------------------------


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

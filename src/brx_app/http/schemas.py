"""The pydantic models of the API: they validate requests at the edge and generate the OpenAPI
document, so the two cannot drift apart. Response models document (and in tests check) the JSON
the resources build."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    MISSING,
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from brx_domain.inventory import (
    CONDITION_SPELLINGS,
    CONDITIONS,
    LANGUAGE_SPELLINGS,
    LANGUAGES,
    ItemPatch,
    Properties,
)
from brx_domain.limits import (
    DEBUG_LOGS_DEFAULT,
    DEBUG_LOGS_MAX,
    ID_TEXT_MAX,
    INT32_MAX,
    INT64_MAX,
    OFFSET_MAX,
    PAGE_DEFAULT,
    PAGE_MAX,
    PROPERTY_KEY_MAX,
    PROPERTY_KEYS_MAX,
    PROPERTY_TEXT_MAX,
    SEARCH_MAX,
    TEXT_MAX,
    TOKEN_MAX,
)
from brx_domain.listing import InventoryQuery, InventorySort


class _Model(BaseModel):
    """Requests refuse fields they do not know: a typo is a 400, never silently dropped."""

    model_config = ConfigDict(extra="forbid")


def refused(message: str, field: str = "body") -> PydanticCustomError:
    """A model-level refusal; `field` names it when the error has no location of its own
    (`errors.on_validation_error` reads it)."""
    return PydanticCustomError("invalid_input", message, {"field": field})


# --- field types: each bound once, from brx_domain.limits --------------------------------------
# An optional request field is `T | MISSING = MISSING`: it may be left out but is never null,
# and the OpenAPI document says exactly that (no `"default": null`, no `null` type).

NO_NUL = r"^[^\u0000]*$"  # Postgres text and jsonb cannot hold U+0000
Text = Annotated[StrictStr, StringConstraints(max_length=TEXT_MAX, pattern=NO_NUL)]
Count = Annotated[StrictInt, Field(ge=0, le=INT32_MAX)]
Units = Annotated[StrictInt, Field(ge=1, le=INT32_MAX)]
BlueprintId = Annotated[int, Field(ge=1, le=INT32_MAX)]
ItemId = Annotated[int, Field(ge=1, le=INT64_MAX)]
OpaqueId = Annotated[
    str, StringConstraints(min_length=1, max_length=ID_TEXT_MAX, pattern=r"^[!-~]+$")
]
Token = Annotated[
    StrictStr,
    StringConstraints(min_length=1, max_length=TOKEN_MAX, pattern=r"^[!-~]+$"),
    Field(description="Printable ASCII without spaces (it travels in an HTTP header)."),
]
PropertyKey = Annotated[
    StrictStr, StringConstraints(min_length=1, max_length=PROPERTY_KEY_MAX, pattern=NO_NUL)
]
_SCALAR: TypeAdapter[Any] = TypeAdapter(
    Annotated[StrictStr, StringConstraints(max_length=PROPERTY_TEXT_MAX, pattern=NO_NUL)]
    | Annotated[StrictInt, Field(ge=-INT64_MAX - 1, le=INT64_MAX)]
    | Annotated[StrictFloat, Field(allow_inf_nan=False)]
    | StrictBool
)
_KEY: TypeAdapter[str] = TypeAdapter(PropertyKey)


def _scalar(value: Any) -> Any:
    try:
        return _SCALAR.validate_python(value)
    except ValidationError:
        raise PydanticCustomError(
            "property_value",
            f"must be a string of at most {PROPERTY_TEXT_MAX} characters, a 64-bit integer, "
            "a number or a boolean",
        ) from None


PropertyValue = Annotated[Any, PlainValidator(_scalar), WithJsonSchema(_SCALAR.json_schema())]


def _canonical(spellings: Mapping[str, str], what: str, canonical: tuple[str, ...]) -> Any:
    def check(value: str) -> str:
        found = spellings.get(value)
        if found is None:
            raise PydanticCustomError(
                "vocabulary", f"unknown {what}; expected one of {list(canonical)} or an alias"
            )
        return found

    return check


Condition = Annotated[
    StrictStr,
    AfterValidator(_canonical(CONDITION_SPELLINGS, "condition", CONDITIONS)),
    WithJsonSchema({"type": "string", "enum": list(CONDITION_SPELLINGS)}),
    Field(description="Stored in CardTrader's spelling (NM -> Near Mint)."),
]
Language = Annotated[
    StrictStr,
    AfterValidator(_canonical(LANGUAGE_SPELLINGS, "language", LANGUAGES)),
    WithJsonSchema({"type": "string", "enum": list(LANGUAGE_SPELLINGS)}),
    Field(description="Stored as CardTrader's code (Japanese -> jp)."),
]


# --- requests: path parameters ----------------------------------------------------------------


class PathParams(_Model):
    """Every path parameter, by the name the routes give it: authenticated routes get theirs
    validated and typed before the resource runs, and the OpenAPI document takes their schemas
    from here. A new route with a new `{name}` adds its field here."""

    user_id: UUID | MISSING = MISSING
    item_id: ItemId | MISSING = MISSING
    task_id: OpaqueId | MISSING = MISSING


# --- requests: query strings ------------------------------------------------------------------


class PageQuery(_Model):
    limit: int = Field(PAGE_DEFAULT, ge=1, le=PAGE_MAX, description=f"Page size, 1..{PAGE_MAX}.")
    offset: int = Field(0, ge=0, le=OFFSET_MAX, description="Items to skip.")


class InventoryQueryIn(PageQuery):
    """Filters (combined with AND) and a sort for `GET /inventory`."""

    q: Annotated[str, StringConstraints(max_length=SEARCH_MAX, pattern=NO_NUL)] | MISSING = Field(
        MISSING, description="Card name contains this (any case)."
    )
    blueprint_id: BlueprintId | MISSING = Field(MISSING, description="CardTrader blueprint.")
    external_stock_id: OpaqueId | MISSING = Field(MISSING, description="CardTrader product id.")
    condition: Condition | MISSING = MISSING
    language: Language | MISSING = MISSING
    out_of_stock: bool | MISSING = Field(MISSING, description="true: quantity 0; false: in stock.")
    unlisted: bool | MISSING = Field(MISSING, description="true: not on CardTrader; false: listed.")
    sort: InventorySort = Field(
        InventorySort.ID, description="id, name, price, quantity or updated; '-' reverses."
    )

    def to_query(self) -> InventoryQuery:
        return InventoryQuery.of(**self.model_dump(exclude={"limit", "offset"}))


class StartQuery(_Model):
    force: bool = Field(False, description="Start even if a bulk sync is already running.")


class ReconcileQuery(_Model):
    blueprint_id: BlueprintId | MISSING = Field(MISSING, description="Only this blueprint.")
    dry_run: bool = Field(False, description="Count what would change, change nothing.")

    @property
    def blueprint(self) -> int | None:
        return None if self.blueprint_id is MISSING else self.blueprint_id


class DebugLogsQuery(_Model):
    limit: int = Field(DEBUG_LOGS_DEFAULT, ge=1, le=DEBUG_LOGS_MAX)


# --- requests: bodies -----------------------------------------------------------------------


class PropertiesIn(BaseModel):
    """CardTrader properties: the editable ones checked against the domain's vocabulary, other
    keys kept (merged key by key) if they are scalars."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "maxProperties": PROPERTY_KEYS_MAX,
            "propertyNames": _KEY.json_schema(),
        },
    )
    __pydantic_extra__: dict[str, PropertyValue] = Field(init=False)

    condition: Condition | MISSING = MISSING
    mtg_language: Language | MISSING = MISSING
    pokemon_language: Language | MISSING = MISSING
    language: Language | MISSING = MISSING
    mtg_foil: StrictBool | MISSING = MISSING
    signed: StrictBool | MISSING = MISSING
    altered: StrictBool | MISSING = MISSING

    @model_validator(mode="before")
    @classmethod
    def _keys(cls, raw: Any) -> Any:
        if isinstance(raw, Mapping):
            if len(raw) > PROPERTY_KEYS_MAX:
                raise refused(f"at most {PROPERTY_KEYS_MAX} keys")
            for key in raw:
                try:
                    _KEY.validate_python(key)
                except ValidationError:
                    raise refused(
                        f"keys are 1..{PROPERTY_KEY_MAX} characters without U+0000"
                    ) from None
        return raw


class ItemUpdate(_Model):
    """A partial update: only the fields sent change (at least one); `properties` merges key
    by key. No field may be null."""

    model_config = ConfigDict(json_schema_extra={"minProperties": 1})

    quantity: Count | MISSING = MISSING
    price_cents: Count | MISSING = MISSING
    description: Text | MISSING = MISSING
    user_data_field: Text | MISSING = MISSING
    graded: StrictBool | MISSING = MISSING
    properties: PropertiesIn | MISSING = MISSING

    @model_validator(mode="after")
    def _something(self) -> ItemUpdate:
        if not self.model_fields_set:
            raise refused("nothing to update; send at least one editable field")
        return self

    def to_patch(self) -> ItemPatch:
        fields = self.model_dump(exclude={"properties"})
        if self.properties is MISSING:
            return ItemPatch(**fields)
        return ItemPatch(**fields, properties=Properties.trusted(self.properties.model_dump()))


class PurchaseRequest(_Model):
    """Exactly one of `purchaseQuantity` (the seed's name) or its alias `quantity`, >= 1."""

    model_config = ConfigDict(
        json_schema_extra={
            "oneOf": [{"required": ["purchaseQuantity"]}, {"required": ["quantity"]}]
        }
    )

    purchaseQuantity: Units | MISSING = MISSING
    quantity: Units | MISSING = Field(MISSING, description="Alias of purchaseQuantity.")

    @model_validator(mode="after")
    def _one_quantity(self) -> PurchaseRequest:
        if len(self.model_fields_set) != 1:
            raise refused("send exactly one of purchaseQuantity or quantity", "purchaseQuantity")
        return self

    @property
    def units(self) -> int:
        if self.purchaseQuantity is not MISSING:
            return self.purchaseQuantity
        if self.quantity is not MISSING:
            return self.quantity
        raise TypeError("unreachable: _one_quantity requires one of the two")


class SetupTestUser(_Model):
    user_id: UUID
    cardtrader_token: Token


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
    """CardTrader's delivery, verified by signature over the raw body and then read by the
    domain (`brx_domain.orders.parse_event`); this model documents what that parser accepts,
    and a test holds the two to each other."""

    model_config = ConfigDict(extra="allow")

    id: OpaqueId
    time: StrictInt | StrictFloat = Field(description="Epoch seconds.")
    cause: Literal["order.create", "order.update", "order.destroy"]
    object_class: Any = None
    object_id: Annotated[StrictInt, Field(ge=1, le=INT64_MAX)]
    mode: Literal["live", "test"] | MISSING = Field(MISSING, description="Defaults to live.")
    data: dict[str, Any] | None = Field(None, description="The order; `{}` for order.destroy.")


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

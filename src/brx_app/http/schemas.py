"""The pydantic models of the API: they validate every request at the edge (path parameters,
query strings, bodies; field types in `fields.py`) and generate the OpenAPI document, so the two
cannot drift apart (tests/fuzz/test_schema_agreement.py holds them to each other). Response
models document (and in tests check) the JSON the resources build."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    MISSING,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StringConstraints,
    ValidationError,
    model_validator,
)

from brx_app.http.fields import (
    INTEGRAL,
    NO_NUL,
    PROPERTY_KEY,
    BigId,
    BlueprintId,
    Condition,
    Count,
    ItemId,
    Language,
    OpaqueId,
    PathId,
    PropertyValue,
    Text,
    Token,
    Units,
    refused,
)
from brx_domain.inventory import ItemPatch, Properties
from brx_domain.limits import (
    DEBUG_LOGS_DEFAULT,
    DEBUG_LOGS_MAX,
    OFFSET_MAX,
    PAGE_DEFAULT,
    PAGE_MAX,
    PROPERTY_KEY_MAX,
    PROPERTY_KEYS_MAX,
    SEARCH_MAX,
)
from brx_domain.listing import InventoryQuery, InventorySort
from brx_domain.sync import OperationStatus, OperationType


class _Model(BaseModel):
    """Requests refuse fields they do not know: a typo is a 400, never silently dropped."""

    model_config = ConfigDict(extra="forbid")


# --- requests: path parameters ----------------------------------------------------------------


class PathParams(_Model):
    """Every path parameter, by the name the routes give it: authenticated routes get theirs
    validated and typed before the resource runs, and the OpenAPI document takes their schemas
    from here. A new route with a new `{name}` adds its field here."""

    user_id: UUID | MISSING = MISSING
    item_id: ItemId | MISSING = MISSING
    task_id: PathId | MISSING = MISSING
    operation_id: PathId | MISSING = MISSING


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


class OperationsQuery(PageQuery):
    status: OperationStatus | MISSING = Field(
        MISSING, description="Only operations in this status."
    )
    type: OperationType | MISSING = Field(MISSING, description="Only operations of this type.")


class DebugLogsQuery(_Model):
    limit: int = Field(DEBUG_LOGS_DEFAULT, ge=1, le=DEBUG_LOGS_MAX)


class IdempotencyHeader(BaseModel):
    """The `Idempotency-Key` header of the shop's writes (visible ASCII, no spaces)."""

    key: OpaqueId = Field(
        alias="Idempotency-Key",
        description="A client-chosen key (e.g. a UUID): the same key with the same request "
        "within 24 hours returns the first answer and changes nothing again; with a different "
        "request it is 422; while the first is still running it is 409.",
    )


# --- requests: bodies -----------------------------------------------------------------------


class PropertiesIn(BaseModel):
    """CardTrader properties: the editable ones checked against the domain's vocabulary, other
    keys kept (merged key by key) if they are scalars."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "maxProperties": PROPERTY_KEYS_MAX,
            "propertyNames": PROPERTY_KEY.json_schema(),
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
                    PROPERTY_KEY.validate_python(key)
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

    product_id: BigId | MISSING = Field(MISSING, description="Any product in stock if absent.")
    quantity: Annotated[StrictInt, Field(ge=1, le=100), INTEGRAL] = 1
    test: StrictBool = Field(False, description="Send it as a `mode: test` event.")


class ConnectionIn(_Model):
    cardtrader_token: Token


class DisconnectQuery(_Model):
    purge: bool = Field(
        False,
        description="Also erase the stored token, secret, items, ledger, operations and keys.",
    )


class WebhookEvent(BaseModel):
    """CardTrader's delivery, verified by signature over the raw body and then read by the
    domain (`brx_domain.orders.parse_event`); this model documents what that parser accepts,
    and a test holds the two to each other."""

    model_config = ConfigDict(extra="allow")

    id: OpaqueId
    time: StrictInt | StrictFloat = Field(description="Epoch seconds.")
    cause: Literal["order.create", "order.update", "order.destroy"]
    object_class: Any = None
    object_id: BigId
    mode: Literal["live", "test"] | MISSING = Field(MISSING, description="Defaults to live.")
    data: dict[str, Any] | None = Field(None, description="The order; `{}` for order.destroy.")

"""Inventory items, their CardTrader properties, and the stock rules."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import MappingProxyType
from typing import Any
from uuid import UUID

from brx_domain.errors import InsufficientStock, InvalidInput, NotListedOnCardTrader

JSONValue = Any  # what json.loads can return; the domain does not need a finer type

CONDITIONS: tuple[str, ...] = (
    "Mint",
    "Near Mint",
    "Slightly Played",
    "Moderately Played",
    "Played",
    "Heavily Played",
    "Poor",
)
_CONDITION_ALIASES: dict[str, str] = {
    "m": "Mint",
    "mt": "Mint",
    "mint": "Mint",
    "nm": "Near Mint",
    "near mint": "Near Mint",
    "near_mint": "Near Mint",
    "nearmint": "Near Mint",
    "sp": "Slightly Played",
    "slightly played": "Slightly Played",
    "ex": "Slightly Played",
    "excellent": "Slightly Played",
    "lp": "Slightly Played",
    "lightly played": "Slightly Played",
    "mp": "Moderately Played",
    "moderately played": "Moderately Played",
    "gd": "Moderately Played",
    "good": "Moderately Played",
    "pl": "Played",
    "played": "Played",
    "hp": "Heavily Played",
    "heavily played": "Heavily Played",
    "po": "Poor",
    "poor": "Poor",
    "dmg": "Poor",
    "damaged": "Poor",
}
LANGUAGES: tuple[str, ...] = (
    "en",
    "fr",
    "de",
    "it",
    "jp",
    "kr",
    "pt",
    "ru",
    "es",
    "zh-CN",
    "zh-TW",
    "nl",
    "cz",
    "hu",
    "pl",
)
_LANGUAGE_ALIASES: dict[str, str] = {
    **{code.lower(): code for code in LANGUAGES},
    "ja": "jp",
    "ko": "kr",
    "cs": "cz",
    # keys are lower case with "-" (see normalize_language); codes map to themselves above
    "zhs": "zh-CN",
    "zht": "zh-TW",
    "english": "en",
    "italian": "it",
    "german": "de",
    "french": "fr",
    "spanish": "es",
    "japanese": "jp",
    "korean": "kr",
    "portuguese": "pt",
    "russian": "ru",
}
EDITABLE_FLAGS: tuple[str, ...] = ("mtg_foil", "signed", "altered")
LANGUAGE_KEYS: tuple[str, ...] = ("mtg_language", "pokemon_language", "language")
MAX_TEXT = 2000  # description / user_data_field bound
MAX_PROPERTY_KEYS = 50


def normalize_condition(value: object, field_name: str = "condition") -> str:
    """Map a condition or a common alias (NM, SP, MP ...) to CardTrader's spelling."""
    if isinstance(value, str):
        key = " ".join(value.strip().lower().replace("-", " ").split())
        found = _CONDITION_ALIASES.get(key)
        if found:
            return found
    raise InvalidInput(
        field_name, f"unknown condition {value!r}; expected one of {list(CONDITIONS)}"
    )


def normalize_language(value: object, field_name: str = "mtg_language") -> str:
    if isinstance(value, str):
        found = _LANGUAGE_ALIASES.get(value.strip().lower().replace("_", "-"))  # zh_CN = zh-CN
        if found:
            return found
    raise InvalidInput(field_name, f"unknown language {value!r}; expected one of {list(LANGUAGES)}")


def _flag(value: object, field_name: str) -> bool:
    if isinstance(value, bool):
        return value
    if value in (0, 1) and not isinstance(value, float):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise InvalidInput(field_name, f"must be a boolean, got {value!r}")


@dataclass(frozen=True)
class Properties:
    """CardTrader's `properties_hash`: editable keys validated, every other key kept as is."""

    values: Mapping[str, JSONValue] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def parse(cls, raw: object, field_name: str = "properties") -> Properties:
        """Validate and normalise user input; raises InvalidInput naming the bad key."""
        if raw is None:
            return cls()
        if not isinstance(raw, Mapping):
            raise InvalidInput(field_name, "must be an object")
        if len(raw) > MAX_PROPERTY_KEYS:
            raise InvalidInput(field_name, f"at most {MAX_PROPERTY_KEYS} keys")
        out: dict[str, JSONValue] = {}
        for key, value in raw.items():
            if not isinstance(key, str) or not key or len(key) > 64:
                raise InvalidInput(field_name, f"bad key {key!r}")
            out[key] = _normalize_value(key, value, f"{field_name}.{key}")
        return cls(MappingProxyType(out))

    @classmethod
    def trusted(cls, raw: Mapping[str, JSONValue] | None) -> Properties:
        """Wrap what CardTrader sent without judging it (its data, its vocabulary)."""
        return cls(MappingProxyType(dict(raw or {})))

    def merged(self, patch: Properties) -> Properties:
        """Key-by-key merge: keys in `patch` win, keys it does not mention are kept."""
        return Properties(MappingProxyType({**self.values, **patch.values}))

    @property
    def condition(self) -> str | None:
        value = self.values.get("condition")
        return value if isinstance(value, str) else None

    @property
    def language(self) -> str | None:
        for key in LANGUAGE_KEYS:
            value = self.values.get(key)
            if isinstance(value, str):
                return value
        return None

    def to_dict(self) -> dict[str, JSONValue]:
        return dict(self.values)

    def __hash__(self) -> int:
        return hash(tuple(sorted((k, repr(v)) for k, v in self.values.items())))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Properties) and dict(self.values) == dict(other.values)


def _normalize_value(key: str, value: JSONValue, field_name: str) -> JSONValue:
    if key == "condition":
        return normalize_condition(value, field_name)
    if key in LANGUAGE_KEYS:
        return normalize_language(value, field_name)
    if key in EDITABLE_FLAGS:
        return _flag(value, field_name)
    if isinstance(value, str) and len(value) > 256:
        raise InvalidInput(field_name, "at most 256 characters")
    if isinstance(value, (dict, list)):
        raise InvalidInput(field_name, "must be a scalar")
    return value


@dataclass(frozen=True)
class InventoryItem:
    """One line of a user's stock, mirrored from (and pushed to) one CardTrader product."""

    id: int
    user_id: UUID
    blueprint_id: int
    quantity: int
    price_cents: int
    properties: Properties = field(default_factory=Properties)
    external_stock_id: str | None = None
    description: str | None = None
    user_data_field: str | None = None
    graded: bool | None = None
    updated_at: datetime | None = None
    created_at: datetime | None = None
    card_name: str | None = None  # from CardTrader's export (`name_en`); not editable here
    expansion_name: str | None = None  # the export's `expansion.name_en`

    @property
    def listed_on_cardtrader(self) -> bool:
        return bool(self.external_stock_id)


@dataclass(frozen=True)
class ItemPatch:
    """A partial update; `None` means 'not mentioned'. Built by `ItemPatch.parse`."""

    quantity: int | None = None
    price_cents: int | None = None
    description: str | None = None
    user_data_field: str | None = None
    graded: bool | None = None
    properties: Properties | None = None

    @classmethod
    def parse(cls, raw: Mapping[str, object]) -> ItemPatch:
        """Validate a JSON object into a patch; unknown keys and bad values name their field."""
        allowed = {
            "quantity",
            "price_cents",
            "description",
            "user_data_field",
            "graded",
            "properties",
        }
        unknown = sorted(set(raw) - allowed)
        if unknown:
            raise InvalidInput(unknown[0], "is not an editable field")
        patch = cls(
            quantity=_non_negative_int(raw.get("quantity"), "quantity"),
            price_cents=_non_negative_int(raw.get("price_cents"), "price_cents"),
            description=_bounded_text(raw.get("description"), "description"),
            user_data_field=_bounded_text(raw.get("user_data_field"), "user_data_field"),
            graded=None if raw.get("graded") is None else _flag(raw.get("graded"), "graded"),
            properties=None
            if raw.get("properties") is None
            else Properties.parse(raw["properties"]),
        )
        if patch.is_empty:
            raise InvalidInput("body", "nothing to update; send at least one editable field")
        return patch

    @property
    def is_empty(self) -> bool:
        return all(getattr(self, f) is None for f in self.__dataclass_fields__)

    def applied_to(self, item: InventoryItem) -> InventoryItem:
        changes: dict[str, Any] = {
            name: getattr(self, name)
            for name in ("quantity", "price_cents", "description", "user_data_field", "graded")
            if getattr(self, name) is not None
        }
        if self.properties is not None:
            changes["properties"] = item.properties.merged(self.properties)
        return replace(item, **changes)


def _non_negative_int(value: object, field_name: str, maximum: int = 2_147_483_647) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(field_name, f"must be an integer, got {value!r}")
    if value < 0:
        raise InvalidInput(field_name, "must not be negative")
    if value > maximum:
        raise InvalidInput(field_name, f"must be at most {maximum}")
    return value


def _bounded_text(value: object, field_name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(field_name, "must be a string")
    if len(value) > MAX_TEXT:
        raise InvalidInput(field_name, f"at most {MAX_TEXT} characters")
    return value


class StockReason(enum.StrEnum):
    """Why a quantity changed; every ledger entry carries one."""

    PURCHASE = "purchase"
    EDIT = "edit"
    ORDER = "order"
    ORDER_RESTORE = "order_restore"
    SYNC = "sync"
    CORRECTION = "correction"  # CardTrader said the product is gone or short


@dataclass(frozen=True)
class LedgerEntry:
    """One quantity change of one item: delta, why, and which operation made it."""

    user_id: UUID
    item_id: int
    delta: int
    reason: StockReason
    operation_id: str
    at: datetime
    quantity_after: int | None = None


def parse_purchase_quantity(raw: Mapping[str, object]) -> int:
    """`purchaseQuantity` (or its alias `quantity`): an integer >= 1."""
    value = raw.get("purchaseQuantity", raw.get("quantity"))
    if value is None:
        raise InvalidInput("purchaseQuantity", "is required")
    checked = _non_negative_int(value, "purchaseQuantity")
    if checked is None or checked < 1:
        raise InvalidInput("purchaseQuantity", "must be at least 1")
    return checked


def check_purchase(item: InventoryItem, quantity: int) -> None:
    """The purchase rules in order: a sane amount, a CardTrader listing, enough stock."""
    if quantity < 1:
        raise InvalidInput("purchaseQuantity", "must be at least 1")
    if not item.listed_on_cardtrader:
        raise NotListedOnCardTrader(f"item {item.id} is not listed on CardTrader")
    if quantity > item.quantity:
        raise InsufficientStock(quantity, item.quantity)


def ledger_for_edit(
    before: InventoryItem, after: InventoryItem, operation_id: str, at: datetime
) -> LedgerEntry | None:
    """The ledger entry an edit owes, or None when the quantity did not change."""
    delta = after.quantity - before.quantity
    if delta == 0:
        return None
    return LedgerEntry(
        before.user_id, before.id, delta, StockReason.EDIT, operation_id, at, after.quantity
    )

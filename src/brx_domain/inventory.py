"""Inventory items, their CardTrader properties, the property vocabulary, and the stock rules.

The shape and bounds of user input are checked at the edge (`brx_app.http.schemas`, with the
limits of `brx_domain.limits`); the vocabulary of conditions and languages is the domain's own
data, and the HTTP models accept exactly its spellings."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from types import MappingProxyType
from typing import Any
from uuid import UUID

from brx_domain.errors import InsufficientStock, NotListedOnCardTrader

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
    # lower case with "-"; `_spellings` adds the other cases and "_"
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


def _spellings(aliases: Mapping[str, str], separators: str) -> dict[str, str]:
    """Every accepted spelling -> its canonical value: each alias with any of `separators`
    between its words, in lower, UPPER, Title or its own case. A finite table, so the API
    can publish it as an enum and accept exactly that list."""
    table: dict[str, str] = {}
    for alias, canonical in aliases.items():
        table.setdefault(canonical, canonical)
        words = alias.replace("-", " ").replace("_", " ").split()
        for sep in separators:
            joined = sep.join(words)
            for spelling in (joined, joined.lower(), joined.upper(), joined.title()):
                table.setdefault(spelling, canonical)
    return table


CONDITION_SPELLINGS: Mapping[str, str] = MappingProxyType(
    _spellings({**{c: c for c in CONDITIONS}, **_CONDITION_ALIASES}, " -_")
)
LANGUAGE_SPELLINGS: Mapping[str, str] = MappingProxyType(
    _spellings({**{code: code for code in LANGUAGES}, **_LANGUAGE_ALIASES}, "-_")
)


@dataclass(frozen=True, slots=True)
class Properties:
    """CardTrader's `properties_hash`; the shop edits some keys, every other key is kept."""

    values: Mapping[str, JSONValue] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def trusted(cls, raw: Mapping[str, JSONValue] | None) -> Properties:
        """Wrap as is: what CardTrader sent (its data, its vocabulary), or user input the edge
        has already checked and brought to canonical spellings."""
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
        # A proxy's copy() is its dict's: ~8x quicker than dict(proxy), which goes key by key
        # (once per product of every sync chunk).
        values = self.values
        if type(values) is MappingProxyType:
            copy = values.copy()
            if type(copy) is dict:
                return copy
        return dict(values)

    def __hash__(self) -> int:
        return hash(tuple(sorted((k, repr(v)) for k, v in self.values.items())))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Properties) and dict(self.values) == dict(other.values)


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

    @classmethod
    def stored(cls, **values: Any) -> InventoryItem:
        """An item as its store holds it, every field given by name (no default applies): built
        without the frozen dataclass's one `object.__setattr__` per field, which was 1.2 of the
        1.6 us an item costs, and an inventory page builds 100 (docs/benchmarks.md). Frozen all
        the same once built."""
        if len(values) != _ITEM_FIELDS:
            raise TypeError(f"InventoryItem.stored needs all {_ITEM_FIELDS} fields")
        item = object.__new__(cls)
        item.__dict__.update(values)
        return item


_ITEM_FIELDS = len(fields(InventoryItem))


@dataclass(frozen=True)
class ItemPatch:
    """A partial update; `None` means 'not mentioned' (the edge refuses an explicit null)."""

    quantity: int | None = None
    price_cents: int | None = None
    description: str | None = None
    user_data_field: str | None = None
    graded: bool | None = None
    properties: Properties | None = None

    def applied_to(self, item: InventoryItem) -> InventoryItem:
        changes: dict[str, Any] = {
            name: getattr(self, name)
            for name in ("quantity", "price_cents", "description", "user_data_field", "graded")
            if getattr(self, name) is not None
        }
        if self.properties is not None:
            changes["properties"] = item.properties.merged(self.properties)
        return replace(item, **changes)


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


def check_purchase(item: InventoryItem, quantity: int) -> None:
    """The purchase rules in order: a CardTrader listing, then enough stock. `quantity` is
    at least 1 (the HTTP model's bound)."""
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

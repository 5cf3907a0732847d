"""What an inventory page may ask for: filters and a sort, defined once.

`InventoryQuery.matches` and `InventoryQuery.sort_key` are the meaning of every filter and
sort: the in-memory fake applies them directly, the Postgres adapter translates them to SQL,
and the repository contract suite holds both to the same answers.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from brx_domain.inventory import InventoryItem


class InventorySort(enum.StrEnum):
    """A sort and its exact reverse (`-name`); ties are always broken by id, so pages are
    stable. Items without a name come after the named ones (and first in `-name`)."""

    ID = "id"
    ID_DESC = "-id"
    NAME = "name"
    NAME_DESC = "-name"
    PRICE = "price"
    PRICE_DESC = "-price"
    QUANTITY = "quantity"
    QUANTITY_DESC = "-quantity"
    UPDATED = "updated"
    UPDATED_DESC = "-updated"

    @property
    def field(self) -> str:
        return self.value.removeprefix("-")

    @property
    def descending(self) -> bool:
        return self.value.startswith("-")


@dataclass(frozen=True)
class InventoryQuery:
    """Filters (all optional, combined with AND) and a sort for one user's inventory.

    `q` is a case-insensitive substring of the card name; `condition` and `language` are
    CardTrader's spellings (the edge maps aliases such as NM or `ja` to them), an item's language
    being its first language key that holds a string (`Properties.language`); `out_of_stock`
    selects quantity 0 (or, when False, in stock); `unlisted` selects items with no CardTrader
    product (or, when False, those listed)."""

    q: str | None = None
    blueprint_id: int | None = None
    external_stock_id: str | None = None
    condition: str | None = None
    language: str | None = None
    out_of_stock: bool | None = None
    unlisted: bool | None = None
    sort: InventorySort = InventorySort.ID

    @classmethod
    def of(
        cls,
        *,
        q: str | None = None,
        blueprint_id: int | None = None,
        external_stock_id: str | None = None,
        condition: str | None = None,
        language: str | None = None,
        out_of_stock: bool | None = None,
        unlisted: bool | None = None,
        sort: InventorySort = InventorySort.ID,
    ) -> InventoryQuery:
        """A blank search is no search, and the search is compared lower-cased. The values are
        checked and bounded at the edge (`brx_app.http.schemas.InventoryQueryIn`)."""
        text = (q or "").strip().lower()
        return cls(
            q=text or None,
            blueprint_id=blueprint_id,
            external_stock_id=external_stock_id,
            condition=condition,
            language=language,
            out_of_stock=out_of_stock,
            unlisted=unlisted,
            sort=sort,
        )

    @property
    def is_plain(self) -> bool:
        """No filter and the default sort: the hot path, served by the plain page query."""
        return self == InventoryQuery()

    def matches(self, item: InventoryItem) -> bool:
        props = item.properties.values
        checks = (
            self.q is None or (item.card_name is not None and self.q in item.card_name.lower()),
            self.blueprint_id is None or item.blueprint_id == self.blueprint_id,
            self.external_stock_id is None or item.external_stock_id == self.external_stock_id,
            self.condition is None or props.get("condition") == self.condition,
            self.language is None or item.properties.language == self.language,
            self.out_of_stock is None or (item.quantity == 0) == self.out_of_stock,
            self.unlisted is None or (item.external_stock_id is None) == self.unlisted,
        )
        return all(checks)

    def sort_key(self, item: InventoryItem) -> tuple[object, ...]:
        """The ascending key of `sort.field`; a descending sort reverses the whole order."""
        field = self.sort.field
        if field == "name":
            name = item.card_name  # None is only ever compared with None (the flag differs)
            return (name is None, None if name is None else name.lower(), item.id)
        if field == "price":
            return (item.price_cents, item.id)
        if field == "quantity":
            return (item.quantity, item.id)
        if field == "updated":
            return (item.updated_at is None, item.updated_at, item.id)
        return (item.id,)

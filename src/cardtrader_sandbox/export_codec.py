"""Fast serialisation of export rows: the parts products share (the blueprint's name, expansion
and read-only properties, the interned editable properties) are encoded once and reused, which
makes a 250,000-product export body about twice as quick to build as encoding every dict."""

from __future__ import annotations

import json

from cardtrader_sandbox.product import Product

dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode

_ROW = (
    '{"id":%d,"name_en":%s,"quantity":%d,"price_cents":%d,"price_currency":%s,'
    '"description":%s,"game_id":%d,"category_id":%d,"blueprint_id":%d,"properties_hash":%s,'
    '"user_id":%d,"graded":%s,"tag":%s,"user_data_field":%s,"bundle_size":1,'
    '"bundled_quantity":%d,"uploaded_images":[],"expansion":%s}'
)


class RowEncoder:
    """Encodes products of one seller exactly as `json` would encode `export_dict`."""

    def __init__(self, user_id: int, currency: str) -> None:
        self.user_id = user_id
        self.currency = dumps(currency)
        self._editable: dict[tuple[tuple[str, object], ...], str] = {}
        self._blueprint: dict[int, tuple[str, str, str]] = {}

    def _shared(self, product: Product) -> tuple[str, str, str]:
        bp = product.blueprint
        found = self._blueprint.get(bp.index)
        if found is None:
            found = (dumps(bp.name_en), dumps(bp.read_only)[1:-1], dumps(bp.expansion.as_dict()))
            self._blueprint[bp.index] = found
        return found

    def _properties(self, product: Product, read_only: str) -> str:
        key = tuple(product.properties.items())
        editable = self._editable.get(key)
        if editable is None:
            editable = dumps(product.properties)[1:-1]
            self._editable[key] = editable
        joined = f"{editable},{read_only}" if editable and read_only else editable or read_only
        return "{" + joined + "}"

    def row(self, p: Product) -> str:
        bp = p.blueprint
        name, read_only, expansion = self._shared(p)
        return _ROW % (
            p.id,
            name,
            p.quantity,
            p.price_cents,
            self.currency,
            dumps(p.description),
            bp.kind.game_id,
            bp.kind.category_id,
            bp.id,
            self._properties(p, read_only),
            self.user_id,
            dumps(p.graded),
            dumps(p.tag),
            dumps(p.user_data_field),
            p.quantity,
            expansion,
        )

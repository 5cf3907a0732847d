"""A seller's listing as the simulator keeps it, and its two CardTrader answer shapes (the export
row and the single-product `resource`); its own module so the inventory and the export encoder
both use it without importing each other."""

from __future__ import annotations

from dataclasses import dataclass

from cardtrader_sandbox.catalogue import Blueprint


@dataclass(slots=True)
class Product:
    """A listing; `properties` holds only the editable keys (read-only ones come from the
    blueprint). Never mutate `properties` in place: generated products share the dicts."""

    id: int
    blueprint: Blueprint
    quantity: int
    price_cents: int
    properties: dict[str, object]
    description: str | None
    graded: bool | int | None
    user_data_field: str | None
    tag: str | None = None

    def same_listing(self, other: Product) -> bool:
        """CardTrader increments an identical product instead of creating a second one."""
        return (self.blueprint.id, self.price_cents, self.properties) == (
            other.blueprint.id,
            other.price_cents,
            other.properties,
        )


def export_dict(product: Product, user_id: int, currency: str) -> dict[str, object]:
    """The `GET /products/export` element: `price_cents` and `properties_hash`."""
    bp = product.blueprint
    return {
        "id": product.id,
        "name_en": bp.name_en,
        "quantity": product.quantity,
        "price_cents": product.price_cents,
        "price_currency": currency,
        "description": product.description,
        "game_id": bp.kind.game_id,
        "category_id": bp.kind.category_id,
        "blueprint_id": bp.id,
        "properties_hash": {**product.properties, **bp.read_only},
        "user_id": user_id,
        "graded": product.graded,
        "tag": product.tag,
        "user_data_field": product.user_data_field,
        "bundle_size": 1,
        "bundled_quantity": product.quantity,
        "uploaded_images": [],
        "expansion": bp.expansion.as_dict(),
    }


def resource_dict(product: Product, currency: str) -> dict[str, object]:
    """The single-product answer's `resource`: `price {cents, currency}` and `properties`."""
    bp = product.blueprint
    return {
        "id": product.id,
        "quantity": product.quantity,
        "bundle_size": 1,
        "description": product.description,
        "graded": product.graded,
        "game_id": bp.kind.game_id,
        "category_id": bp.kind.category_id,
        "expansion_id": bp.expansion.id,
        "blueprint_id": bp.id,
        "user_data_field": product.user_data_field,
        "price": {"cents": product.price_cents, "currency": currency},
        "properties": dict(product.properties),
    }

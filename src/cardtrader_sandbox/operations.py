"""Product writes as CardTrader performs them, shared by the single endpoints and bulk jobs:
validation errors, property warnings, the non-idempotent create/increment."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from cardtrader_sandbox.catalogue import blueprint
from cardtrader_sandbox.inventory import SellerInventory
from cardtrader_sandbox.product import Product
from cardtrader_sandbox.properties import apply_properties, defaults

Payload = dict[str, Any]


class SandboxError(Exception):
    """An answer in CardTrader's error shape; `errors` is [] or {field: [messages]}."""

    def __init__(self, status: int, code: str, message: str, errors: object | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.errors: object = [] if errors is None else errors

    def body(self) -> dict[str, object]:
        return {
            "error_code": self.code,
            "errors": self.errors,
            "extra": {"message": self.message},
            "request_id": str(uuid.uuid4()),
        }


def not_found(what: str = "Product") -> SandboxError:
    return SandboxError(404, "not_found", f"{what} not found")


def missing(name: str) -> SandboxError:
    return SandboxError(400, "missing_parameter", f"param is missing or the value is empty: {name}")


def invalid(errors: dict[str, list[str]]) -> SandboxError:
    return SandboxError(422, "validation_error", "Validation failed", errors)


@dataclass
class Checked:
    """Field values that passed validation, and per-field error messages."""

    values: Payload = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)


def _price_cents(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError("is not a number")
    try:
        cents = Decimal(str(value)) * 100
    except InvalidOperation as exc:
        raise ValueError("is not a number") from exc
    if cents < 0:
        raise ValueError("must be greater than or equal to 0")
    return int(cents.to_integral_value())


def _quantity(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("is not an integer")
    if value < 0:
        raise ValueError("must be greater than or equal to 0")
    return value


def _text(value: object) -> str | None:
    if value is not None and not isinstance(value, str):
        raise ValueError("must be a string")
    if isinstance(value, str) and len(value) > 2000:
        raise ValueError("is too long (maximum is 2000 characters)")
    return value


def _graded(value: object) -> bool | None:
    if value is not None and not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


_FIELDS: dict[str, tuple[str, Callable[[object], object]]] = {
    "price": ("price_cents", _price_cents),
    "quantity": ("quantity", _quantity),
    "description": ("description", _text),
    "user_data_field": ("user_data_field", _text),
    "graded": ("graded", _graded),
}


def check_fields(payload: Payload) -> Checked:
    checked = Checked()
    for name, (attr, convert) in _FIELDS.items():
        if name in payload:
            try:
                checked.values[attr] = convert(payload[name])
            except ValueError as exc:
                checked.errors[name] = [str(exc)]
    return checked


def _properties(
    product: Product, given: object, strict: bool, foil_quirk: bool
) -> tuple[dict[str, object], dict[str, object]]:
    """(new properties, warnings); strict mode turns the warnings into a validation error."""
    bp = product.blueprint
    outcome = apply_properties(bp.kind, bp.read_only, product.properties, given, foil_quirk)
    if outcome.messages and strict:
        raise invalid({f"properties.{k}": v for k, v in outcome.messages.items()})
    warnings: dict[str, object] = {"properties": outcome.messages} if outcome.messages else {}
    return outcome.properties, warnings


def _strict(payload: Payload) -> bool:
    return bool(payload.get("error_mode") == "strict")


def create_product(
    inv: SellerInventory, payload: Payload, new_id: Callable[[], int], foil_quirk: bool
) -> tuple[Product, dict[str, object]]:
    """POST /products: an identical listing gets its quantity incremented (not idempotent)."""
    for name in ("blueprint_id", "price", "quantity"):
        if payload.get(name) is None:
            raise missing(name)
    checked = check_fields(payload)
    bp = blueprint(payload["blueprint_id"]) if isinstance(payload["blueprint_id"], int) else None
    if bp is None:
        checked.errors["blueprint_id"] = ["Blueprint not found"]
    if checked.errors or bp is None:
        raise invalid(checked.errors)
    draft = Product(0, bp, 0, 0, defaults(bp.kind), None, None, None)
    props, warnings = _properties(draft, payload.get("properties"), _strict(payload), foil_quirk)
    values = checked.values
    draft.properties, draft.price_cents = props, values["price_cents"]
    existing = inv.find_same(draft)
    if existing is not None:
        existing.quantity += values["quantity"]
        inv.touched(existing.id)
        return existing, warnings
    draft.id, draft.quantity = new_id(), values["quantity"]
    draft.description = values.get("description")
    draft.user_data_field = values.get("user_data_field")
    draft.graded = values.get("graded")
    inv.add(draft)
    return draft, warnings


def update_product(
    inv: SellerInventory, product_id: int, payload: Payload, foil_quirk: bool
) -> tuple[Product, dict[str, object]]:
    """PUT /products/{id}: only the fields given change; properties merge key by key."""
    product = inv.get(product_id)
    if product is None:
        raise not_found()
    checked = check_fields(payload)
    if checked.errors:
        raise invalid(checked.errors)
    props, warnings = _properties(product, payload.get("properties"), _strict(payload), foil_quirk)
    for attr, value in checked.values.items():
        setattr(product, attr, value)
    product.properties = props
    inv.touched(product.id)
    return product, warnings


def delete_product(inv: SellerInventory, product_id: int) -> Product:
    product = inv.remove(product_id)
    if product is None:
        raise not_found()
    return product


def increment_product(inv: SellerInventory, product_id: int, delta: object) -> Product:
    """POST /products/{id}/increment: quantity <= 0 removes the product (not idempotent)."""
    if delta is None:
        raise missing("delta_quantity")
    if isinstance(delta, bool) or not isinstance(delta, int):
        raise invalid({"delta_quantity": ["is not an integer"]})
    product = inv.get(product_id)
    if product is None:
        raise not_found()
    product.quantity += delta
    inv.touched(product_id)
    if product.quantity <= 0:
        inv.remove(product_id)
        product.quantity = 0
    return product

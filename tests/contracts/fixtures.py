"""Fixtures and builders shared by the repository contract suites (adapter-neutral)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from brx_domain.inventory import InventoryItem, Properties
from brx_domain.ports import UnitOfWorkFactory
from brx_domain.sync import OperationStatus, OperationType, RemoteProduct, SyncOperation

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)  # whole seconds: every database keeps them exactly


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def done_webhook_operation(user_id: UUID) -> SyncOperation:
    """The operation stored with a delivery, already completed: suites share one database and
    the outbox is global, so nothing is left pending for another test's worker to run."""
    return SyncOperation(
        str(uuid.uuid4()),
        user_id,
        OperationType.WEBHOOK,
        OperationStatus.COMPLETED,
        {"result": {"test_mode": True}},
        created_at=T0,
        completed_at=T0,
    )


@pytest.fixture
def fresh_user() -> UUID:
    """A user no other test touches, so suites can share one database."""
    return uuid.uuid4()


@pytest.fixture
def other_user() -> UUID:
    return uuid.uuid4()


def new_item(
    user_id: UUID,
    *,
    blueprint_id: int = 16,
    quantity: int = 4,
    price_cents: int = 25,
    external_stock_id: str | None = None,
    properties: dict[str, object] | None = None,
) -> InventoryItem:
    return InventoryItem(
        0,
        user_id,
        blueprint_id,
        quantity,
        price_cents,
        Properties.trusted(properties or {"condition": "Near Mint", "mtg_language": "it"}),
        external_stock_id,
        description="",
        user_data_field="box 12",
        graded=None,
    )


def product(
    product_id: int, *, blueprint_id: int = 16, quantity: int = 4, price_cents: int = 25
) -> RemoteProduct:
    return RemoteProduct(
        product_id,
        blueprint_id,
        quantity,
        price_cents,
        Properties.trusted({"condition": "Near Mint", "mtg_language": "it", "mtg_foil": False}),
        description="",
        user_data_field=None,
        graded=None,
    )


async def add_items(uow_factory: UnitOfWorkFactory, *items: InventoryItem) -> list[InventoryItem]:
    """Insert and commit; returns the stored items (with their ids)."""
    async with uow_factory() as uow:
        stored = [await uow.items.add(item) for item in items]
        await uow.commit()
    return stored


__all__ = ["T0", "add_items", "at", "fresh_user", "new_item", "other_user", "product"]

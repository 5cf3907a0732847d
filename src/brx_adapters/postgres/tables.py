"""The tables as SQLAlchemy Core objects, for building queries (the migrations own the DDL)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Enum,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

from brx_domain.sync import SyncStatus

metadata = MetaData()

sync_status_enum = Enum(*(s.value for s in SyncStatus), name="sync_status_enum", create_type=False)

settings = Table(
    "user_sync_settings",
    metadata,
    Column("user_id", UUID(as_uuid=True), primary_key=True),
    Column("cardtrader_token_encrypted", Text, nullable=False),
    Column("webhook_secret", String(255)),
    Column("sync_status", sync_status_enum, nullable=False),
    Column("last_sync_at", DateTime(timezone=True)),
    Column("last_error", Text),
    Column("created_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True)),
    Column("disconnected_at", DateTime(timezone=True)),
)

items = Table(
    "user_inventory_items",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("user_id", UUID(as_uuid=True), nullable=False),
    Column("blueprint_id", Integer, nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("price_cents", Integer, nullable=False),
    Column("properties", JSONB),
    Column("external_stock_id", String(255)),
    Column("description", Text),
    Column("user_data_field", Text),
    Column("graded", Boolean),
    Column("updated_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True)),
    Column("card_name", Text),
    Column("expansion_name", Text),
)

operations = Table(
    "sync_operations",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("user_id", UUID(as_uuid=True), nullable=False),
    Column("operation_id", String(255), nullable=False, unique=True),
    Column("operation_type", String(50), nullable=False),
    Column("status", String(50), nullable=False),
    Column("operation_metadata", JSONB),
    Column("created_at", DateTime(timezone=True)),
    Column("completed_at", DateTime(timezone=True)),
)

ledger = Table(
    "stock_ledger",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("user_id", UUID(as_uuid=True), nullable=False),
    Column("item_id", BigInteger, nullable=False),
    Column("delta", Integer, nullable=False),
    Column("reason", String(32), nullable=False),
    Column("operation_id", String(255), nullable=False),
    Column("quantity_after", Integer),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

webhooks = Table(
    "webhook_deliveries",
    metadata,
    Column("user_id", UUID(as_uuid=True), primary_key=True),
    Column("delivery_id", String(255), primary_key=True),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("mode", String(16), nullable=False),
    Column("body", JSONB, nullable=False),
)

orders = Table(
    "order_stock",
    metadata,
    Column("user_id", UUID(as_uuid=True), primary_key=True),
    Column("order_id", BigInteger, primary_key=True),
    Column("state", String(16), nullable=False),
    Column("taken", JSONB, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

idempotency = Table(
    "idempotency_keys",
    metadata,
    Column("user_id", UUID(as_uuid=True), primary_key=True),
    Column("idempotency_key", String(255), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("status_code", Integer),
    Column("response", JSONB),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)

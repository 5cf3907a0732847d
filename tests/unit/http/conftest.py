"""The API over the in-memory adapters, driven through `falcon.testing.ASGIConductor`."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.fernet import Fernet
from falcon.testing import ASGIConductor

from brx_adapters.memory import (
    FakeClock,
    MemoryMarketplace,
    MemoryMarketplaceGateway,
    MemoryStore,
    MemoryTaskQueue,
)
from brx_app.commands.keys import generate_rsa_pem
from brx_app.commands.token import mint_access_token
from brx_app.config import load_config
from brx_app.container import build_memory_container
from brx_app.http import create_app
from brx_domain.inventory import InventoryItem, Properties
from brx_domain.usecases.users import register_user

CT_TOKEN = "ct-token-of-the-shop"


@pytest.fixture(scope="session")
def rsa_keys() -> tuple[bytes, bytes]:
    return generate_rsa_pem()


@dataclass
class Api:
    """One service instance: its app, the stores behind it, and a way to mint tokens."""

    conductor: ASGIConductor
    container: Any
    private_pem: bytes
    clock: FakeClock
    gateway: MemoryMarketplaceGateway
    account: MemoryMarketplace
    user_id: uuid.UUID = field(default_factory=uuid.uuid4)

    @property
    def store(self) -> MemoryStore:
        return self.container.uow().store  # type: ignore[no-any-return]

    @property
    def queue(self) -> MemoryTaskQueue:
        return self.container.queue()  # type: ignore[no-any-return]

    def token(self, user_id: uuid.UUID | None = None, **options: Any) -> str:
        return mint_access_token(self.private_pem, str(user_id or self.user_id), **options)

    def auth(self, user_id: uuid.UUID | None = None, **options: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(user_id, **options)}"}

    async def register(self, user_id: uuid.UUID | None = None) -> None:
        await register_user(self.container.ports(), user_id or self.user_id, CT_TOKEN)

    async def add_item(self, quantity: int = 5, *, listed: bool = True, **fields: Any) -> int:
        async with self.container.uow()() as uow:
            item = await uow.items.add(
                InventoryItem(
                    0,
                    fields.pop("user_id", self.user_id),
                    fields.pop("blueprint_id", 1234),
                    quantity,
                    fields.pop("price_cents", 250),
                    Properties.trusted({"condition": "Near Mint", "mtg_language": "en"}),
                    external_stock_id=str(uuid.uuid4().int % 10**9) if listed else None,
                    **fields,
                )
            )
            await uow.commit()
        return item.id

    async def add_listed_item(self, quantity: int, user_id: uuid.UUID | None = None) -> int:
        """A connected user's item whose CardTrader product exists with the same stock, so a
        purchase is confirmed with CardTrader inside the request."""
        owner = user_id or self.user_id
        await self.register(owner)
        product = self.account.add_product(1234, quantity)
        async with self.container.uow()() as uow:
            item = await uow.items.add(
                InventoryItem(0, owner, 1234, quantity, 100, external_stock_id=str(product.id))
            )
            await uow.commit()
        return item.id


def build_api(private_pem: bytes, public_pem: bytes, **env: Any) -> tuple[Any, Any]:
    settings = {
        "ENVIRONMENT": "development",
        "JWT_PUBLIC_KEY": public_pem.decode(),
        "FERNET_KEY": Fernet.generate_key().decode(),
        "PUBLIC_BASE_URL": "https://sync.example.com",
        **env,
    }
    config = load_config(**{k: v for k, v in settings.items() if v is not None})
    clock = FakeClock(datetime.now(UTC))
    gateway = MemoryMarketplaceGateway()
    container = build_memory_container(config, marketplace=gateway, clock=clock)
    return container, (clock, gateway)


@pytest.fixture
async def api(rsa_keys: tuple[bytes, bytes]) -> AsyncIterator[Api]:
    private_pem, public_pem = rsa_keys
    container, (clock, gateway) = build_api(private_pem, public_pem)
    account = gateway.add_account(CT_TOKEN)
    async with ASGIConductor(create_app(container)) as conductor:
        yield Api(conductor, container, private_pem, clock, gateway, account)

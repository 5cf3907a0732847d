"""Setting a user up: their CardTrader token (encrypted) and webhook secret from CardTrader."""

from __future__ import annotations

from uuid import UUID

from brx_domain.sync import UserSyncSettings
from brx_domain.usecases.common import Ports


async def register_user(ports: Ports, user_id: UUID, cardtrader_token: str) -> UserSyncSettings:
    """Create or replace the user's settings; the shared secret comes from CardTrader /info.
    `cardtrader_token` was checked at the edge (printable ASCII, bounded)."""
    info = await ports.marketplace.for_token(cardtrader_token).info()
    now = ports.clock.now()
    async with ports.uow() as uow:
        existing = await uow.settings.get(user_id)
        settings = UserSyncSettings(
            user_id=user_id,
            cardtrader_token_encrypted=ports.cipher.encrypt(cardtrader_token),
            webhook_secret_encrypted=ports.cipher.encrypt(info.shared_secret),
            sync_status=existing.sync_status if existing else UserSyncSettings.sync_status,
            last_sync_at=existing.last_sync_at if existing else None,
            created_at=existing.created_at if existing else now,
            updated_at=now,
        )
        await uow.settings.put(settings)
        await uow.commit()
    return settings

"""Setting a user up: their CardTrader token (encrypted) and webhook secret from CardTrader;
re-encrypting every user's secrets when the encryption key is rotated."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from brx_domain.sync import SyncStatus, UserSyncSettings
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


@dataclass(frozen=True)
class Reencrypted:
    users: int  # users whose secrets were rewritten
    secrets: int  # tokens and webhook secrets among them
    skipped: int  # changed while the sweep ran (already written under the newest key)


async def reencrypt_secrets(ports: Ports) -> Reencrypted:
    """Rewrite every stored CardTrader token and webhook secret under the cipher's newest key,
    one user per unit of work. Safe to repeat or interrupt: each rewrite is a compare-and-set
    of the two secrets, so a token replaced meanwhile (encrypted with the newest key already)
    is left alone, and nothing else in the settings is touched."""
    async with ports.uow() as uow:
        listed = [await uow.settings.user_ids_with_status(status) for status in SyncStatus]
    user_ids = list(dict.fromkeys(u for users in listed for u in users))  # once each
    users = secrets = skipped = 0
    for user_id in user_ids:
        async with ports.uow() as uow:
            settings = await uow.settings.get(user_id)
            if settings is None:
                continue
            token, secret = settings.cardtrader_token_encrypted, settings.webhook_secret_encrypted
            rotated = (
                ports.cipher.rotate(token),
                ports.cipher.rotate(secret) if secret else secret,
            )
            if await uow.settings.replace_secrets(
                user_id, (token, secret), rotated, now=ports.clock.now()
            ):
                users, secrets = users + 1, secrets + 1 + (secret is not None)
            else:
                skipped += 1
            await uow.commit()
    return Reencrypted(users, secrets, skipped)

"""Connecting a shop's CardTrader account (its token, encrypted, and the webhook secret from
CardTrader), disconnecting it (optionally forgetting everything stored for the user), and
re-encrypting every user's secrets when the encryption key is rotated.

`connect_user` is the one "connect" use case: `PUT /connection` calls it in every environment,
and development's `setup-test-user` is the same call without a JWT (through `register_user`,
which keeps the older signature: it answers the stored settings).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from uuid import UUID

from brx_domain.errors import MarketplaceUnauthorized, NotFound
from brx_domain.sync import SyncStatus, UserSyncSettings
from brx_domain.usecases.common import Ports, settings_of

TOKEN_FIELD = "cardtrader_token"  # noqa: S105 - a field name, not a secret


@dataclass(frozen=True)
class Connection:
    settings: UserSyncSettings
    cardtrader_user_id: int | None  # CardTrader's id of the seller, from /info


@dataclass(frozen=True)
class Disconnection:
    user_id: UUID
    purged: bool
    removed: dict[str, int] = field(default_factory=dict)  # rows erased per kind (purge)


async def connect_user(ports: Ports, user_id: UUID, cardtrader_token: str) -> Connection:
    """Connect, reconnect or replace the token (checked at the edge: printable ASCII, bounded):
    checked with CardTrader `/info` first (refused: nothing is stored), then stored with its
    shared secret. The inventory is kept."""
    try:
        info = await ports.marketplace.for_token(cardtrader_token).info()
    except MarketplaceUnauthorized:
        raise MarketplaceUnauthorized(
            f"{TOKEN_FIELD}: CardTrader refused this token", details={"field": TOKEN_FIELD}
        ) from None
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
    return Connection(settings, info.user_id)


async def register_user(ports: Ports, user_id: UUID, cardtrader_token: str) -> UserSyncSettings:
    """`connect_user`, answering only the stored settings."""
    return (await connect_user(ports, user_id, cardtrader_token)).settings


async def disconnect_user(ports: Ports, user_id: UUID, *, purge: bool = False) -> Disconnection:
    """Stop syncing: webhooks are refused and nothing is sent to CardTrader (see
    `connected_settings_of`). `purge` also erases the token, the secret and every row of the
    user, in one transaction; a user with nothing stored is 404."""
    async with ports.uow() as uow:
        if purge:
            removed = await uow.erasure.erase_user(user_id)
            if not any(removed.values()):
                raise NotFound(f"user {user_id} has nothing stored")
        else:
            settings = await settings_of(uow, user_id)
            if settings.connected:
                now = ports.clock.now()
                await uow.settings.put(replace(settings, disconnected_at=now, updated_at=now))
            removed = {}
        await uow.commit()
    return Disconnection(user_id, purge, removed)


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

"""Fernet key rotation on real Postgres: with `FERNET_KEY=new,old` the old secrets still
decrypt; after `brx-sync reencrypt` the new key alone reads every token and webhook secret,
nothing else in the settings moved, and a second run is harmless."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from dependency_injector import providers

from brx_adapters.crypto import CipherError, FernetCipher
from brx_adapters.memory import MemoryMarketplaceGateway
from brx_adapters.postgres import upgrade
from brx_app.config import load_config
from brx_app.container import build_container
from brx_domain.sync import SyncStatus, UserSyncSettings
from brx_domain.usecases.users import register_user

pytestmark = pytest.mark.integration

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()
TOKENS = ("ct-token-one", "ct-token-two", "ct-token-three")


@pytest.fixture
def database(scratch_database: str) -> str:
    """A database of this test alone: `reencrypt` sweeps every user it holds."""
    upgrade(scratch_database)
    return scratch_database


def reencrypt(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "brx_app.cli", "reencrypt"],
        env={**os.environ, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def stored(env: dict[str, str]) -> dict[uuid.UUID, UserSyncSettings]:
    container = build_container(load_config(**env))
    try:
        async with container.ports().uow() as uow:
            found = {}
            for status in SyncStatus:
                for user_id in await uow.settings.user_ids_with_status(status):
                    settings = await uow.settings.get(user_id)
                    assert settings is not None
                    found[user_id] = settings
        return found
    finally:
        await container.runtime().close()


def plain(settings: UserSyncSettings, cipher: FernetCipher) -> tuple[str, str | None]:
    secret = settings.webhook_secret_encrypted
    return cipher.decrypt(settings.cardtrader_token_encrypted), (
        cipher.decrypt(secret) if secret else None
    )


async def test_reencrypt_rotates_every_secret_to_the_newest_key(
    database: str, redis_url: str, tmp_path: Path
) -> None:
    env = {"ENVIRONMENT": "test", "DATABASE_URL": database, "REDIS_URL": redis_url}
    gateway = MemoryMarketplaceGateway()
    for token in TOKENS:
        gateway.add_account(token)
    container = build_container(load_config(**env, FERNET_KEY=OLD))
    container.marketplace.override(providers.Object(gateway))
    users = {uuid.uuid4(): token for token in TOKENS}
    try:
        for user_id, token in users.items():
            await register_user(container.ports(), user_id, token)
        async with container.ports().uow() as uow:  # one user mid-sync: status must survive
            busy = next(iter(users))
            await uow.settings.compare_and_set_status(
                busy, {SyncStatus.IDLE}, SyncStatus.INITIAL_SYNC, now=container.clock().now()
            )
            await uow.commit()
    finally:
        await container.runtime().close()
    before = await stored(env)
    expected = {u: plain(s, FernetCipher([OLD])) for u, s in before.items()}
    assert all(secret for _, secret in expected.values())  # every user has a webhook secret

    # the new key first, the old one second: everything still decrypts
    assert {u: plain(s, FernetCipher([NEW, OLD])) for u, s in before.items()} == expected
    with pytest.raises(CipherError):
        plain(next(iter(before.values())), FernetCipher([NEW]))

    first = reencrypt({**env, "FERNET_KEY": f"{NEW},{OLD}"}, tmp_path)
    after = await stored(env)
    second = reencrypt({**env, "FERNET_KEY": f"{NEW},{OLD}"}, tmp_path)
    again = await stored(env)

    assert first.returncode == 0, first.stderr
    assert "re-encrypted 6 secret(s) of 3 user(s)" in first.stdout
    assert {u: plain(s, FernetCipher([NEW])) for u, s in after.items()} == expected
    with pytest.raises(CipherError):
        plain(after[busy], FernetCipher([OLD]))  # really rewritten, not just readable
    assert after[busy].sync_status is SyncStatus.INITIAL_SYNC
    assert {u: s.created_at for u, s in after.items()} == {
        u: s.created_at for u, s in before.items()
    }
    assert second.returncode == 0, second.stderr
    assert {u: plain(s, FernetCipher([NEW])) for u, s in again.items()} == expected


async def test_a_secret_no_listed_key_reads_is_one_line_and_exit_1(
    database: str, redis_url: str, tmp_path: Path
) -> None:
    env = {"ENVIRONMENT": "test", "DATABASE_URL": database, "REDIS_URL": redis_url}
    gateway = MemoryMarketplaceGateway()
    gateway.add_account("lost-token")
    container = build_container(load_config(**env, FERNET_KEY=OLD))
    container.marketplace.override(providers.Object(gateway))
    try:
        await register_user(container.ports(), uuid.uuid4(), "lost-token")
    finally:
        await container.runtime().close()

    result = reencrypt({**env, "FERNET_KEY": NEW}, tmp_path)  # the old key was dropped too soon

    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith("brx-sync reencrypt: cannot decrypt") and "lost-token" not in line

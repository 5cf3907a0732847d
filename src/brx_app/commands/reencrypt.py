"""`brx-sync reencrypt`: after prepending a new key to FERNET_KEY (`new,old`), rewrite every
stored CardTrader token and webhook secret under the new key, so the old one can be dropped.

Safe to run twice and alongside the running service (each user's secrets are replaced by a
compare-and-set); prints how many were rewritten. Exit 1 if some secret no listed key reads.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from brx_app.config import AppConfig, load_config

NEEDS = ("DATABASE_URL", "REDIS_URL", "FERNET_KEY")


def run(args: argparse.Namespace) -> int:
    config = load_config(require=NEEDS)
    return asyncio.run(_main(config))


async def _main(config: AppConfig) -> int:
    from brx_adapters.crypto import CipherError
    from brx_app.container import build_container
    from brx_domain.usecases.users import reencrypt_secrets

    container = build_container(config)
    try:
        await container.runtime().wait_until_up(("postgresql",), within=config.startup_wait_seconds)
        done = await reencrypt_secrets(container.ports())
    except CipherError as exc:
        print(f"brx-sync reencrypt: {exc}; keep every older key in FERNET_KEY", file=sys.stderr)
        return 1
    finally:
        await container.runtime().close()
    keys = len(config.fernet_keys)
    print(
        f"re-encrypted {done.secrets} secret(s) of {done.users} user(s) with the newest of "
        f"{keys} FERNET_KEY key(s)"
        + (f"; {done.skipped} changed meanwhile and were already current" if done.skipped else "")
    )
    return 0

"""`brx-sync token`: mint an RS256 access token (development and tests)."""

from __future__ import annotations

import argparse
import functools
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key


def mint_access_token(
    private_pem: bytes | str,
    user_id: str,
    *,
    minutes: int = 60,
    admin: bool = False,
    issuer: str | None = None,
    audience: str | None = None,
    **extra: Any,
) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": user_id,
        "type": "access",
        "mfa_verified": True,
        "iat": now,
        "exp": now + 60 * minutes,
        "jti": str(uuid.uuid4()),
    }
    if admin:
        claims["role"] = "admin"
    if issuer:
        claims["iss"] = issuer
    if audience:
        claims["aud"] = audience
    claims.update(extra)
    return jwt.encode(claims, _private_key(private_pem), algorithm="RS256")


@functools.lru_cache(maxsize=8)
def _private_key(pem: bytes | str) -> RSAPrivateKey:
    """Loaded once per key: loading (and checking) an RSA key costs ~70 ms, the signing < 1 ms,
    and the tests and benchmarks mint many tokens from a few keys."""
    key = load_pem_private_key(pem.encode() if isinstance(pem, str) else pem, password=None)
    if not isinstance(key, RSAPrivateKey):
        raise ValueError("the private key is not an RSA key")
    return key


def run(args: argparse.Namespace) -> int:
    try:
        uuid.UUID(args.user_id)
    except ValueError:
        print("brx-sync token: user_id must be a UUID", file=sys.stderr)
        return 2
    try:
        pem = Path(args.private_key).read_bytes()
        minted = mint_access_token(
            pem,
            args.user_id,
            minutes=args.minutes,
            admin=args.admin,
            issuer=args.issuer,
            audience=args.audience,
        )
    except (OSError, ValueError, TypeError) as exc:  # unreadable, not PEM, not RSA, encrypted
        print(
            f"brx-sync token: --private-key: {type(exc).__name__}: not a readable RSA key",
            file=sys.stderr,
        )
        return 2
    print(minted)
    return 0

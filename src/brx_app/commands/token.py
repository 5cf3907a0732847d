"""`brx-sync token`: mint an RS256 access token (development and tests)."""

from __future__ import annotations

import argparse
import time
import uuid
from pathlib import Path
from typing import Any

import jwt


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
    return jwt.encode(claims, private_pem, algorithm="RS256")


def run(args: argparse.Namespace) -> int:
    try:
        uuid.UUID(args.user_id)
    except ValueError:
        print("brx-sync token: user_id must be a UUID")
        return 2
    pem = Path(args.private_key).read_bytes()
    print(
        mint_access_token(
            pem,
            args.user_id,
            minutes=args.minutes,
            admin=args.admin,
            issuer=args.issuer,
            audience=args.audience,
        )
    )
    return 0

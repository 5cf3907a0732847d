"""Bearer JWTs: RS256 only, MFA-verified access tokens, the caller bound to the path's user.

Every refusal is the same 401 with no hint of which rule failed (no oracle for forgers); the
reason goes to the log at debug level only.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from brx_app.config import AppConfig
from brx_app.failures import ConfigError
from brx_app.http.errors import ApiError
from brx_domain.errors import Unauthenticated

log = logging.getLogger("brx.http.auth")

CACHE_SIZE = 4096
ALGORITHMS = ["RS256"]  # never HS*, never none: the key is public, so HS256 would be forgeable
DENIED = "missing or invalid access token"


@dataclass(frozen=True)
class Principal:
    user_id: uuid.UUID
    admin: bool
    claims: dict[str, Any] = field(repr=False, hash=False, compare=False)


def load_public_key(pem: str | None) -> RSAPublicKey | None:
    """The configured key, or None when unset; a key that is not an RSA PEM stops start-up."""
    if not pem:
        return None
    try:
        key = load_pem_public_key(pem.encode())
    except ValueError:
        raise ConfigError("JWT_PUBLIC_KEY: is not a PEM public key") from None
    if not isinstance(key, RSAPublicKey):
        raise ConfigError("JWT_PUBLIC_KEY: must be an RSA public key (RS256)")
    return key


def admin_rule(spec: str) -> tuple[str, str | None]:
    """`role=admin` → ("role", "admin"); a bare `is_admin` means the claim must be true."""
    name, sep, value = spec.partition("=")
    return name.strip(), (value.strip() if sep else None)


class TokenVerifier:
    """Checks a bearer token against the spec's rules and returns who is calling."""

    def __init__(
        self,
        public_key: RSAPublicKey | None,
        *,
        issuer: str | None = None,
        audience: str | None = None,
        admin_claim: str = "role=admin",
    ) -> None:
        self.key, self.issuer, self.audience = public_key, issuer, audience
        self.admin_name, self.admin_value = admin_rule(admin_claim)
        self._verified: OrderedDict[str, Principal] = OrderedDict()

    @classmethod
    def from_config(cls, config: AppConfig) -> TokenVerifier:
        return cls(
            load_public_key(config.jwt_public_key),
            issuer=config.jwt_issuer,
            audience=config.jwt_audience,
            admin_claim=config.jwt_admin_claim,
        )

    def verify(self, authorization: str | None) -> Principal:
        if self.key is None:  # development without a key: protected routes are unavailable
            raise ApiError(503, "auth_not_configured", "JWT_PUBLIC_KEY is not configured")
        key = self.key
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated(DENIED)
        return self._cached(token.strip(), key)

    def _cached(self, token: str, key: RSAPublicKey) -> Principal:
        """A token already verified is the same bytes with the same signature: only its expiry
        needs checking again. Saves the RSA verification on every request of a session."""
        found = self._verified.get(token)
        if found is not None:
            if found.claims["exp"] <= time.time():
                del self._verified[token]
                raise Unauthenticated(DENIED)
            self._verified.move_to_end(token)
            return found
        claims = self._decode(token, key)
        principal = Principal(self._subject(claims), self._is_admin(claims), claims)
        self._verified[token] = principal
        if len(self._verified) > CACHE_SIZE:
            self._verified.popitem(last=False)
        return principal

    def _decode(self, token: str, key: RSAPublicKey) -> dict[str, Any]:
        try:
            if jwt.get_unverified_header(token).get("alg") not in ALGORITHMS:
                raise Unauthenticated(DENIED)
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=ALGORITHMS,
                issuer=self.issuer,
                audience=self.audience,
                options={
                    "require": ["exp", "sub"],
                    "verify_aud": self.audience is not None,
                    "verify_iss": self.issuer is not None,
                },
            )
        except jwt.PyJWTError as exc:
            log.debug("token refused: %s", type(exc).__name__)
            raise Unauthenticated(DENIED) from None
        if claims.get("type") != "access" or claims.get("mfa_verified") is not True:
            raise Unauthenticated(DENIED)
        return claims

    @staticmethod
    def _subject(claims: dict[str, Any]) -> uuid.UUID:
        try:
            return uuid.UUID(str(claims["sub"]))
        except (ValueError, KeyError):
            raise Unauthenticated(DENIED) from None

    def _is_admin(self, claims: dict[str, Any]) -> bool:
        value = claims.get(self.admin_name)
        if self.admin_value is None:
            return value is True
        if isinstance(value, list):
            return self.admin_value in value
        return value == self.admin_value


def bind_user(principal: Principal, user_id: uuid.UUID) -> uuid.UUID:
    """The path's user (already a UUID, see `io.path_params`) must be the caller: 403 if not."""
    if user_id != principal.user_id:
        raise ApiError(403, "forbidden", "the token does not belong to this user")
    return user_id

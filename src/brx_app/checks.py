"""The shape of each configuration value, as pydantic types for `brx_app.config`.

Each check says what is wrong in words an operator can act on and never repeats the value (a
URL may carry a password, a key is a secret). Empty means "unset" for the optional settings
(compose files write `MYSQL_HOST=`), so empty passes here and the caller treats it as missing.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from typing import Annotated
from urllib.parse import SplitResult, urlsplit

from pydantic import AfterValidator

_HOST = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?(\.[A-Za-z0-9_-]+)*$")
_IPV6 = re.compile(r"^\[?[0-9A-Fa-f:.]+\]?$")
_IDENTIFIER = re.compile(r"^[A-Za-z0-9_$]{1,64}$")
_NAMESPACE = re.compile(r"^[A-Za-z0-9:_.-]{0,100}$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
_SSM_PATH = re.compile(r"^(/[A-Za-z0-9_.-]+)+$|^[A-Za-z0-9_.-]+$")
_POSTGRES = ("postgresql", "postgres", "postgresql+asyncpg")
_REDIS = ("redis", "rediss", "unix")


def split(text: str) -> list[str]:
    """A comma-separated list without blanks."""
    return [part.strip() for part in text.split(",") if part.strip()]


def _allow_empty(check: Callable[[str], str]) -> Callable[[str], str]:
    def checked(value: str) -> str:
        return value if value == "" else check(value)

    return checked


def _url(value: str, what: str, example: str) -> SplitResult:
    parts = urlsplit(value.strip())
    if not parts.scheme or "://" not in value:
        raise ValueError(f"is not a URL (expected {what}, e.g. {example})")
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number in range
    except ValueError:
        raise ValueError(
            f"has a port that is not a number from 1 to 65535 (e.g. {example})"
        ) from None
    return parts


def database_url(value: str) -> str:
    example = "postgresql://user:password@host:5432/database"
    parts = _url(value, "a Postgres URL", example)
    if parts.scheme not in _POSTGRES:
        raise ValueError(f"unsupported scheme {parts.scheme!r}; use postgresql:// ({example})")
    if not parts.path.strip("/"):
        raise ValueError(f"names no database (e.g. {example})")
    return value


def redis_url(value: str) -> str:
    example = "redis://host:6379/0"
    parts = _url(value, "a Redis URL", example)
    if parts.scheme not in _REDIS:
        raise ValueError(
            f"unsupported scheme {parts.scheme!r}; use redis:// or rediss:// ({example})"
        )
    if parts.scheme != "unix" and not parts.hostname:
        raise ValueError(f"names no host (e.g. {example})")
    database = parts.path.strip("/")
    if parts.scheme != "unix" and database and not database.isdigit():
        raise ValueError(f"database must be a number (e.g. {example})")
    return value


def http_url(value: str) -> str:
    parts = _url(value, "an http(s) URL", "https://host/path")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL with a host")
    return value.rstrip("/")


def origins(value: str) -> str:
    for index, origin in enumerate(split(value), start=1):
        if origin == "*":
            continue
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path.strip("/"):
            raise ValueError(f"origin #{index} is not * or scheme://host[:port] (no path)")
    return value


def host(value: str) -> str:
    if not (_HOST.match(value) or (":" in value and _IPV6.match(value))):
        raise ValueError("is not a host name or IP address (no scheme, no port)")
    return value


def identifier(value: str) -> str:
    if not _IDENTIFIER.match(value):
        raise ValueError("is not a database name (letters, digits, _ or $; at most 64)")
    return value


def identifiers(value: str) -> str:
    names = split(value)
    if not names:
        raise ValueError("lists no table")
    for index, name in enumerate(names, start=1):
        if not _IDENTIFIER.match(name):
            raise ValueError(f"table #{index} is not a table name (letters, digits, _ or $)")
    return value


def queue_namespace(value: str) -> str:
    if not _NAMESPACE.match(value):
        raise ValueError("may hold only letters, digits and : _ . - (at most 100)")
    return value


def fernet_keys(value: str) -> str:
    keys = split(value)
    if not keys:
        raise ValueError("lists no key (generate one with `brx-sync keys`)")
    for index, key in enumerate(keys, start=1):
        try:
            raw = base64.b64decode(key.encode("ascii"), altchars=b"-_", validate=True)
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != 32:
            raise ValueError(
                f"key #{index} is not a Fernet key (32 url-safe base64-encoded bytes; "
                "generate one with `brx-sync keys`)"
            )
    return value


def rsa_public_key(value: str) -> str:
    """A PEM RSA public key; literal `\\n` (how it fits one environment line) become newlines."""
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    pem = value.replace("\\n", "\n").strip()
    try:
        key = load_pem_public_key(pem.encode())
    except (ValueError, TypeError):
        raise ValueError("is not a PEM public key (-----BEGIN PUBLIC KEY----- ...)") from None
    if not isinstance(key, RSAPublicKey):
        raise ValueError("must be an RSA public key (tokens are RS256)")
    return pem + "\n"


def text(value: str) -> str:
    """Free text (a user name, a password, an issuer): one line, no control characters, as a
    stray newline or tab from a copied `.env` line would otherwise go unnoticed."""
    if any(not c.isprintable() for c in value):
        raise ValueError("holds a line break or another control character")
    return value


def admin_claim(value: str) -> str:
    name, _, _ = value.partition("=")
    if not name.strip() or any(c.isspace() for c in name.strip()):
        raise ValueError("must be claim=value (e.g. role=admin) or a claim name")
    return value


def aws_region(value: str) -> str:
    if not _REGION.match(value):
        raise ValueError("is not an AWS region (e.g. eu-south-1)")
    return value


def ssm_path(value: str) -> str:
    if len(value) > 2048 or not _SSM_PATH.match(value):
        raise ValueError("is not an SSM parameter name (e.g. /prod/ebartex/fernet_key)")
    return value


DatabaseUrl = Annotated[str, AfterValidator(_allow_empty(database_url))]
RedisUrl = Annotated[str, AfterValidator(_allow_empty(redis_url))]
HttpUrl = Annotated[str, AfterValidator(http_url)]
Origins = Annotated[str, AfterValidator(origins)]
Host = Annotated[str, AfterValidator(_allow_empty(host))]
Identifier = Annotated[str, AfterValidator(identifier)]
Identifiers = Annotated[str, AfterValidator(identifiers)]
Namespace = Annotated[str, AfterValidator(queue_namespace)]
FernetKeys = Annotated[str, AfterValidator(_allow_empty(fernet_keys))]
RsaPublicKey = Annotated[str, AfterValidator(_allow_empty(rsa_public_key))]
Text = Annotated[str, AfterValidator(text)]
AdminClaim = Annotated[str, AfterValidator(admin_claim)]
AwsRegion = Annotated[str, AfterValidator(_allow_empty(aws_region))]
SsmPath = Annotated[str, AfterValidator(_allow_empty(ssm_path))]

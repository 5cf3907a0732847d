"""`brx-sync keys`: a Fernet key and a development RSA key pair for JWTs."""

from __future__ import annotations

import argparse
from pathlib import Path

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


def generate_rsa_pem() -> tuple[bytes, bytes]:
    """(private PEM, public PEM) of a fresh 2048-bit RSA key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public


def run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    private, public = generate_rsa_pem()
    (out / "jwt_private.pem").write_bytes(private)
    (out / "jwt_private.pem").chmod(0o600)
    (out / "jwt_public.pem").write_bytes(public)
    print(f"FERNET_KEY={Fernet.generate_key().decode()}")
    print(f"# RSA key pair written to {out / 'jwt_private.pem'} and {out / 'jwt_public.pem'}")
    one_line = public.decode().strip().replace("\n", "\\n")
    print(f'JWT_PUBLIC_KEY="{one_line}"')
    return 0

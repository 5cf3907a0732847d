"""`brx-sync token` mints a token the service's verifier accepts, and a key it cannot use is a
one-line error with exit status 2, never a traceback."""

from __future__ import annotations

from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from brx_app.cli import main

USER = "0b9f6b8e-3a57-4d1e-9a54-64cf0d3c61a8"


def _pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _run(args: list[str]) -> int:
    return main(args)


def test_a_token_is_minted_for_the_user_and_signed_by_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (tmp_path / "k.pem").write_bytes(_pem(key))

    code = _run(["token", USER, "--private-key", str(tmp_path / "k.pem")])

    token = capsys.readouterr().out.strip()
    claims = jwt.decode(token, key.public_key(), algorithms=["RS256"])
    assert code == 0 and claims["sub"] == USER and claims["type"] == "access"


@pytest.mark.parametrize("content", [b"not a key", b"ec"])
def test_a_key_it_cannot_use_is_one_line_and_status_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes
) -> None:
    if content == b"ec":
        content = _pem(ec.generate_private_key(ec.SECP256R1()))
    (tmp_path / "k.pem").write_bytes(content)

    code = _run(["token", USER, "--private-key", str(tmp_path / "k.pem")])

    out = capsys.readouterr()
    assert code == 2
    assert out.err.startswith("brx-sync token: --private-key: ") and out.err.count("\n") == 1
    assert not out.out


def test_a_missing_key_file_is_status_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["token", USER, "--private-key", str(tmp_path / "absent.pem")]) == 2
    assert "--private-key" in capsys.readouterr().err

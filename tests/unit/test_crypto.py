"""FernetCipher: round trips, key rotation, and errors that never echo secrets."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from brx_adapters.crypto import CipherError, FernetCipher


def _key() -> str:
    return Fernet.generate_key().decode()


def test_encrypted_token_decrypts_to_the_plain_token() -> None:
    cipher = FernetCipher([_key()])

    encrypted = cipher.encrypt("ct-secret-token")

    assert encrypted != "ct-secret-token"
    assert cipher.decrypt(encrypted) == "ct-secret-token"


def test_old_key_still_decrypts_after_a_new_key_is_prepended() -> None:
    old, new = _key(), _key()
    stored = FernetCipher([old]).encrypt("token")

    rotated = FernetCipher([new, old])

    assert rotated.decrypt(stored) == "token"


def test_first_key_encrypts_so_the_new_key_alone_can_read_new_ciphertexts() -> None:
    old, new = _key(), _key()

    stored = FernetCipher([new, old]).encrypt("token")

    assert FernetCipher([new]).decrypt(stored) == "token"
    with pytest.raises(CipherError):
        FernetCipher([old]).decrypt(stored)


def test_rotate_reencrypts_under_the_first_key() -> None:
    old, new = _key(), _key()
    stored = FernetCipher([old]).encrypt("token")

    rotated = FernetCipher([new, old]).rotate(stored)

    assert FernetCipher([new]).decrypt(rotated) == "token"


def test_a_malformed_key_raises_value_error_naming_fernet_key() -> None:
    with pytest.raises(ValueError, match="FERNET_KEY") as raised:
        FernetCipher([_key(), "not-a-key"])

    assert "not-a-key" not in str(raised.value)
    assert "#2" in str(raised.value)


def test_no_key_at_all_raises_value_error_naming_fernet_key() -> None:
    with pytest.raises(ValueError, match="FERNET_KEY"):
        FernetCipher(["", "  "])


def test_decrypting_garbage_raises_a_clear_error_without_the_token() -> None:
    cipher = FernetCipher([_key()])
    garbage = "gAAAAA-this-is-not-a-real-token-secretvalue"

    with pytest.raises(CipherError, match="FERNET_KEY") as raised:
        cipher.decrypt(garbage)

    assert garbage not in str(raised.value)
    assert raised.value.__cause__ is None
    assert raised.value.__suppress_context__


def test_repr_hides_the_keys() -> None:
    key = _key()

    assert key not in repr(FernetCipher([key]))

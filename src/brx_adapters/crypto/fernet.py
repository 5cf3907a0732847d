"""`TokenCipher` over `MultiFernet`: the first key encrypts, every key decrypts, so keys can be
rotated by prepending a new one to FERNET_KEY and re-encrypting at leisure."""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class CipherError(ValueError):
    """A ciphertext no configured key can read. Never carries the ciphertext itself."""


class FernetCipher:
    """Encrypts with the first of `keys`, decrypts with any of them."""

    def __init__(self, keys: Sequence[str]) -> None:
        cleaned = [key.strip() for key in keys if key and key.strip()]
        if not cleaned:
            raise ValueError("FERNET_KEY: at least one key is required")
        self._fernet = MultiFernet([_fernet(key, index) for index, key in enumerate(cleaned)])

    def encrypt(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except (InvalidToken, UnicodeError):
            # `from None`: the driver's exception would otherwise carry the token along.
            raise CipherError(
                "cannot decrypt a stored secret with any configured FERNET_KEY"
            ) from None

    def rotate(self, token: str) -> str:
        """Re-encrypt `token` under the first key (for a key-rotation sweep)."""
        try:
            return self._fernet.rotate(token.encode()).decode()
        except (InvalidToken, UnicodeError):
            raise CipherError(
                "cannot decrypt a stored secret with any configured FERNET_KEY"
            ) from None

    def __repr__(self) -> str:
        return "FernetCipher(keys=<hidden>)"


def _fernet(key: str, index: int) -> Fernet:
    try:
        return Fernet(key.encode())
    except (ValueError, TypeError):
        raise ValueError(
            f"FERNET_KEY: key #{index + 1} is not a valid Fernet key "
            "(32 url-safe base64-encoded bytes; generate one with `brx-sync keys`)"
        ) from None


__all__ = ["CipherError", "FernetCipher"]

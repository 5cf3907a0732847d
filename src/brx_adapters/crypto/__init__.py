"""Fernet encryption of CardTrader tokens and webhook secrets at rest."""

from brx_adapters.crypto.fernet import CipherError, FernetCipher

__all__ = ["CipherError", "FernetCipher"]

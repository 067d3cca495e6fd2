"""Secrets at rest: store credentials are encrypted with ENCRYPTION_KEY (Fernet).

ENCRYPTION_KEY may list several comma-separated keys: the first encrypts, all decrypt, so a key
can be rotated without downtime (`storeflow keys rotate` re-encrypts with the first).
"""
from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import Text
from sqlalchemy.types import TypeDecorator

from app.core.config import ConfigError


class Keyring:
    def __init__(self) -> None:
        self._fernet: MultiFernet | None = None

    def configure(self, keys: tuple[str, ...]) -> None:
        try:
            self._fernet = MultiFernet([Fernet(key) for key in keys])
        except (ValueError, TypeError):
            raise ConfigError(
                "ENCRYPTION_KEY must be one or more comma-separated Fernet keys "
                "(make one with: python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())')"
            ) from None

    @property
    def fernet(self) -> MultiFernet:
        if self._fernet is None:
            raise RuntimeError("encryption keys are not configured; call app.bootstrap first")
        return self._fernet

    def encrypt(self, plaintext: str) -> str:
        return self.fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self.fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise ConfigError("a stored secret cannot be decrypted with ENCRYPTION_KEY") from None

    def rotate(self, token: str) -> str:
        return self.fernet.rotate(token.encode()).decode()


keyring = Keyring()


class EncryptedText(TypeDecorator):
    """A text column stored encrypted; the application only ever sees plaintext."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else keyring.encrypt(value)

    def process_result_value(self, value, dialect):
        return None if value is None else keyring.decrypt(value)

"""An install the merchant started from our side and the platform has not confirmed yet."""
from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core import clock
from app.core.crypto import EncryptedText
from app.core.db import Base


class PendingInstall(Base):
    """WooCommerce's key exchange posts keys to us later: this row is what its `user_id` names,
    so keys for an install nobody started have nowhere to go."""

    __tablename__ = "pending_installs"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    domain: Mapped[str] = mapped_column(String(255))
    # Random and single-use: a signed reference is only good with the row's own nonce.
    nonce: Mapped[str] = mapped_column(String(64), default=lambda: secrets.token_urlsafe(24))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)
    # sha256 of the secret in the starting browser's cookie: only that browser can complete it.
    browser_digest: Mapped[str] = mapped_column(String(64))
    # The keys WooCommerce delivered, held here until that browser comes back to complete.
    consumer_key: Mapped[str | None] = mapped_column(EncryptedText)
    consumer_secret: Mapped[str | None] = mapped_column(EncryptedText)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The store it connects: known from the start for a reconnect, set on completion otherwise.
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))

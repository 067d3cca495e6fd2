"""A connected shop: its platform, address, credentials (encrypted) and install state."""
from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import DateTime, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.core import settings as store_settings
from app.core.crypto import EncryptedText
from app.core.db import Base
from app.models.base import Timestamps


class Store(Timestamps, Base):
    __tablename__ = "stores"
    __table_args__ = (UniqueConstraint("platform", "domain"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    # Shopify: the shop's myshopify.com domain. WooCommerce: the store URL.
    domain: Mapped[str] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(String(255))
    # Shopify: the Admin API token. WooCommerce: the REST consumer secret, with its key below.
    access_token: Mapped[str | None] = mapped_column(EncryptedText)
    api_key: Mapped[str | None] = mapped_column(EncryptedText)
    webhook_secret: Mapped[str | None] = mapped_column(EncryptedText)
    # A public app's expiring offline token: when it expires, and the token that renews it.
    access_token_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    refresh_token: Mapped[str | None] = mapped_column(EncryptedText)
    refresh_token_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Ours, not the platform's: signs what the store's flows POST to the merchant's own
    # addresses (app.flow_webhooks), so the receiver can check it without any platform secret.
    outbound_secret: Mapped[str | None] = mapped_column(EncryptedText)
    scopes: Mapped[str | None] = mapped_column(String(1024))
    # Public (it ships in the shop's pages): it names the store to POST /collect, proves nothing.
    collect_key: Mapped[str] = mapped_column(
        String(64), unique=True, default=lambda: secrets.token_urlsafe(18)
    )
    # Merchant settings that differ from the defaults (see app.core.settings).
    settings: Mapped[dict] = mapped_column(JSONB, default=dict)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    installed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    uninstalled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    @property
    def installed(self) -> bool:
        return self.installed_at is not None and self.uninstalled_at is None

    @property
    def effective_settings(self) -> dict:
        """Every store setting, with defaults filled in."""
        return store_settings.effective(self.settings)

    def __repr__(self) -> str:
        return f"<Store {self.id} {self.platform}>"

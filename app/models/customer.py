"""A shopper known to a store, keyed by the platform's customer id."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base
from app.models.base import StoreOwned, Timestamps


class Customer(StoreOwned, Timestamps, Base):
    __tablename__ = "customers"
    __table_args__ = (UniqueConstraint("store_id", "platform_id"),)

    platform_id: Mapped[int] = mapped_column(BigInteger)
    # Normalised once on the way in (connectors.base.normalize_email).
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    first_name: Mapped[str | None] = mapped_column(String(255))
    last_name: Mapped[str | None] = mapped_column(String(255))
    phone: Mapped[str | None] = mapped_column(String(64))
    country_code: Mapped[str | None] = mapped_column(String(2))
    source_created_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The platform's updated_at of the version we hold; older updates are ignored.
    source_updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

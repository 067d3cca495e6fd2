"""A shopper known to a store, keyed by the platform's customer id."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, DateTime, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base
from app.models.base import StoreOwned, Timestamps


class Customer(StoreOwned, Timestamps, Base):
    __tablename__ = "customers"
    __table_args__ = (
        UniqueConstraint("store_id", "platform_id"),
        # A shopper known only by an email typed at the shop front has no platform id yet:
        # one such row per address, adopted by the platform customer when it arrives.
        Index("uq_customers_store_id_email_without_platform", "store_id", "email", unique=True,
              postgresql_where=text("platform_id IS NULL")),
    )

    # None until the platform tells us the customer (see app.ingest.identity).
    platform_id: Mapped[int | None] = mapped_column(BigInteger)
    # Normalised once on the way in (connectors.values.normalize_email).
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    first_name: Mapped[str | None] = mapped_column(String(255))
    last_name: Mapped[str | None] = mapped_column(String(255))
    phone: Mapped[str | None] = mapped_column(String(64))
    country_code: Mapped[str | None] = mapped_column(String(2))
    # The address's state or province as the platform codes it (ISO 3166-2's part after the
    # dash for the US, Canada, Australia...): quiet hours read the region's time zone from it.
    province_code: Mapped[str | None] = mapped_column(String(32))
    tags: Mapped[list] = mapped_column(JSONB, default=list)
    # Points the flows' Score steps gave (flows.steps.Score): read by `score_at_least`.
    score: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    # No platform sends it yet; the birthday flow reads it.
    birthday: Mapped[date | None] = mapped_column(Date)
    # Email-marketing consent, written only by app.ingest.consent (which keeps its history).
    # The platform's state (connectors.base.CONSENT_STATES); NULL: we were never told.
    email_consent: Mapped[str | None] = mapped_column(String(32))
    email_consent_opt_in_level: Mapped[str | None] = mapped_column(String(32))
    email_consent_updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    source_created_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The platform's updated_at of the version we hold; older updates are ignored.
    source_updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

"""Work done against a platform's API for a store: backfill progress and data-request exports."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Integer, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app import clock
from app.db import Base
from app.models.base import StoreOwned

# queued -> running -> done | failed
BACKFILL_STATUSES = ("queued", "running", "done", "failed")


class Backfill(StoreOwned, Base):
    """One resource's import of a store's history; the settings UI shows its progress."""

    __tablename__ = "backfills"
    __table_args__ = (UniqueConstraint("store_id", "resource"),)

    resource: Mapped[str] = mapped_column(String(32))  # customers, products, orders, checkouts
    status: Mapped[str] = mapped_column(String(16), default="queued")
    # The API's page cursor to resume after: a re-queued job carries on where it stopped.
    cursor: Mapped[str | None] = mapped_column(Text)
    imported: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)  # never personal data
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now,
                                                 onupdate=clock.now)


class DataRequest(StoreOwned, Base):
    """A customer's GDPR data request, answered with everything we hold, for the merchant."""

    __tablename__ = "data_requests"
    __table_args__ = (UniqueConstraint("store_id", "request_id"),)

    request_id: Mapped[int] = mapped_column(BigInteger)  # the platform's data request id
    customer_platform_id: Mapped[int | None] = mapped_column(BigInteger)
    email: Mapped[str | None] = mapped_column(String(320))
    export: Mapped[dict] = mapped_column(JSONB)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)

"""Keeping a store in sync with its platform: backfill and reconciliation progress, data-request
exports, and the notices a merchant should see about it."""
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


class SyncState(StoreOwned, Base):
    """One sync job's place for one store ("backfill", "reconcile")."""

    __tablename__ = "sync_states"
    __table_args__ = (UniqueConstraint("store_id", "name"),)

    name: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="idle")
    # The platform time up to which everything has been seen (reconcile polls from here).
    watermark: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Counts per resource, e.g. {"customers": 120, "products": 40, "orders": 300}.
    progress: Mapped[dict] = mapped_column(JSONB, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
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


class StoreNotice(StoreOwned, Base):
    """Something the merchant should know that happened without them (a webhook re-enabled)."""

    __tablename__ = "store_notices"

    kind: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text)
    count: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now,
                                                 index=True)

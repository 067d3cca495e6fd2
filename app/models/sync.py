"""Keeping a store in sync with its platform: backfill and reconciliation progress, data-request
exports, and the notices a merchant should see about it."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Integer, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.core import clock
from app.core.db import Base
from app.models.base import StoreOwned


class SyncProgress(StoreOwned, Base):
    """Where one sync job stands for one store and resource, on every platform: a backfill's
    page cursor and count, reconciliation's watermark, and why the last run failed."""

    __tablename__ = "sync_progress"
    __table_args__ = (UniqueConstraint("store_id", "job", "resource"),)

    job: Mapped[str] = mapped_column(String(16))  # backfill, reconcile
    # customers, products, orders, checkouts; "all" for a job that covers every resource at once.
    resource: Mapped[str] = mapped_column(String(32))
    # queued -> running -> done | failed
    status: Mapped[str] = mapped_column(String(16), default="queued")
    # The API's page cursor to resume after: a re-queued job carries on where it stopped.
    cursor: Mapped[str | None] = mapped_column(Text)
    # Records imported by a backfill; records healed by the last reconciliation.
    count: Mapped[int] = mapped_column(Integer, default=0)
    # Reconciliation has asked the platform for everything updated before this instant.
    watermark: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    error: Mapped[str | None] = mapped_column(Text)  # never personal data: the UI shows it
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


class StoreNotice(StoreOwned, Base):
    """Something the merchant should know that happened without them (a webhook re-enabled)."""

    __tablename__ = "store_notices"

    kind: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text)
    count: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now,
                                                 index=True)

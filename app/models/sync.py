"""What we know about keeping a store in sync: watermarks and progress of sync jobs, and the
notices a merchant should see about it."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app import clock
from app.db import Base
from app.models.base import StoreOwned


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


class StoreNotice(StoreOwned, Base):
    """Something the merchant should know that happened without them (a webhook re-enabled)."""

    __tablename__ = "store_notices"

    kind: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text)
    count: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now,
                                                 index=True)

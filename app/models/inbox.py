"""The inbox: every accepted delivery, stored raw before anything else happens to it."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Index, Integer, LargeBinary, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from app.core import clock
from app.core.db import Base
from app.models.base import StoreOwned


class WebhookEvent(StoreOwned, Base):
    __tablename__ = "webhook_events"
    __table_args__ = (
        # A repeated delivery finds this and does nothing.
        UniqueConstraint("store_id", "delivery_key"),
        # The sweeper's question: what was stored but never processed?
        Index("ix_webhook_events_unprocessed", "received_at",
              postgresql_where=text("processed_at IS NULL")),
        # A store's drain: its deliveries never tried, oldest first (app.ingest.drain).
        Index("ix_webhook_events_fresh", "store_id", "id",
              postgresql_where=text("processed_at IS NULL AND attempts = 0")),
    )

    platform: Mapped[str] = mapped_column(String(20))
    topic: Mapped[str] = mapped_column(String(100))
    delivery_key: Mapped[str] = mapped_column(String(255))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Why processing gave up on this row (never personal data: the exception's class and field).
    error: Mapped[str | None] = mapped_column(Text)

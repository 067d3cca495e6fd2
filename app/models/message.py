"""The outbox: one row per email, written before anything leaves, its opens and clicks,
suppressions and pauses."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (BigInteger, Boolean, DateTime, ForeignKey, Index, String, Text,
                        UniqueConstraint)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base
from app.models.base import StoreOwned, Timestamps

# queued -> sending -> sent | failed | unknown; queued -> cancelled (a guard said no at send time)
STATUSES = ("queued", "sending", "sent", "failed", "unknown", "cancelled")


class Message(StoreOwned, Timestamps, Base):
    __tablename__ = "messages"
    __table_args__ = (
        # One message per flow run and step: a retried or duplicated step finds it.
        # Test sends have no run; NULLs never collide.
        UniqueConstraint("run_id", "step"),
        Index("ix_messages_store_id_status", "store_id", "status"),
        # The frequency cap and attribution look up a recipient's recent mail by address.
        Index("ix_messages_store_id_email_created_at", "store_id", "email", "created_at"),
        # The activity list's newest messages; the overview's sends in its period.
        Index("ix_messages_store_id_created_at", "store_id", "created_at"),
        Index("ix_messages_store_id_sent_at", "store_id", "sent_at"),
    )

    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    email: Mapped[str] = mapped_column(String(320))
    flow: Mapped[str | None] = mapped_column(String(64))
    # The flow run that asked for this message (no foreign key: the outbox stands alone).
    run_id: Mapped[int | None] = mapped_column(BigInteger)
    step: Mapped[str | None] = mapped_column(String(64))
    template: Mapped[str] = mapped_column(String(128))
    # References the template renders from at send time (checkout_id, order_id, code, ...).
    context: Mapped[dict] = mapped_column(JSONB, default=dict)
    marketing: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    # Why it was cancelled or failed: a guard's name or an SMTP code, never personal data.
    reason: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    subject: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The first open and click (every one is a MessageEvent); the activity log reads these.
    first_opened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    first_clicked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class MessageEvent(StoreOwned, Base):
    """What happened to one message: an open (the pixel loaded), a click (a tracked link
    followed), or a hard bounce, soft bounce or complaint its mail provider reported."""

    __tablename__ = "message_events"
    __table_args__ = (
        # Attribution looks for a store's recent clicks.
        Index("ix_message_events_store_id_kind_occurred_at", "store_id", "kind", "occurred_at"),
    )

    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # open | click | hard_bounce | soft_bounce | complaint
    url: Mapped[str | None] = mapped_column(Text)
    # The provider's id of a bounce or complaint report ("ses:<feedbackId>"): a webhook
    # delivered twice finds it. None for opens and clicks.
    source_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


# Suppression reasons that stop marketing mail only; any other stops every email.
MARKETING_ONLY = ("unsubscribed", "sunset")


class Suppression(StoreOwned, Base):
    """An address a store must not email: unsubscribed (marketing only), bounced, redacted."""

    __tablename__ = "suppressions"
    __table_args__ = (UniqueConstraint("store_id", "email"),)

    email: Mapped[str] = mapped_column(String(320))
    reason: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    @property
    def blocks_transactional(self) -> bool:
        """An unsubscribe or a sunset stops marketing only; a bounce or an erasure stops
        everything."""
        return self.reason not in MARKETING_ONLY


class MailPause(StoreOwned, Base):
    """An address whose marketing mail its recipient paused until a time, on the preference page
    behind the unsubscribe link (app.mail.preferences); a row past `until` pauses nothing."""

    __tablename__ = "mail_pauses"
    __table_args__ = (UniqueConstraint("store_id", "email"),)

    email: Mapped[str] = mapped_column(String(320))
    until: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

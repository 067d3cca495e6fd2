"""Campaigns: one email to the customers of some segments (minus others), and the recipients
each send resolved, once, so that nobody is written to twice."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (BigInteger, Boolean, DateTime, ForeignKey, Index, SmallInteger, String,
                        Text, UniqueConstraint)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base
from app.models.base import StoreOwned, Timestamps

# draft -> [scheduled ->] sending -> sent; sending <-> paused;
# draft | scheduled | sending | paused -> cancelled.
STATUSES = ("draft", "scheduled", "sending", "paused", "sent", "cancelled")
# pending -> queued (its message is in the outbox) | skipped (the frequency cap held it back);
# held_out: in the holdout share, never sent (the control group of the report's lift);
# waiting: outside an A/B test's share, pending once the winner is picked; scheduled: a
# local-time send's recipient, pending at `due_at`.
RECIPIENT_STATUSES = ("pending", "queued", "skipped", "held_out", "waiting", "scheduled")


class Campaign(StoreOwned, Timestamps, Base):
    __tablename__ = "campaigns"
    __table_args__ = (UniqueConstraint("store_id", "name"),)

    name: Mapped[str] = mapped_column(String(60))
    subject: Mapped[str] = mapped_column(String(150))
    preheader: Mapped[str | None] = mapped_column(String(150))
    # A checked block design (app.mail.design.document).
    design: Mapped[dict] = mapped_column(JSONB)
    # Segment names as the merchant chose them; resolved to members when the campaign is sent.
    segments: Mapped[list] = mapped_column(JSONB)
    excluded_segments: Mapped[list] = mapped_column(JSONB, default=list)
    bypass_frequency_cap: Mapped[bool] = mapped_column(Boolean, default=False)
    # Percent of the recipients held out (not sent) to measure what the campaign added.
    holdout_percent: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    # An A/B test of two subjects (app.campaigns.abtest): the share of the recipients it is sent
    # to, the hours until the winner is picked, by "clicks" or "revenue", and the winner.
    subject_b: Mapped[str | None] = mapped_column(String(150))
    test_share: Mapped[int | None] = mapped_column(SmallInteger)
    winner_after_hours: Mapped[int | None] = mapped_column(SmallInteger)
    judge: Mapped[str | None] = mapped_column(String(8))
    winner: Mapped[str | None] = mapped_column(String(1))
    winner_picked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # A send scheduled for this moment (typed in the store's time zone); with `local_time`, at
    # that wall-clock time in each recipient's zone (app.campaigns.timing).
    send_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    local_time: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    status: Mapped[str] = mapped_column(String(16), default="draft")
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CampaignRecipient(StoreOwned, Base):
    """One customer a campaign is for, resolved when it was sent; `message_id` is the outbox row
    written for them (in the transaction that marks them queued)."""

    __tablename__ = "campaign_recipients"
    __table_args__ = (
        UniqueConstraint("campaign_id", "customer_id"),
        # The sending chunks walk a campaign's pending recipients by id.
        Index("ix_campaign_recipients_campaign_id_status_id", "campaign_id", "status", "id"),
        # Never one code for two recipients: "already exists" then means made by our own try.
        Index("uq_campaign_recipients_store_id_discount_code", "store_id", "discount_code",
              unique=True),
    )

    campaign_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("campaigns.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("customers.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    reason: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("messages.id", ondelete="SET NULL"))
    # "A" or "B" in an A/B test's share; None for the rest (they get the winner's subject).
    variant: Mapped[str | None] = mapped_column(String(1))
    # A local-time send's moment for this recipient (while `scheduled`).
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # A design with a discount block: this recipient's single-use code, kept before the store's
    # platform is asked to make it (a retry asks again for the same code, never a second one),
    # its end, and whether the platform has made it (app.campaigns.codes).
    discount_code: Mapped[str | None] = mapped_column(String(32))
    discount_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    discount_made: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    # How often the platform refused that code's record; at codes.REFUSALS the recipient is
    # skipped.
    discount_refusals: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")

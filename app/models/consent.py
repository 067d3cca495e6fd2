"""The history of each customer's email-marketing consent: what justifies a marketing send."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core import clock
from app.core.db import Base
from app.models.base import StoreOwned


class ConsentChange(StoreOwned, Base):
    """One change of a customer's stored consent, appended by app.ingest.consent and never edited."""

    __tablename__ = "consent_changes"

    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    state: Mapped[str] = mapped_column(String(32))
    opt_in_level: Mapped[str | None] = mapped_column(String(32))
    # Where we learned it: "<platform>:<topic>", or "<platform>:checkout" for a ticked box.
    source: Mapped[str] = mapped_column(String(100))
    # When the customer gave or withdrew consent, as the platform says; NULL when it did not.
    occurred_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)


class SendConsent(StoreOwned, Base):
    """The per-send consent ledger: the consent a flow's marketing email was queued on, copied
    as it stood then (the history row it rests on may later be erased with the customer)."""

    __tablename__ = "send_consents"

    message_id: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), unique=True
    )
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    # The history row that set this consent; NULL when none was kept (or it was erased).
    consent_change_id: Mapped[int | None] = mapped_column(
        ForeignKey("consent_changes.id", ondelete="SET NULL"), index=True
    )
    state: Mapped[str | None] = mapped_column(String(32))
    opt_in_level: Mapped[str | None] = mapped_column(String(32))
    source: Mapped[str | None] = mapped_column(String(100))
    # When the customer gave it, as the platform said; NULL when it did not say.
    consented_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # When the send was judged on it (the message was queued).
    judged_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)

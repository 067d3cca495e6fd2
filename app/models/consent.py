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

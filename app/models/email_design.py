"""A store's own design of one email (app.mail.design): the blocks a merchant made for a flow's
send step. No row means the email's default design (or its prebuilt template)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.core import clock
from app.core.db import Base
from app.models.base import StoreOwned


class EmailDesign(StoreOwned, Base):
    """The design a store's (flow, step) email is drawn from; checked before it is stored."""

    __tablename__ = "email_designs"
    __table_args__ = (UniqueConstraint("store_id", "flow", "step"),)

    flow: Mapped[str] = mapped_column(String(64))
    step: Mapped[str] = mapped_column(String(64))
    design: Mapped[dict] = mapped_column(JSONB)
    updated_by: Mapped[str] = mapped_column(String(320))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now,
                                                 onupdate=clock.now)

"""The people of a store: its staff, who sign in by email, and the audit log of their changes."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.core import clock
from app.core.db import Base
from app.models.base import StoreOwned


class StaffMember(StoreOwned, Base):
    """Someone the store's owner invited: signs in with a link mailed to `email`, and may do
    what `role` allows (app.web.ui.staff.ROLES). Deleting the row ends their sessions."""

    __tablename__ = "staff_members"
    __table_args__ = (UniqueConstraint("store_id", "email"),)

    email: Mapped[str] = mapped_column(String(254))
    role: Mapped[str] = mapped_column(String(20))
    invited_by: Mapped[str] = mapped_column(String(300))
    invited_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)


class AuditEntry(StoreOwned, Base):
    """One change to the store's configuration: who, when, what, from what to what. Appended,
    never edited."""

    __tablename__ = "audit_entries"

    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now, index=True)
    actor: Mapped[str] = mapped_column(String(300))
    # What changed: "setting reply_to", "flow abandoned_checkout", "staff jo@example.com".
    subject: Mapped[str] = mapped_column(String(200))
    before: Mapped[object | None] = mapped_column(JSONB)
    after: Mapped[object | None] = mapped_column(JSONB)

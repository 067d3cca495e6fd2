"""Segments: a store's named audiences, each one JsonLogic rule (app.audiences.conditions), and
who was in each when it was last checked.

A segment is a query: its count and members are asked of the customers and their metrics every
time (app.audiences.sql). `segment_members` is not a copy to read members from; it is what the
last check found, kept only to notice who entered and who left (app.audiences.membership).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base
from app.models.base import StoreOwned, Timestamps


class Segment(StoreOwned, Timestamps, Base):
    __tablename__ = "segments"
    __table_args__ = (UniqueConstraint("store_id", "name"),)

    name: Mapped[str] = mapped_column(String(60))
    # The checked (normalized) rule: conditions.check's output, which both evaluators run.
    rule: Mapped[object] = mapped_column(JSONB)


class SegmentMember(Base):
    __tablename__ = "segment_members"
    __table_args__ = (
        # A customer's segments, for the recheck after their order or consent change.
        Index("ix_segment_members_store_id_customer_id", "store_id", "customer_id"),
    )

    segment_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("segments.id", ondelete="CASCADE"), primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    entered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

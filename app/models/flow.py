"""Flow state: each customer's place in a flow (FlowRun), the merchant's flow settings
(FlowConfig), the flows merchants built (FlowDocument, one row per version), and the timeline
that explains every decision the engine made."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint, text)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.core import clock
from app.core.db import Base
from app.models.base import StoreOwned


class FlowConfig(StoreOwned, Base):
    """A store's choices for one prebuilt flow: on/off and the settings that differ from its
    defaults. No row means the flow's defaults (and off)."""

    __tablename__ = "flow_configs"
    __table_args__ = (UniqueConstraint("store_id", "flow"),)

    flow: Mapped[str] = mapped_column(String(64))
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    settings: Mapped[dict] = mapped_column(JSONB, default=dict)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now,
                                                 onupdate=clock.now)


class FlowDocument(StoreOwned, Base):
    """One version of a flow a merchant built: the checked document (flows.document). Versions
    are never changed, so a run keeps walking the version it started on; the newest is the one
    new runs start on. On/off lives in FlowConfig, as for a prebuilt flow."""

    __tablename__ = "flow_documents"
    __table_args__ = (UniqueConstraint("store_id", "name", "version"),)

    name: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    document: Mapped[dict] = mapped_column(JSONB)
    created_by: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)


class FlowRun(StoreOwned, Base):
    """One customer's way through one flow for one subject (a checkout, an order, a lapse...).

    The database is the clock's source of truth: `due_at` says when the next step is owed, and
    the tick finds it there whatever happened to Redis. A run keeps the definition version and
    the settings it started with, so editing a flow never changes runs already under way.
    """

    __tablename__ = "flow_runs"
    __table_args__ = (
        # One run per flow and subject: a repeated or concurrent trigger finds it.
        UniqueConstraint("store_id", "flow", "customer_id", "subject", "subject_id"),
        # The tick's question: which active runs are due?
        Index("ix_flow_runs_due", "due_at", "id", postgresql_where=text("status = 'active'")),
        Index("ix_flow_runs_store_id_customer_id", "store_id", "customer_id"),
        # The overview's runs of one flow started in its period (its holdout comparison).
        Index("ix_flow_runs_store_id_flow_started_at", "store_id", "flow", "started_at"),
    )

    flow: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    subject: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[int] = mapped_column(BigInteger)
    # active -> completed | exited
    status: Mapped[str] = mapped_column(String(16), default="active")
    step: Mapped[int] = mapped_column(Integer, default=0)  # index of the next step to run
    # When the triggering activity happened: orders placed since then end the run.
    triggered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The moment delays count from: the last activity of the subject (moved by new activity).
    anchor_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    settings: Mapped[dict] = mapped_column(JSONB, default=dict)
    # What its steps produced for later ones (a discount code for the next email).
    data: Mapped[dict] = mapped_column(JSONB, default=dict)
    # Held out as a control group: walks the steps, is counted, is never emailed.
    holdout: Mapped[bool] = mapped_column(Boolean, default=False)
    outcome: Mapped[str | None] = mapped_column(Text)  # why it ended: a rule's name, never PII
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now,
                                                 onupdate=clock.now)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class TimelineEntry(StoreOwned, Base):
    """One decision about one customer: enrolled, sent, deferred, skipped, exited, completed."""

    __tablename__ = "timeline"
    __table_args__ = (Index("ix_timeline_store_id_customer_id_at", "store_id", "customer_id", "at"),)

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    run_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    flow: Mapped[str] = mapped_column(String(64))
    step: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str] = mapped_column(Text, default="")  # rule names and times, never PII
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

"""Background jobs that failed and have not succeeded since: what the overview and doctor show."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core import clock
from app.core.db import Base


class JobFailure(Base):
    """One RQ job's failures (app.jobs.failures): kept while it retries or waits for an operator,
    deleted when it succeeds. Holds the error's class, never its message (which can carry
    personal data)."""

    __tablename__ = "job_failures"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    # The work, not the RQ job: its function and first argument (`app.mail.outbox.deliver:25`), so
    # a retry under another job id (mail over the rate, an ingest queued again) clears it too.
    job_key: Mapped[str] = mapped_column(String(200), unique=True)
    # None for jobs of no one store (the periodic sweeps).
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"),
                                                 index=True)
    job: Mapped[str] = mapped_column(String(100))  # its function, module.name
    error: Mapped[str] = mapped_column(String(100))  # the exception's class name
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    retrying: Mapped[bool] = mapped_column(Boolean)
    first_failed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)
    last_failed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)

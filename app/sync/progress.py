"""Where each store's sync jobs stand, in one shape for every platform: per resource, a
backfill's status, page cursor and count; reconciliation's watermark; why a run failed.

Callers pass their session, so progress moves in the same transaction as the records it counts.
"""
from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime
from typing import Iterable, Iterator

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app.core import clock
from app.core.db import db
from app.models import SyncProgress

BACKFILL, RECONCILE = "backfill", "reconcile"
# Reconciliation covers every resource in one run, so it keeps one row under this name.
ALL = "all"


def _row(session: Session, store_id: int, job: str, resource: str) -> SyncProgress:
    """The row, created on first use, locked for the caller's transaction."""
    session.execute(insert(SyncProgress).values(
        store_id=store_id, job=job, resource=resource, status="queued", count=0,
        updated_at=clock.now(),
    ).on_conflict_do_nothing(index_elements=["store_id", "job", "resource"]))
    return _locked(session, store_id, job, resource)


def _locked(session: Session, store_id: int, job: str, resource: str) -> SyncProgress | None:
    return session.execute(select(SyncProgress).where(
        SyncProgress.store_id == store_id, SyncProgress.job == job,
        SyncProgress.resource == resource).with_for_update()).scalar_one_or_none()


def queue(session: Session, store_id: int, job: str, resources: Iterable[str]) -> None:
    """Mark each resource queued with no cursor and nothing counted: the job starts over."""
    for resource in resources:
        row = _row(session, store_id, job, resource)
        row.status, row.cursor, row.count, row.error = "queued", None, 0, None
        row.started_at = row.finished_at = None


def resume(session: Session, store_id: int, job: str, resource: str) -> SyncProgress | None:
    """Mark a queued, interrupted or failed resource running and return its row, whose cursor
    is the page to carry on after; None when it is done or was never queued."""
    row = _locked(session, store_id, job, resource)
    if row is None or row.status == "done":
        return None
    row.status, row.error, row.finished_at = "running", None, None
    row.started_at = row.started_at or clock.now()
    return row


def claim_page(session: Session, store_id: int, job: str, resource: str, count: int,
               cursor: str | None = None, next_cursor: str | None = None) -> bool:
    """Count a page of `count` records and move the cursor from `cursor` to `next_cursor`, in the
    transaction that stores the page. False, changing nothing, when another run already moved
    the cursor: that run owns the rest, and the caller must not store the page."""
    row = _locked(session, store_id, job, resource)
    if row.cursor != cursor:
        return False
    row.cursor, row.count = next_cursor, row.count + count
    return True


def finish(session: Session, store_id: int, job: str, resource: str) -> None:
    """Mark the resource done."""
    row = _row(session, store_id, job, resource)
    row.status, row.finished_at = "done", clock.now()


@contextmanager
def failures_recorded(store_id: int, job: str, resource: str = ALL) -> Iterator[None]:
    """Around a run: an exception marks the row failed, naming the error's class (its message
    may quote the store's data), and goes on to RQ, which retries or keeps the job."""
    try:
        yield
    except Exception as error:
        with db.session() as session:
            row = _row(session, store_id, job, resource)
            row.status, row.error, row.finished_at = "failed", type(error).__name__, clock.now()
        raise


def watermark(session: Session, store_id: int) -> datetime | None:
    """The instant reconciliation has seen every update before; None before its first run."""
    return session.execute(select(SyncProgress.watermark).where(
        SyncProgress.store_id == store_id, SyncProgress.job == RECONCILE,
        SyncProgress.resource == ALL)).scalar_one_or_none()


def reconciled(session: Session, store_id: int, started: datetime, healed: int) -> None:
    """Record a reconciliation that began at `started`, so has seen every update before it (the
    new watermark), and healed `healed` records webhooks had missed."""
    row = _row(session, store_id, RECONCILE, ALL)
    row.status, row.watermark, row.count, row.error = "done", started, healed, None
    row.started_at, row.finished_at = started, clock.now()

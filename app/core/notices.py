"""Notices for the merchant: things that happened to their store without them, such as webhooks
the sync jobs had to restore; the overview shows the recent ones."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Integer, cast, func, select
from sqlalchemy.orm import Session

from app.core import clock
from app.models import StoreNotice


def notify(session: Session, store_id: int, kind: str, detail: str, count: int = 1,
           merge_within: timedelta | None = None) -> None:
    """Record something the merchant should see (no personal data: it is shown in the UI).
    With `merge_within`, a notice of the same kind that recent is counted up instead, so a
    repeating problem is one line, not a wall of them."""
    if merge_within is not None:
        # One at a time per store and kind, so two jobs at once make one notice, not two.
        session.execute(select(func.pg_advisory_xact_lock(cast(store_id, Integer),
                                                          func.hashtext(kind))))
        recent_one = session.execute(
            select(StoreNotice).where(StoreNotice.store_id == store_id, StoreNotice.kind == kind,
                                      StoreNotice.created_at >= clock.now() - merge_within)
            .order_by(StoreNotice.created_at.desc()).limit(1)).scalar_one_or_none()
        if recent_one is not None:
            recent_one.count += count
            recent_one.detail = detail
            return
    session.add(StoreNotice(store_id=store_id, kind=kind, detail=detail, count=count))


def recent(session: Session, store_id: int, since: datetime, limit: int) -> list[StoreNotice]:
    """The store's notices since `since`, newest first, at most `limit`."""
    return list(session.execute(
        select(StoreNotice).where(StoreNotice.store_id == store_id,
                                  StoreNotice.created_at >= since)
        .order_by(StoreNotice.created_at.desc(), StoreNotice.id.desc()).limit(limit)).scalars())

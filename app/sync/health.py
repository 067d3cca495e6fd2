"""Whether a store's data is complete and still arriving, for the overview: the last store event
and failures to process one, each resource's backfill, the last reconciliation, and the notices
the sync jobs left for the merchant."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from app.core import notices
from app.models import StoreNotice, SyncProgress, WebhookEvent
from app.sync.progress import BACKFILL, RECONCILE

# A store with traffic sends something every day; a longer silence means broken webhooks.
SILENCE = timedelta(hours=24)
# Notices older than this are history, not news.
NOTICES_SINCE = timedelta(days=30)
NOTICES_SHOWN = 5


@dataclass(frozen=True)
class SyncHealth:
    last_received_at: datetime | None
    failed: int  # deliveries that gave up processing, in the last SILENCE
    silent: bool  # events used to arrive and stopped
    backfill: list[SyncProgress]  # one per resource, in the order the connector imports them
    reconciliation: SyncProgress | None  # None before the first run
    notices: list[StoreNotice]  # newest first

    @property
    def sync_failures(self) -> list[SyncProgress]:
        """The backfill resources and the reconciliation whose last run failed."""
        return [row for row in (*self.backfill, self.reconciliation)
                if row is not None and row.status == "failed"]


def read(session: Session, store_id: int, now: datetime) -> SyncHealth:
    """The store's sync health as of `now`, in three small queries."""
    last, failed = session.execute(
        select(func.max(WebhookEvent.received_at),
               func.count(case((and_(WebhookEvent.error.is_not(None),
                                     WebhookEvent.received_at >= now - SILENCE), 1))))
        .where(WebhookEvent.store_id == store_id)).one()
    progress = session.execute(select(SyncProgress).where(SyncProgress.store_id == store_id)
                               .order_by(SyncProgress.id)).scalars().all()
    return SyncHealth(
        last_received_at=last, failed=failed, silent=last is not None and now - last > SILENCE,
        backfill=[row for row in progress if row.job == BACKFILL],
        reconciliation=next((row for row in progress if row.job == RECONCILE), None),
        notices=notices.recent(session, store_id, now - NOTICES_SINCE, NOTICES_SHOWN))

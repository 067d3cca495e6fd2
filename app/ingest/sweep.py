"""Keeping the inbox moving: queue rows whose ingest job was lost, give exhausted rows a fresh
start on an operator's word, and prune what was processed long ago."""
from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import delete, select, update

from app import jobs
from app.core import clock
from app.core.db import db
from app.ingest import drain
from app.ingest.pipeline import ingest
from app.models import WebhookEvent

log = logging.getLogger(__name__)

# Enough for every retry of the ingest job (app.jobs.policies); rows beyond it wait for an
# operator (`storeflow inbox retry`).
MAX_INGEST_ATTEMPTS = 8
# Processed deliveries hold personal data; keep them only as long as debugging needs.
INBOX_RETENTION = timedelta(days=30)


def sweep_inbox(older_than_seconds: int = 30) -> int:
    """Queue inbox rows that were stored but never processed (Redis was down, a job was lost):
    a drain for each store with rows never tried, each row tried before its own job; the number
    of jobs queued."""
    cutoff = clock.now() - timedelta(seconds=older_than_seconds)
    with db.session() as session:
        rows = session.execute(
            select(WebhookEvent.id, WebhookEvent.store_id, WebhookEvent.attempts)
            .where(WebhookEvent.processed_at.is_(None), WebhookEvent.received_at < cutoff,
                   WebhookEvent.attempts < MAX_INGEST_ATTEMPTS)
            .order_by(WebhookEvent.id).limit(5000)
        ).all()
    # A fresh row waiting behind a backlog is its store's drain's: a job of its own would only
    # race it.
    drained = [store_id for store_id in sorted({row.store_id for row in rows if not row.attempts})
               if drain.signal(store_id)]
    swept = [row.id for row in rows if row.attempts and not jobs.job_pending(f"ingest-{row.id}")]
    for event_id in swept:
        jobs.enqueue(ingest, event_id)
    if drained or swept:
        log.info("sweep queued %d drain(s) and %d unprocessed inbox row(s)", len(drained),
                 len(swept))
    return len(drained) + len(swept)


def retry_exhausted(store_id: int | None = None) -> int:
    """Give inbox rows that used up their attempts a fresh start and queue them again."""
    with db.session() as session:
        statement = (update(WebhookEvent)
                     .where(WebhookEvent.processed_at.is_(None),
                            WebhookEvent.attempts >= MAX_INGEST_ATTEMPTS)
                     .values(attempts=0).returning(WebhookEvent.id))
        if store_id is not None:
            statement = statement.where(WebhookEvent.store_id == store_id)
        ids = session.execute(statement).scalars().all()
    for event_id in ids:
        jobs.enqueue(ingest, event_id)
    return len(ids)


def prune_inbox() -> int:
    """Delete processed deliveries older than INBOX_RETENTION (their data lives in the model)."""
    with db.session() as session:
        pruned = session.execute(delete(WebhookEvent).where(
            WebhookEvent.processed_at < clock.now() - INBOX_RETENTION)).rowcount
    if pruned:
        log.info("pruned %d processed inbox row(s)", pruned)
    return pruned

"""Ingesting a store's fresh deliveries in batches: the web answers a delivery after one small
Redis command, and one job ingests many deliveries, a batch per transaction.

The inbox row is the durable record; the signal is only a nudge. A store's flag
(`storeflow:ingest-due:<store>`) says a drain job is queued for it: the delivery that sets the flag
queues the job, the ones after it find the flag set and queue nothing. The job clears the flag
before it reads, so a delivery stored after its last read queues the next job. A flag whose job
was lost expires (FLAG_TTL), and the sweep (app.ingest.sweep) signals again for rows left.

A drain takes only rows never tried (attempts 0) and counts the attempt as it takes them, in a
transaction of its own: a row whose batch failed, or whose worker was killed, is then the
per-row job's (`ingest(event_id)`, with its retries), queued at once by the failing batch or
later by the sweep, exactly as before. Order needs no care here: ingest keeps whatever is newest
whatever order deliveries arrive in (tests/faults/test_delivery_order.py).
"""
from __future__ import annotations

import logging
import uuid

from sqlalchemy import select, update

from app import jobs
from app.core.db import db
from app.ingest.pipeline import ingest, ingest_row
from app.models import WebhookEvent

log = logging.getLogger(__name__)

FLAG = "storeflow:ingest-due:{}"
# A lost job's flag delays the store's next drain at most this long (seconds).
FLAG_TTL = 60
# Rows per transaction: enough to share a commit, few enough that a failing batch hands little
# to the per-row jobs and holds its locks briefly.
BATCH = 50
# Rows one job takes before it queues the store's next turn behind the other stores' jobs: a
# flood of one store's deliveries never starves another store's.
TURN = 500


def signal(store_id: int) -> bool:
    """Make sure a drain job is queued for the store's fresh deliveries; True when this queued
    it (raises RedisError)."""
    if not jobs.broker.connection.set(FLAG.format(store_id), 1, nx=True, ex=FLAG_TTL):
        return False
    jobs.enqueue(drain, store_id, job_id=f"ingest-store-{store_id}-{uuid.uuid4().hex}")
    return True


def drain(store_id: int) -> None:
    """Ingest the store's fresh deliveries, oldest first, up to TURN of them."""
    jobs.broker.connection.delete(FLAG.format(store_id))
    taken = 0
    while taken < TURN:
        batch = _take(store_id)
        _ingest_batch(batch)
        taken += len(batch)
        if len(batch) < BATCH:
            return
    signal(store_id)  # more are waiting: the store's next turn


def _take(store_id: int) -> list[int]:
    """Claim a batch of the store's fresh rows by counting their attempt (committed)."""
    fresh = (select(WebhookEvent.id)
             .where(WebhookEvent.store_id == store_id, WebhookEvent.processed_at.is_(None),
                    WebhookEvent.attempts == 0)
             .order_by(WebhookEvent.id).limit(BATCH).with_for_update(skip_locked=True))
    with db.session() as session:
        return sorted(session.execute(
            update(WebhookEvent).where(WebhookEvent.id.in_(fresh.scalar_subquery()))
            .values(attempts=1).returning(WebhookEvent.id)).scalars())


def _ingest_batch(event_ids: list[int]) -> None:
    """Ingest claimed rows in one transaction. If it fails, each row goes to its own job, which
    fails, retries and is reported on its own: one bad delivery holds up no other."""
    if not event_ids:
        return
    try:
        with db.session() as session:
            rows = session.execute(
                select(WebhookEvent).where(WebhookEvent.id.in_(event_ids),
                                           WebhookEvent.processed_at.is_(None))
                .order_by(WebhookEvent.id).with_for_update(skip_locked=True)).scalars().all()
            for event in rows:
                ingest_row(session, event)
                if event not in session:  # a shop redaction purged the store and its inbox
                    break
    except Exception as error:  # noqa: BLE001 - handed on: the rows' own jobs raise it again
        log.warning("ingest batch failed (%s); its %d row(s) go to their own jobs",
                    type(error).__name__, len(event_ids))
        jobs.enqueue_many(ingest, [(event_id,) for event_id in event_ids])

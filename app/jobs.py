"""RQ queues and the job entry points. Jobs take ids, never ORM objects, and stay thin."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

import redis
from rq import Queue, Retry
from rq.job import Job, JobStatus
from sqlalchemy import delete, select, update

from app import clock
from app.db import db
from app.ingest import ingest
from app.models import WebhookEvent

log = logging.getLogger(__name__)

# Queues by purpose, in the order a worker serves them.
QUEUES = ("ingest", "flows", "mail", "periodic", "sync")
INGEST_RETRY = Retry(max=5, interval=[10, 30, 60, 300, 900])
# Enough for every retry above; rows beyond it wait for an operator (`storeflow inbox retry`).
MAX_INGEST_ATTEMPTS = 8
# Processed deliveries hold personal data; keep them only as long as debugging needs.
INBOX_RETENTION = timedelta(days=30)
WAITING = {JobStatus.SCHEDULED, JobStatus.DEFERRED}


class Broker:
    """The process's Redis connection, bound once by `app.bootstrap`."""

    def __init__(self) -> None:
        self.connection: redis.Redis | None = None

    def configure(self, url: str) -> None:
        self.connection = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=2)

    def queue(self, name: str) -> Queue:
        if self.connection is None:
            raise RuntimeError("redis is not configured; call app.bootstrap first")
        return Queue(name, connection=self.connection)


broker = Broker()


def enqueue_ingest(event_id: int) -> None:
    """Queue one inbox row. The job id is deterministic; the inbox row is the real guard."""
    broker.queue("ingest").enqueue(
        ingest, event_id, job_id=f"ingest-{event_id}", retry=INGEST_RETRY,
        failure_ttl=int(timedelta(days=7).total_seconds()),
    )


def job_pending(job_id: str, started_grace: timedelta = timedelta(minutes=5)) -> bool:
    """True while a job with this id is waiting, or running with a recent heartbeat. A started
    job whose worker was killed stops beating; after `started_grace` it counts as lost."""
    if not Job.exists(job_id, broker.connection):
        return False
    job = Job.fetch(job_id, connection=broker.connection)
    status = job.get_status()
    if status == JobStatus.STARTED:
        beat = job.last_heartbeat or job.started_at
        return beat is not None and beat.replace(tzinfo=timezone.utc) > _utcnow() - started_grace
    if status == JobStatus.QUEUED:
        # A worker killed between taking the id off the list and starting the job leaves it
        # "queued" in name only: it must still be on its queue's list.
        return broker.queue(job.origin).get_job_position(job_id) is not None
    return status in WAITING


def _utcnow() -> datetime:
    # RQ's heartbeats are wall-clock time, not the application's (settable) clock.
    return datetime.now(timezone.utc)


def sweep_inbox(older_than_seconds: int = 30) -> int:
    """Queue inbox rows that were stored but never processed (Redis was down, a job was lost)."""
    cutoff = clock.now() - timedelta(seconds=older_than_seconds)
    with db.session() as session:
        ids = session.execute(
            select(WebhookEvent.id)
            .where(WebhookEvent.processed_at.is_(None), WebhookEvent.received_at < cutoff,
                   WebhookEvent.attempts < MAX_INGEST_ATTEMPTS)
            .order_by(WebhookEvent.id).limit(5000)
        ).scalars().all()
    swept = [event_id for event_id in ids if not job_pending(f"ingest-{event_id}")]
    for event_id in swept:
        enqueue_ingest(event_id)
    if swept:
        log.info("sweep queued %d unprocessed inbox row(s)", len(swept))
    return len(swept)


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
        enqueue_ingest(event_id)
    return len(ids)


def prune_inbox() -> int:
    """Delete processed deliveries older than INBOX_RETENTION (their data lives in the model)."""
    with db.session() as session:
        pruned = session.execute(delete(WebhookEvent).where(
            WebhookEvent.processed_at < clock.now() - INBOX_RETENTION)).rowcount
    if pruned:
        log.info("pruned %d processed inbox row(s)", pruned)
    return pruned

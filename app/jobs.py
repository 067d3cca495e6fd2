"""RQ queues, the one job policy, and the inbox's jobs. Jobs take ids, never ORM objects, and
stay thin.

Every job declares its policy once, where it is defined: `@jobs.job("mail", retry=...,
id="mail-{0}")`. Callers only say what to run (`jobs.enqueue(deliver, message_id)`); the queue,
retries, timeout, TTLs and the job's id come from the declaration.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar

import redis
import rq.job
from rq import Queue, Retry
from rq.job import Job, JobStatus
from rq.utils import import_attribute
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


F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Policy:
    """How one job runs. `id` formats the job's arguments into its id (`"mail-{0}"`): an id that
    says what the job is about lets a sweep ask whether it is still waiting."""

    queue: str
    retry: Retry | None = None
    timeout: timedelta | None = None  # RQ's default (3 minutes) when None
    id: str | None = None
    result_ttl: timedelta | None = None  # RQ's default (500 s) when None
    failure_ttl: timedelta = timedelta(days=7)

    def options(self, args: tuple, job_id: str | None) -> dict[str, Any]:
        """The keyword arguments RQ's enqueue methods take for a job with these arguments."""
        options: dict[str, Any] = {"retry": self.retry,
                                   "failure_ttl": int(self.failure_ttl.total_seconds())}
        if job_id or self.id:
            options["job_id"] = job_id or self.id.format(*args)
        if self.timeout is not None:
            options["job_timeout"] = int(self.timeout.total_seconds())
        if self.result_ttl is not None:
            options["result_ttl"] = int(self.result_ttl.total_seconds())
        return options


POLICIES: dict[str, Policy] = {}


def job(queue: str, **policy: Any) -> Callable[[F], F]:
    """Declare a function an RQ job on `queue`, with the rest of its Policy."""
    if queue not in QUEUES:
        raise ValueError(f"no queue {queue!r}; queues are {', '.join(QUEUES)}")

    def declare(func: F) -> F:
        POLICIES[path(func)] = Policy(queue, **policy)
        return func
    return declare


def path(func: Callable) -> str:
    """The dotted path RQ stores for a job function."""
    return f"{func.__module__}.{func.__qualname__}"


def policy(func: Callable) -> Policy:
    try:
        return POLICIES[path(func)]
    except KeyError:
        raise LookupError(f"{path(func)} is not a declared job (@jobs.job)") from None


def enqueue(func: Callable, *args: Any, at: datetime | None = None,
            delay: timedelta | None = None, job_id: str | None = None) -> Job:
    """Queue `func(*args)` by its declared policy: now, at a moment, or after a delay.
    `job_id` replaces the declared id (a follow-up of a job that is still running)."""
    declared = policy(func)
    queue = broker.queue(declared.queue)
    options = declared.options(args, job_id)
    if at is not None:
        return queue.enqueue_at(at, func, *args, **options)
    if delay is not None:
        return queue.enqueue_in(delay, func, *args, **options)
    return queue.enqueue(func, *args, **options)


def enqueue_many(func: Callable, argument_lists: Iterable[tuple]) -> list[Job]:
    """Queue one job per argument tuple in one round trip to Redis."""
    declared = policy(func)
    prepared = []
    for args in argument_lists:
        options = declared.options(args, None)
        if "job_timeout" in options:  # prepare_data names it differently from enqueue
            options["timeout"] = options.pop("job_timeout")
        prepared.append(Queue.prepare_data(func, args, **options))
    return broker.queue(declared.queue).enqueue_many(prepared) if prepared else []


# Job paths a release moved, old -> new, so that jobs queued before an upgrade still run after
# it. Each entry is kept for one release.
MOVED_JOBS: dict[str, str] = {}


class MovableJob(rq.job.Job):
    """An RQ job that finds its function under the new path when a release moved it."""

    @property
    def func(self) -> Callable | None:
        name = self.func_name
        if name in MOVED_JOBS and self.instance is None:
            return import_attribute(MOVED_JOBS[name])
        return super().func


class Broker:
    """The process's Redis connection, bound once by `app.bootstrap`."""

    def __init__(self) -> None:
        self.connection: redis.Redis | None = None

    def configure(self, url: str) -> None:
        self.connection = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=2)

    def queue(self, name: str) -> Queue:
        if self.connection is None:
            raise RuntimeError("redis is not configured; call app.bootstrap first")
        return Queue(name, connection=self.connection, job_class=MovableJob)


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

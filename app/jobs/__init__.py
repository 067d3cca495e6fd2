"""RQ queues and the one job policy. Jobs take ids, never ORM objects, and stay thin.

Every job's policy (queue, retries, timeout, TTLs, id, what it is called on the overview) is
declared once, in the table of app.jobs.policies, which start-up installs here. Callers only
say what to run (`jobs.enqueue(deliver, message_id)`); everything else comes from the table.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import redis
import rq.job
from rq import Queue, Retry
from rq.job import Job, JobStatus
from rq.utils import import_attribute

# Queues by purpose, in the order a worker serves them.
# A campaign's chunks and mail come last: a flow's step or email never waits behind one.
QUEUES = ("ingest", "flows", "mail", "periodic", "sync", "campaigns")
WAITING = {JobStatus.SCHEDULED, JobStatus.DEFERRED}


@dataclass(frozen=True)
class Policy:
    """How one job runs. `id` formats the job's arguments into its id (`"mail-{0}"`): an id that
    says what the job is about lets a sweep ask whether it is still waiting. `title` names the
    work on the overview; `about` is the model whose row id the job's first argument is (the row
    that says which store a failure belongs to); `work` formats the job's arguments into the
    piece of work its failures are kept under (app.jobs.failing), by default its first argument."""

    queue: str
    title: str
    retry: Retry | None = None
    timeout: timedelta | None = None  # RQ's default (3 minutes) when None
    id: str | None = None
    result_ttl: timedelta | None = None  # RQ's default (500 s) when None
    failure_ttl: timedelta = timedelta(days=7)
    about: type | None = None
    work: str | None = None

    def __post_init__(self) -> None:
        if self.queue not in QUEUES:
            raise ValueError(f"no queue {self.queue!r}; queues are {', '.join(QUEUES)}")

    def job_id(self, args: tuple) -> str | None:
        return self.id.format(*args) if self.id else None

    def options(self, args: tuple, job_id: str | None = None) -> dict[str, Any]:
        """The keyword arguments RQ's enqueue methods take for a job with these arguments."""
        options: dict[str, Any] = {"retry": self.retry, "job_id": job_id or self.job_id(args),
                                   "failure_ttl": int(self.failure_ttl.total_seconds())}
        if self.timeout is not None:
            options["job_timeout"] = int(self.timeout.total_seconds())
        if self.result_ttl is not None:
            options["result_ttl"] = int(self.result_ttl.total_seconds())
        return options


POLICIES: dict[str, Policy] = {}
# Job paths a release moved, old -> new, so that jobs queued before an upgrade still run after
# it (app.jobs.policies lists them; each is kept for one release).
MOVED_JOBS: dict[str, str] = {}


def declare(policies: Mapping[Callable, Policy], moved: Mapping[str, str]) -> None:
    """Install the table of job policies and the moved job paths (at start-up)."""
    POLICIES.update({path(func): policy for func, policy in policies.items()})
    MOVED_JOBS.update(moved)


def path(func: Callable) -> str:
    """The dotted path RQ stores for a job function."""
    return f"{func.__module__}.{func.__qualname__}"


def policy_of(name: str) -> Policy | None:
    """The policy of the job RQ knows by this dotted path (old paths included)."""
    return POLICIES.get(MOVED_JOBS.get(name, name))


def policy(func: Callable) -> Policy:
    try:
        return POLICIES[path(func)]
    except KeyError:
        raise LookupError(f"{path(func)} is not a declared job (app.jobs.policies)") from None


def enqueue(func: Callable, *args: Any, at: datetime | None = None,
            job_id: str | None = None) -> Job:
    """Queue `func(*args)` by its declared policy, now or at a moment; `job_id` stands in for
    the declared id where the id is computed rather than formatted (a dry run's settings)."""
    declared = policy(func)
    queue = broker.queue(declared.queue)
    if at is not None:
        return queue.enqueue_at(at, func, *args, **declared.options(args, job_id))
    # On its own RQ sends two transactions (the queue's name, then the job): one round trip here.
    with queue.connection.pipeline() as pipeline:
        job = queue.enqueue(func, *args, pipeline=pipeline, **declared.options(args, job_id))
        pipeline.execute()
    return job


def follow_up(func: Callable, delay: timedelta, *args: Any) -> Job:
    """Queue `func(*args)` again after `delay`, from inside the job that runs it now: under its
    own id (`…-later`), since the running job still holds the declared one."""
    declared = policy(func)
    running = declared.job_id(args)
    return broker.queue(declared.queue).enqueue_in(
        delay, func, *args, **declared.options(args, running and f"{running}-later"))


def enqueue_many(func: Callable, argument_lists: Iterable[tuple]) -> list[Job]:
    """Queue one job per argument tuple in one round trip to Redis."""
    declared = policy(func)
    prepared = []
    for args in argument_lists:
        options = declared.options(args)
        if "job_timeout" in options:  # prepare_data names it differently from enqueue
            options["timeout"] = options.pop("job_timeout")
        prepared.append(Queue.prepare_data(func, args, **options))
    return broker.queue(declared.queue).enqueue_many(prepared) if prepared else []


class MovableJob(rq.job.Job):
    """An RQ job that finds its function under the new path when a release moved it (MOVED_JOBS)."""

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


def job_pending(job_id: str, started_grace: timedelta = timedelta(minutes=5)) -> bool:
    """True while a job with this id is waiting, or running with a recent heartbeat. A started
    job whose worker was killed stops beating; after `started_grace` it counts as lost."""
    return pending_job(job_id, started_grace) is not None


def pending_job(job_id: str, started_grace: timedelta = timedelta(minutes=5)) -> Job | None:
    """The job with this id while it is pending (as `job_pending` says), else None."""
    if not Job.exists(job_id, broker.connection):
        return None
    job = Job.fetch(job_id, connection=broker.connection)
    status = job.get_status()
    if status == JobStatus.STARTED:
        beat = job.last_heartbeat or job.started_at
        pending = beat is not None and beat.replace(tzinfo=timezone.utc) > _utcnow() - started_grace
    elif status == JobStatus.QUEUED:
        # A worker killed between taking the id off the list and starting the job leaves it
        # "queued" in name only: it must still be on its queue's list.
        pending = broker.queue(job.origin).get_job_position(job_id) is not None
    else:
        pending = status in WAITING
    return job if pending else None


def _utcnow() -> datetime:
    # RQ's heartbeats are wall-clock time, not the application's (settable) clock.
    return datetime.now(timezone.utc)

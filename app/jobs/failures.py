"""Failing background jobs, where a merchant and an operator can see them.

The worker (app.jobs.worker) calls `record` for every failure of a job, whether RQ will retry it or
not, and `cleared` after every success: a failure is kept per piece of work (the job's function
and first argument, or what its policy's `work` names), so the work succeeding under any job id (a retry, mail deferred over the
rate, an ingest queued again) clears it. Which work is failing is also a Redis set
(app.jobs.failing), so a
success costs one SREM, not a query. The overview shows a store's open
failures in red, with the first error in words and what to do; `storeflow doctor` lists every
store's and exits non-zero. Only the error's class is kept: its message can carry personal data.
"""
from __future__ import annotations

import inspect
import logging
from dataclasses import dataclass
from datetime import datetime

from rq.job import Job
from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app import jobs
from app.core import clock
from app.core.db import db
from app.jobs.failing import FAILING, work_key
from app.mail import outbox
from app.models import JobFailure

log = logging.getLogger(__name__)

UNDECLARED = "Background work"  # a job app.jobs.policies does not list (an old release's)


@dataclass(frozen=True)
class Explanation:
    words: str
    fix: str


# The first error in words, and what to do, by the exception's class name.
EXPLANATIONS = {
    "OverflowError": Explanation("a number too large to work with",
                                 "check the delays and other numbers on the Flows page"),
    "HeaderParseError": Explanation("an address the mail can't carry",
                                    "check the from and reply-to addresses in Settings"),
    "TransientFailure": Explanation("the mail server did not take the message for now",
                                    "it is retried; if it lasts, check the SMTP provider"),
    "PermanentFailure": Explanation("the mail server refused the message",
                                    "check the sender address and the SMTP provider's account"),
    "OperationalError": Explanation("the database did not answer",
                                    "it is retried; your operator can run `storeflow doctor`"),
    "Unauthorized": Explanation("the store refused Storeflow's access",
                                "reconnect the store (reinstall the app or Connect again)"),
    "WooError": Explanation("the store's API answered with an error",
                            "check that the store is online and the plugin is active"),
}
UNEXPECTED = Explanation("an unexpected error",
                         "your operator can find it in the worker's log; it is retried")


def explain(error: str) -> Explanation:
    return EXPLANATIONS.get(error, UNEXPECTED)


def kind(job_name: str) -> str:
    """What a job does, in the merchant's words (its policy's title)."""
    policy = jobs.policy_of(job_name)
    return policy.title if policy else UNDECLARED


def record(job: Job, exc_type, exc_value, traceback) -> bool:
    """RQ exception handler: keep the failure, then let RQ go on (retry or fail the job)."""
    try:
        retrying = bool(job.retries_left)
        key = work_key(job)
        statement = insert(JobFailure).values(
            job_key=key, store_id=_store_of(job), job=job.func_name, error=exc_type.__name__,
            attempts=1, retrying=retrying, first_failed_at=clock.now(),
            last_failed_at=clock.now())
        with db.session() as session:
            session.execute(statement.on_conflict_do_update(
                index_elements=["job_key"],
                set_={"attempts": JobFailure.attempts + 1, "retrying": retrying,
                      "error": exc_type.__name__, "last_failed_at": clock.now()}))
        jobs.broker.connection.sadd(FAILING, key)
    except Exception:  # noqa: BLE001 - never let bookkeeping hide the job's own failure
        log.exception("could not record a job failure", extra={"job_id": job.id})
    return True


def cleared(job: Job) -> None:
    """A job succeeded: forget the failures of its work, if it had any. Never raises: RQ would
    take an error here for the job's own and run it again."""
    try:
        key = work_key(job)
        if jobs.broker.connection.srem(FAILING, key):
            with db.session() as session:
                session.execute(delete(JobFailure).where(JobFailure.job_key == key))
    except Exception:  # noqa: BLE001
        log.exception("could not clear a job's failures", extra={"job_id": job.id})


def open_failures(session: Session, store_id: int | None = None) -> list[JobFailure]:
    """Open failures, the oldest first: one store's, or every store's (store_id None)."""
    query = select(JobFailure).order_by(JobFailure.first_failed_at, JobFailure.id)
    if store_id is not None:
        query = query.where(JobFailure.store_id == store_id)
    return list(session.execute(query).scalars())


@dataclass(frozen=True)
class LastError:
    """Why a message still queued has not left: its mail job's open failure, in words."""
    explanation: Explanation
    attempts: int
    retrying: bool  # False: RQ gave up; an operator must look
    at: datetime


def of_messages(session: Session, store_id: int, message_ids: list[int]) -> dict[int, LastError]:
    """The last error of each of these messages whose mail job is failing, by message id."""
    deliver = jobs.path(outbox.deliver)
    keys = {f"{deliver}:{message_id}": message_id for message_id in message_ids}
    if not keys:
        return {}
    rows = session.execute(select(JobFailure).where(
        JobFailure.store_id == store_id, JobFailure.job_key.in_(keys))).scalars()
    return {keys[row.job_key]: LastError(explain(row.error), row.attempts, row.retrying,
                                         row.last_failed_at) for row in rows}


@dataclass(frozen=True)
class Trouble:
    """Open failures of one kind of job with one error, as the overview and doctor say them."""
    kind: str
    error: str
    explanation: Explanation
    jobs: int
    retrying: int  # of those, still retrying on their own
    since: datetime


def troubles(failures: list[JobFailure]) -> list[Trouble]:
    """Failures grouped by what failed and why, the oldest first."""
    groups: dict[tuple[str, str], list[JobFailure]] = {}
    for failure in failures:
        groups.setdefault((kind(failure.job), failure.error), []).append(failure)
    return [Trouble(what, error, explain(error), len(rows), sum(r.retrying for r in rows),
                    min(r.first_failed_at for r in rows))
            for (what, error), rows in groups.items()]


def _store_of(job: Job) -> int | None:
    """The store a job works for: from the row its first argument names, or its `store_id`."""
    policy = jobs.policy_of(job.func_name)
    model = policy.about if policy else None
    if model is not None and job.args:
        with db.session() as session:
            return session.execute(select(model.store_id).where(model.id == job.args[0])
                                   ).scalar_one_or_none()
    try:
        bound = inspect.signature(job.func).bind_partial(*job.args, **job.kwargs)
    except (TypeError, ValueError):
        return None
    store_id = bound.arguments.get("store_id")
    return store_id if isinstance(store_id, int) else None

"""One job doing the work of several: it takes more jobs of its own kind off the head of its
queue (app.mail.outbox sends a run of waiting emails on one SMTP connection, and a flow step job
runs the steps waiting behind it, without RQ's dozen Redis round trips per job).

A job is taken when LREM removes its id from the queue (a worker that popped it first leaves
nothing to remove), and its key is deleted then: a worker killed before doing the taken work
leaves nothing behind in Redis, so the database must say what is owed (the caller's sweep
queues it again). Work whose job has failed is not taken: its own job's success clears the
failure (app.jobs.failures). Nor does taken work that fails fail the job that took it: it goes
back as a job of its own, so its failure is kept, retried and shown under its own work and store.
"""
from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from rq.timeouts import BaseTimeoutException

from app import jobs
from app.jobs.failing import FAILING, key_of, work_key

log = logging.getLogger(__name__)


def take(func: Callable, rest: tuple, limit: int) -> list[tuple]:
    """Take up to `limit` jobs of `func` from the head of its queue whose arguments after the
    first are `rest`; their arguments, in queue order."""
    queue = jobs.broker.queue(jobs.policy(func).queue)
    name = jobs.path(func)
    waiting = queue.job_class.fetch_many(queue.get_job_ids(0, limit), queue.connection)
    alike = [job for job in waiting if job is not None and job.func_name == name
             and not job.kwargs and tuple(job.args[1:]) == rest]
    if not alike:
        return []
    failing = queue.connection.smismember(FAILING, [work_key(job) for job in alike])
    candidates = [job for job, failed in zip(alike, failing) if not failed]
    with queue.connection.pipeline(transaction=False) as pipeline:
        for job in candidates:
            queue.remove(job, pipeline=pipeline)
        removed = pipeline.execute()
    taken = [job for job, count in zip(candidates, removed) if count]
    if taken:
        queue.connection.delete(*(job.key for job in taken))
    return [tuple(job.args) for job in taken]


class EarlierFailed(Exception):
    """Raised by a taken job's work when the work of an earlier job failed, found only now (the
    outbox hands a message to its SMTP server and claims the next while the server answers):
    `work`, that job's first argument, and `cause`, its failure."""

    def __init__(self, cause: Exception, work: Any) -> None:
        super().__init__(type(cause).__name__)
        self.cause, self.work = cause, work


def run_taken(func: Callable, rest: tuple, limit: int, each: Callable[..., Any],
              finish: Callable[[], None] | None = None) -> None:
    """Take up to `limit` jobs as `take` does and do their work one at a time, `each(*args)`,
    then `finish()`, the end of work still under way (a send; its failures are EarlierFailed).
    Should one fail, it and those not yet done go back as jobs of their own, and this job goes
    on to succeed: the failing one fails again in its own job, under its own work and store
    (retried by its policy), not under this job's. A failure of this job's own work found late
    fails this job."""
    taken = take(func, rest, limit)
    works = [functools.partial(each, *args) for args in taken]
    if taken and finish is not None:
        works.append(finish)
    for done, work in enumerate(works):
        try:
            work()
        except BaseTimeoutException:
            # The job's time is up (RQ's alarm): the rest are not done; it and they go back.
            jobs.enqueue_many(func, taken[done:])
            raise
        except EarlierFailed as error:
            earlier = next((args for args in taken[:done] if args[0] == error.work), None)
            if earlier is None:  # this job's own
                jobs.enqueue_many(func, taken[done:])
                raise
            _put_back(func, earlier, taken[done:], error.cause)
            return
        except Exception as error:  # noqa: BLE001 - it fails again in its own job, recorded there
            if done == len(taken):  # `finish`'s own (its works' failures are EarlierFailed)
                raise
            _put_back(func, taken[done], taken[done + 1:], error)
            return


def _put_back(func: Callable, failing: tuple, rest: list[tuple], error: Exception) -> None:
    """Queue the work that failed and the rest again, each as a job of its own."""
    key = key_of(jobs.path(func), failing)
    # Marked failing before it is queued, so that no other job takes it again before it has run
    # on its own; its own job's success clears the mark.
    jobs.broker.connection.sadd(FAILING, key)
    jobs.enqueue_many(func, [failing, *rest])
    # The error's class only: its message can carry personal data.
    log.warning("taken work failed (%s); queued again as a job of its own",
                type(error).__name__, extra={"work": key})

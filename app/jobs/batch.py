"""One job doing the work of several: it takes more jobs of its own kind off the head of its
queue (app.mail.outbox sends a run of waiting emails on one SMTP connection, and a flow step job
runs the steps waiting behind it, without RQ's dozen Redis round trips per job).

A job is taken when LREM removes its id from the queue (a worker that popped it first leaves
nothing to remove), and its key is deleted then: a worker killed before doing the taken work
leaves nothing behind in Redis, so the database must say what is owed (the caller's sweep
queues it again). Work whose job has failed is not taken: its own job's success clears the
failure (app.jobs.failures).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app import jobs
from app.jobs.failing import FAILING, work_key


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


def run_taken(func: Callable, rest: tuple, limit: int, each: Callable[..., Any]) -> None:
    """Take up to `limit` jobs as `take` does and do their work one at a time, `each(*args)`.
    Should one fail, it and those after it go back as jobs of their own (retried by their
    policy), and the error goes on: the job that took them fails, for all to see."""
    taken = take(func, rest, limit)
    for done, args in enumerate(taken):
        try:
            each(*args)
        except Exception:
            jobs.enqueue_many(func, taken[done:])
            raise

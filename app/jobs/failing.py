"""Which work is failing, as a Redis set beside app.jobs.failures' rows: a success asks it with
one SREM, and a job taking more work of its kind (app.jobs.batch) leaves failing work to its own
job, whose success clears the failure."""
from __future__ import annotations

from collections.abc import Sequence

from rq.job import Job

from app import jobs

FAILING = "storeflow:failing-work"  # the keys of app.jobs.failures' rows


def work_key(job: Job) -> str:
    """What a job does, whatever its id: `app.mail.outbox.deliver:25`."""
    return key_of(job.func_name, job.args)


def key_of(name: str, args: Sequence) -> str:
    """What the job `name` with these arguments does: its function and the piece of work its
    policy names (`Policy.work`), by default its first argument."""
    policy = jobs.policy_of(name)
    if policy is not None and policy.work is not None:
        about = policy.work.format(*args)
    else:
        about = args[0] if args else ""
    return f"{name}:{about}"[:200]

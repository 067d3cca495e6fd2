"""Which work is failing, as a Redis set beside app.jobs.failures' rows: a success asks it with
one SREM, and a mail job taking more deliveries (app.jobs.batch) leaves failing work to its own
job, whose success clears the failure."""
from __future__ import annotations

from rq.job import Job

FAILING = "storeflow:failing-work"  # the keys of app.jobs.failures' rows


def work_key(job: Job) -> str:
    """What a job does, whatever its id: `app.mail.outbox.deliver:25`."""
    first = job.args[0] if job.args else ""
    return f"{job.func_name}:{first}"[:200]

"""The periodic jobs, with stable names, on RQ's own cron scheduler (`storeflow scheduler`)."""
from __future__ import annotations

from rq.cron import CronScheduler

from app.jobs import broker, prune_inbox, sweep_inbox
from app.mail.outbox import reap_stale_sending, sweep_outbox
from flows.engine import enroll_audiences, tick

# The flow tick's interval: the most a due step waits for its job to be queued.
TICK_SECONDS = 30

# (job, seconds between runs). Each is safe to run twice.
PERIODIC = [
    (tick, TICK_SECONDS),
    (enroll_audiences, 3600),
    (sweep_inbox, 60),
    (sweep_outbox, TICK_SECONDS),  # with the tick: lost mail jobs, like lost steps, wait one interval
    (reap_stale_sending, 300),
    (prune_inbox, 24 * 3600),
]


def cron_scheduler() -> CronScheduler:
    scheduler = CronScheduler(connection=broker.connection, name="storeflow")
    for job, seconds in PERIODIC:
        scheduler.register(job, "periodic", interval=seconds, name=job.__name__)
    return scheduler

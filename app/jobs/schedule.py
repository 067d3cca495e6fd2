"""The periodic jobs, with stable names, on RQ's own cron scheduler (`storeflow scheduler`)."""
from __future__ import annotations

from rq.cron import CronScheduler

from app import jobs
from app.audiences.membership import refresh_all as refresh_segments
from app.audiences.metrics import recompute_all
from app.campaigns.sending import sweep_campaigns
from app.ingest.sweep import prune_inbox, sweep_inbox
from app.jobs.heartbeat import SCHEDULER_NAME
from app.mail.outbox import reap_stale_sending, sweep_outbox
from app.sync.reconcile import TICK as RECONCILE_TICK, reconcile_stores
from flows.engine import TICK_INTERVAL, enroll_audiences, live_tick

TICK_SECONDS = int(TICK_INTERVAL.total_seconds())

# (job, seconds between runs); their queue and the rest of their policy: app.jobs.policies.
PERIODIC = [
    (live_tick, TICK_SECONDS),
    (enroll_audiences, 3600),
    (recompute_all, 24 * 3600),  # customer metrics: backfill, store medians, 30-day window
    (refresh_segments, 24 * 3600),  # who entered or left a segment as time passed
    (sweep_inbox, 60),
    (sweep_outbox, TICK_SECONDS),  # with the tick: lost mail jobs, like lost steps, wait one interval
    (sweep_campaigns, TICK_SECONDS),  # lost chunks of a campaign, likewise
    (reap_stale_sending, 300),
    (prune_inbox, 24 * 3600),
    # Heals what missed webhooks left out and repairs lost or disabled webhooks, for each store
    # as often as its connector asks.
    (reconcile_stores, int(RECONCILE_TICK.total_seconds())),
]


def cron_scheduler() -> CronScheduler:
    scheduler = CronScheduler(connection=jobs.broker.connection, name=SCHEDULER_NAME)
    for job, seconds in PERIODIC:
        options = jobs.policy(job).options(())
        scheduler.register(job, jobs.policy(job).queue, interval=seconds, name=job.__name__,
                           job_timeout=options.get("job_timeout"),
                           failure_ttl=options["failure_ttl"])
    return scheduler

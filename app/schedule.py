"""The periodic jobs, with stable names, on RQ's own cron scheduler (`storeflow scheduler`)."""
from __future__ import annotations

from rq.cron import CronScheduler

from app.audiences.metrics import recompute_all
from app.heartbeat import SCHEDULER_NAME
from app.jobs import broker, prune_inbox, sweep_inbox
from app.mail.outbox import reap_stale_sending, sweep_outbox
from app.reconcile import reconcile_woocommerce
from app.shopify_sync import reconcile_stores
from flows.engine import TICK_INTERVAL, enroll_audiences, live_tick

TICK_SECONDS = int(TICK_INTERVAL.total_seconds())

# (job, seconds between runs). Each is safe to run twice.
PERIODIC = [
    (live_tick, TICK_SECONDS),
    (enroll_audiences, 3600),
    (recompute_all, 24 * 3600),  # customer metrics: backfill, store medians, 30-day window
    (sweep_inbox, 60),
    (sweep_outbox, TICK_SECONDS),  # with the tick: lost mail jobs, like lost steps, wait one interval
    (reap_stale_sending, 300),
    (prune_inbox, 24 * 3600),
    # Heals what missed webhooks left out, and re-creates lost subscriptions (Shopify).
    (reconcile_stores, 3600),
    # WooCommerce disables failing webhooks silently; 15 minutes bounds what a store misses.
    (reconcile_woocommerce, 900),
]


def cron_scheduler() -> CronScheduler:
    scheduler = CronScheduler(connection=broker.connection, name=SCHEDULER_NAME)
    for job, seconds in PERIODIC:
        scheduler.register(job, "periodic", interval=seconds, name=job.__name__)
    return scheduler

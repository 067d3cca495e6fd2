"""Every job Storeflow runs, with its policy, in one table: which queue, how it is retried, how
long it may take, its id, and what the overview calls it. app.wiring installs it at start-up.

A job's id says what it is about (`mail-25`): the sweeps and the tick ask Redis whether that
job is still waiting before they queue it again.
"""
from __future__ import annotations

from datetime import timedelta

from rq import Retry

from app import flow_webhooks
from app.audiences import membership, metrics
from app.campaigns import sending as campaign_sending
from app.ingest import drain, sweep
from app.ingest.pipeline import ingest
from app.jobs import Policy
from app.mail import outbox
from app.models import Campaign, FlowRun, Message, WebhookEvent
from app.sync import backfill, reconcile, setup, writeback
from app.web.ui import staff
from flows import dryrun, engine

# Platform APIs: throttling and outages pass within the hour; a refusal is not retried.
API_RETRY = Retry(max=4, interval=[30, 120, 600, 1800])
SYNC = "Syncing with the store"
WRITE_BACK = "Writing back to the store"
UPKEEP = "Upkeep"
MAIL_RETRY = Retry(max=4, interval=[30, 120, 600, 1800])
CAMPAIGNS = "Sending campaigns"

POLICIES = {
    ingest: Policy("ingest", "Processing store events", id="ingest-{0}", about=WebhookEvent,
                   retry=Retry(max=5, interval=[10, 30, 60, 300, 900])),
    # A store's fresh deliveries, in batches (app.ingest.drain); its rows' own jobs above.
    drain.drain: Policy("ingest", "Processing store events",
                        retry=Retry(max=3, interval=[10, 60, 300]), result_ttl=timedelta(0)),
    engine.advance: Policy("flows", "Flow steps", id="flow-run-{0}", about=FlowRun,
                           retry=Retry(max=3, interval=[10, 60, 300]),
                           # The key goes when the step is done: a run is never queued twice.
                           result_ttl=timedelta(0), failure_ttl=timedelta(hours=1)),
    outbox.deliver: Policy("mail", "Sending email", id="mail-{0}", about=Message,
                           retry=MAIL_RETRY),
    # A campaign's mail: the same job id, so the outbox's sweep sees it waiting.
    campaign_sending.deliver: Policy("campaigns", CAMPAIGNS, id="mail-{0}", about=Message,
                                     retry=MAIL_RETRY),
    # Several of a campaign's messages, named after the first (the sweep sees them waiting);
    # its failures are kept under the first too, so another batch's success clears none of them.
    campaign_sending.deliver_several: Policy("campaigns", CAMPAIGNS, id="mail-{1[0]}",
                                             about=Campaign, work="{1[0]}", retry=MAIL_RETRY),
    # A chunk with discount codes asks Shopify for them one call at a time, in 10 slices of
    # 50 (CHUNK / code_batch): about 10 s a slice at its usual rate, a minute throttled. A job cut
    # off loses only the slice in flight's notes (the codes are asked again, "already exists").
    campaign_sending.send_chunk: Policy("campaigns", CAMPAIGNS, id="campaign-{0}-{1}-{2}",
                                        timeout=timedelta(minutes=10),
                                        retry=Retry(max=3, interval=[10, 60, 300]),
                                        result_ttl=timedelta(0), failure_ttl=timedelta(hours=1)),
    # At its due time (RQ's scheduler); the sweep picks a winner whose job was lost.
    campaign_sending.pick_winner: Policy("campaigns", CAMPAIGNS, id="campaign-winner-{0}",
                                         retry=Retry(max=3, interval=[10, 60, 300])),
    campaign_sending.start_scheduled: Policy("campaigns", CAMPAIGNS, id="campaign-start-{0}",
                                             retry=Retry(max=3, interval=[10, 60, 300])),
    # Its id names the moment too (`campaign-release-{campaign}-{unix time}`): one job each.
    campaign_sending.release: Policy("campaigns", CAMPAIGNS,
                                     retry=Retry(max=3, interval=[10, 60, 300])),
    staff.send_sign_in_links: Policy("mail", "Staff sign-in email"),
    setup.setup: Policy("sync", SYNC, id="setup-{0}", retry=API_RETRY),
    # A big store's resource takes a while; RQ's default three minutes would cut it off.
    backfill.backfill: Policy("sync", SYNC, id="backfill-{0}-{1}", retry=API_RETRY,
                              timeout=timedelta(hours=1)),
    reconcile.reconcile: Policy("sync", SYNC, id="reconcile-{0}", retry=API_RETRY),
    writeback.consent: Policy("sync", WRITE_BACK,
                              retry=Retry(max=5, interval=[30, 120, 600, 1800, 3600])),
    writeback.tag: Policy("sync", WRITE_BACK,
                          retry=Retry(max=5, interval=[30, 120, 600, 1800, 3600])),
    # A merchant's receiver: a few tries over the day, then the failed jobs' list says so.
    flow_webhooks.post: Policy("sync", "Flow webhooks",
                               retry=Retry(max=5, interval=[30, 120, 600, 1800, 3600])),
    dryrun.summarize: Policy("sync", "Dry runs", timeout=timedelta(minutes=20),
                             result_ttl=timedelta(0), failure_ttl=timedelta(hours=1)),
    # The scheduler's periodic jobs (app.jobs.schedule says how often): each is safe to run twice.
    engine.live_tick: Policy("periodic", "Flow steps"),
    engine.enroll_audiences: Policy("periodic", "Flow steps"),
    sweep.sweep_inbox: Policy("periodic", UPKEEP),
    sweep.prune_inbox: Policy("periodic", UPKEEP),
    outbox.sweep_outbox: Policy("periodic", UPKEEP),
    outbox.reap_stale_sending: Policy("periodic", UPKEEP),
    campaign_sending.sweep_campaigns: Policy("periodic", UPKEEP),
    reconcile.reconcile_stores: Policy("periodic", SYNC),
    metrics.recompute_all: Policy("periodic", "Customer metrics", timeout=timedelta(hours=1)),
    membership.refresh_all: Policy("periodic", "Segments", timeout=timedelta(hours=1)),
}

# Paths of jobs queued by the release before this one, moved since (kept for one release).
MOVED = {
    "app.shopify_sync.setup_store": "app.sync.setup.setup",
    "app.shopify_sync.backfill": "app.sync.backfill.backfill",
    "app.backfill.backfill": "app.sync.backfill.start",  # WooCommerce's took the store id only
    "app.shopify_sync.reconcile": "app.sync.reconcile.reconcile",
    "app.reconcile.reconcile": "app.sync.reconcile.reconcile",
    "app.shopify_sync.reconcile_stores": "app.sync.reconcile.reconcile_stores",
    "app.reconcile.reconcile_woocommerce": "app.sync.reconcile.reconcile_stores",
    "app.ingest.ingest": "app.ingest.pipeline.ingest",
    "app.staff.send_sign_in_links": "app.web.ui.staff.send_sign_in_links",
    "app.writeback.consent": "app.sync.writeback.consent",
    "app.writeback.tag": "app.sync.writeback.tag",
}

"""Jobs that talk to a store's Admin API: setup after install, the backfill, reconciliation.

Each job works for one store and never sleeps long: when Shopify throttles that store beyond a
short wait, the job saves its place and re-queues itself for the time Shopify advises, so the
worker goes on with other stores' jobs.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from rq import Retry
from sqlalchemy import select

from app import clock, events, notices, shopify_app, sync_progress
from app.db import db
from app.ingest import store_record
from app.jobs import broker
from app.models import Store
from app.sync_progress import BACKFILL, RECONCILE
from connectors.shopify import records, subscriptions
from connectors.shopify.admin import Throttled

log = logging.getLogger(__name__)

PLATFORM = "shopify"
RESOURCES = ("customers", "products", "orders", "checkouts")
ORDER_HISTORY = timedelta(days=60)
API_RETRY = Retry(max=4, interval=[30, 120, 600, 1800])
# Reconciliation looks back past its watermark by this much: an update stamped a moment before
# the last run may have become visible to the API only after it.
OVERLAP = timedelta(minutes=10)


def _later(job, seconds: float, *args) -> None:
    broker.queue("periodic").enqueue_in(timedelta(seconds=max(1.0, seconds)), job, *args,
                                        retry=API_RETRY)


def setup_store(store_id: int) -> None:
    """After install: subscribe to every webhook topic we read, then start the backfill."""
    client = shopify_app.admin_client(store_id)
    try:
        created = subscriptions.ensure(client, shopify_app.webhook_uri())
    except Throttled as throttled:
        _later(setup_store, throttled.retry_after, store_id)
        return
    log.info("webhook subscriptions created: %d", len(created), extra={"store_id": store_id})
    start_backfill(store_id)


def start_backfill(store_id: int) -> None:
    """Record every resource as queued and queue its job (a repeated install starts over)."""
    with db.session() as session:
        sync_progress.queue(session, store_id, BACKFILL, RESOURCES)
    for resource in RESOURCES:
        broker.queue("periodic").enqueue(backfill, store_id, resource, retry=API_RETRY)


def _filter(resource: str) -> str | None:
    if resource == "orders":
        return f"created_at:>='{(clock.now() - ORDER_HISTORY).date().isoformat()}'"
    if resource == "checkouts":
        return "status:open"
    return None


def backfill(store_id: int, resource: str) -> int:
    """Import one resource's history page by page. Stores records but publishes no event:
    history must never start a flow. Returns the rows imported by this run."""
    with db.session() as session:
        row = sync_progress.resume(session, store_id, BACKFILL, resource)
        if row is None:
            return 0
        cursor = row.cursor
    imported = 0
    with sync_progress.failures_recorded(store_id, BACKFILL, resource):
        client = shopify_app.admin_client(store_id)
        try:
            for nodes, next_cursor in client.pages(records.QUERIES[resource],
                                                    records.CONNECTIONS[resource],
                                                    {"query": _filter(resource)}, after=cursor):
                if not _save_page(store_id, resource, cursor, nodes, next_cursor):
                    return imported  # another run of this job moved on: it owns the rest
                imported, cursor = imported + len(nodes), next_cursor
        except Throttled as throttled:
            _later(backfill, throttled.retry_after, store_id, resource)
            return imported
    with db.session() as session:
        sync_progress.finish(session, store_id, BACKFILL, resource)
    log.info("backfill of %s done", resource, extra={"store_id": store_id})
    return imported


def _save_page(store_id: int, resource: str, cursor: str | None, nodes: list[dict],
               next_cursor: str | None) -> bool:
    """Store one page and move the cursor, unless another run already moved it."""
    with db.session() as session:
        if not sync_progress.claim_page(session, store_id, BACKFILL, resource, len(nodes),
                                        cursor, next_cursor):
            return False
        for node in nodes:
            for record in records.MAPPERS[resource](node):
                store_record(session, store_id, record, PLATFORM, "backfill")
    return True


def reconcile(store_id: int) -> int:
    """Ask for orders and customers updated since the watermark and store what webhooks
    missed, publishing its events as ingest would (a stale copy changes nothing and says
    nothing); then re-create any webhook subscription that went missing."""
    with db.session() as session:
        store = session.get(Store, store_id)
        if store is None or not store.installed:
            return 0
        since = (sync_progress.watermark(session, store_id)
                 or clock.now() - timedelta(days=1)) - OVERLAP
    started = clock.now()
    healed = 0
    with sync_progress.failures_recorded(store_id, RECONCILE):
        client = shopify_app.admin_client(store_id)
        try:
            for resource in ("customers", "orders"):
                query = {"query": f"updated_at:>='{since.isoformat()}'"}
                for nodes, _ in client.pages(records.QUERIES[resource],
                                             records.CONNECTIONS[resource], query):
                    healed += _heal(store_id, resource, nodes)
            restored = subscriptions.ensure(client, shopify_app.webhook_uri())
        except Throttled as throttled:
            _later(reconcile, throttled.retry_after, store_id)
            return healed
    with db.session() as session:
        if restored:
            notices.notify(session, store_id, "webhooks_repaired",
                           "Storeflow re-created webhook subscriptions missing from Shopify: "
                           f"{', '.join(restored)}", len(restored))
        sync_progress.reconciled(session, store_id, started, healed)
    log.info("reconciled: %d event(s) from missed updates", healed, extra={"store_id": store_id})
    return healed


def _heal(store_id: int, resource: str, nodes: list[dict]) -> int:
    with db.session() as session:
        emitted = [event for node in nodes for record in records.MAPPERS[resource](node)
                   for event in store_record(session, store_id, record, PLATFORM, "reconcile")]
        events.publish(session, emitted)
    return len(emitted)


def reconcile_stores() -> int:
    """The periodic entry point: one reconcile job per installed public-app Shopify store."""
    with db.session() as session:
        ids = session.execute(select(Store.id).where(
            Store.platform == PLATFORM, Store.uninstalled_at.is_(None),
            Store.refresh_token.is_not(None))).scalars().all()
    for store_id in ids:
        broker.queue("periodic").enqueue(reconcile, store_id, retry=API_RETRY)
    return len(ids)

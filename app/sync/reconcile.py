"""Reconciliation: for every store kept in sync, a periodic job repairs its webhooks (platforms
disable or lose them) and asks what changed since its watermark, putting each change in the
inbox, where the dedupe key makes anything already delivered a no-op and the rest goes the way
of every webhook: ingest, upsert, publish."""
from __future__ import annotations

import json
import logging
from datetime import timedelta

from sqlalchemy import select

import connectors
from app import jobs
from app.core import clock, notices
from app.core.db import db
from app.ingest import inbox
from app.models import Store, SyncProgress
from app.sync import access, progress
from app.sync.jobs import later, queue_ingest
from app.sync.progress import ALL, RECONCILE
from app.sync.setup import subscribe
from connectors.sync import Change, StoreAccess, TryLater

log = logging.getLogger(__name__)
# How often the scheduler runs reconcile_stores; each connector says how often a store is due.
TICK = timedelta(minutes=15)
# Looks back past the watermark by this much: an update stamped a moment before the last run
# may have become visible to the API only after it (and clocks differ). Dedupe makes it free.
OVERLAP = timedelta(minutes=10)
# A store that never ran setup has no watermark: look back this far.
FIRST_LOOKBACK = timedelta(days=1)


def reconcile_stores() -> int:
    """The periodic entry point: one reconcile job per store kept in sync that is due."""
    now = clock.now()
    with db.session() as session:
        installed = session.execute(select(Store).where(
            Store.installed_at.is_not(None), Store.uninstalled_at.is_(None))).scalars().all()
        watermarks = dict(session.execute(select(SyncProgress.store_id, SyncProgress.watermark)
                                          .where(SyncProgress.job == RECONCILE,
                                                 SyncProgress.resource == ALL)).all())
        due = [store.id for store in installed
               if _due(store, watermarks.get(store.id), now)]
    for store_id in due:
        jobs.enqueue(reconcile, store_id)
    return len(due)


def _due(store: Store, watermark, now) -> bool:
    """Kept in sync, and its connector's interval ends before the next tick."""
    connector = connectors.get(store.platform)
    return (connector is not None and connector.keeps_in_sync(access.of(store))
            and (watermark is None or now - watermark >= connector.reconcile_every - TICK))


def reconcile(store_id: int) -> dict:
    """Repair the store's webhooks, then put what changed since the watermark in the inbox."""
    with db.session() as session:
        store = session.get(Store, store_id)
        if store is None or not store.installed:
            return {}
        since = progress.watermark(session, store_id)
    started = clock.now()
    with progress.failures_recorded(store_id, RECONCILE):
        store = access.fresh(store_id)
        connector = connectors.get(store.platform)
        try:
            repairs = subscribe(store)
            changes = list(connector.changes_since(store, (since or started - FIRST_LOOKBACK)
                                                   - OVERLAP))
        except TryLater as wait:
            later(reconcile, wait.retry_after, store_id)
            return {}
    counts = _deliver(store, connector.backfill_resources, changes)
    with db.session() as session:
        if repairs:
            notices.notify(session, store_id, "webhooks_repaired",
                           "Storeflow restored webhooks the store had disabled or lost: "
                           f"{', '.join(repairs)}", len(repairs))
        progress.reconciled(session, store_id, started, sum(counts.values()))
    log.info("reconciled: %d change(s) webhooks missed", sum(counts.values()),
             extra={"store_id": store_id})
    return {"repaired": len(repairs), **counts}


def _deliver(store: StoreAccess, resources: tuple[str, ...], changes: list[Change]) -> dict:
    """Put the changes in the inbox and queue the new ones; how many were new, per resource."""
    counts, fresh = dict.fromkeys(resources, 0), []
    with db.session() as session:
        for change in changes:
            event_id = inbox.accept(session, store.store_id, store.platform, change.topic,
                                    change.key, json.dumps(change.payload).encode())
            if event_id is not None:
                fresh.append(event_id)
                counts[change.resource] = counts.get(change.resource, 0) + 1
    queue_ingest(fresh, store.store_id)
    return counts

"""The backfill: a newly installed store's history, resource by resource and page by page, into
the inbox. Ingest stores history without publishing a single event: nobody should get an
abandoned-cart email about last year.

Each resource is its own job that resumes after the last page it stored, and never sleeps long:
when the platform throttles the store, the job re-queues itself for the time it advises, so the
worker goes on with other stores' jobs.
"""
from __future__ import annotations

import logging

import connectors
from app import jobs
from app.core import clock
from app.core.db import db
from app.ingest import inbox
from app.models import Store
from app.sync import access, progress
from app.sync.jobs import later, queue_ingest
from app.sync.progress import BACKFILL
from connectors.sync import Page, StoreAccess, TryLater

log = logging.getLogger(__name__)


def start(store_id: int) -> None:
    """Record every resource as queued and queue its job (a repeated install starts over)."""
    with db.session() as session:
        platform = session.get(Store, store_id).platform
        resources = connectors.get(platform).backfill_resources
        progress.queue(session, store_id, BACKFILL, resources)
    for resource in resources:
        jobs.enqueue(backfill, store_id, resource)


def backfill(store_id: int, resource: str) -> int:
    """Put one resource's history in the inbox, page by page; the objects it queued."""
    with db.session() as session:
        row = progress.resume(session, store_id, BACKFILL, resource)
        if row is None:
            return 0
        cursor = row.cursor
    queued = 0
    with progress.failures_recorded(store_id, BACKFILL, resource):
        store = access.fresh(store_id)
        try:
            for page in connectors.get(store.platform).backfill_pages(store, resource, cursor,
                                                                       clock.now()):
                if not _save_page(store, resource, cursor, page):
                    return queued  # another run of this job moved on: it owns the rest
                queued, cursor = queued + len(page.items), page.next_cursor
        except TryLater as wait:
            later(backfill, wait.retry_after, store_id, resource)
            return queued
    with db.session() as session:
        progress.finish(session, store_id, BACKFILL, resource)
    log.info("backfill of %s done", resource, extra={"store_id": store_id})
    return queued


def _save_page(store: StoreAccess, resource: str, cursor: str | None, page: Page) -> bool:
    """Store one page in the inbox and move the cursor, unless another run already moved it."""
    with db.session() as session:
        if not progress.claim_page(session, store.store_id, BACKFILL, resource, len(page.items),
                                   cursor, page.next_cursor):
            return False
        event_id = inbox.accept_history(session, store.store_id, store.platform, page.topic,
                                        page.items) if page.items else None
    queue_ingest([event_id] if event_id is not None else [], store.store_id)
    return True

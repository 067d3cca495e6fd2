"""Backfill on connect: a WooCommerce store's customers, products and recent orders, stored
without firing a single flow (nobody should get an abandoned-cart email about last year)."""
from __future__ import annotations

import logging
from datetime import timedelta

from app import clock, ingest, sync_progress, woocommerce
from app.db import db
from app.sync_progress import BACKFILL
from connectors.base import PayloadError, Record
from connectors.woocommerce import normalize
from connectors.woocommerce.client import WooClient

log = logging.getLogger(__name__)
RECENT_ORDERS = timedelta(days=90)
# Each REST collection and the normalizer of its objects.
RESOURCES = (("customers", normalize.customer), ("products", normalize.product),
             ("orders", normalize.order))


def backfill(store_id: int) -> dict:
    """Page through the store's REST API, storing every object; progress is kept per resource.
    Every run starts over: the REST API pages by number, and new objects shift the pages."""
    with db.session() as session:
        store = woocommerce.installed_store(session, store_id)
        if store is None:
            return {}
        client = WooClient.for_store(store)
        sync_progress.queue(session, store_id, BACKFILL, [name for name, _ in RESOURCES])
    since = (clock.now() - RECENT_ORDERS).strftime("%Y-%m-%dT%H:%M:%S")
    params = {"orders": {"after": since, "dates_are_gmt": "true"}}
    progress: dict[str, int] = {}
    for resource, parse in RESOURCES:
        with sync_progress.failures_recorded(store_id, BACKFILL, resource):
            _import(client, store_id, resource, parse, params.get(resource), progress)
    log.info("backfill done: %s", progress, extra={"store_id": store_id})
    return progress


def _import(client: WooClient, store_id: int, resource: str, parse, params: dict | None,
            progress: dict) -> None:
    with db.session() as session:
        sync_progress.resume(session, store_id, BACKFILL, resource)
    for page in client.pages(resource, params):
        _store_page(store_id, resource, parse, page, progress)
    with db.session() as session:
        sync_progress.finish(session, store_id, BACKFILL, resource)


def _store_page(store_id: int, resource: str, parse, page: list, progress: dict) -> None:
    records: list[Record] = []
    for item in page:
        try:
            records.append(parse(item))
        except (PayloadError, AttributeError, TypeError):
            progress["skipped"] = progress.get("skipped", 0) + 1
    with db.session() as session:
        # Without a cursor (pages go by number) the claim always holds.
        sync_progress.claim_page(session, store_id, BACKFILL, resource, len(records))
        # The domain events are dropped on purpose: flows only start from live news.
        ingest.store_records(session, store_id, records, "woocommerce", BACKFILL)
        progress[resource] = progress.get(resource, 0) + len(records)

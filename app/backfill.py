"""Backfill on connect: a WooCommerce store's customers, products and recent orders, stored
without firing a single flow (nobody should get an abandoned-cart email about last year)."""
from __future__ import annotations

import logging
from datetime import timedelta

from app import clock, ingest, sync, woocommerce
from app.db import db
from connectors.base import PayloadError, Record
from connectors.woocommerce import normalize
from connectors.woocommerce.client import WooClient

log = logging.getLogger(__name__)
NAME = "backfill"
RECENT_ORDERS = timedelta(days=90)
# Each REST collection and the normalizer of its objects.
RESOURCES = (("customers", normalize.customer), ("products", normalize.product),
             ("orders", normalize.order))


def backfill(store_id: int) -> dict:
    """Page through the store's REST API, storing every object; progress is kept per resource."""
    with db.session() as session:
        store = woocommerce.installed_store(session, store_id)
        if store is None:
            return {}
        client = WooClient.for_store(store)
        job = sync.state(session, store_id, NAME)
        job.status, job.progress, job.error = "running", {}, None
    since = (clock.now() - RECENT_ORDERS).strftime("%Y-%m-%dT%H:%M:%S")
    params = {"orders": {"after": since, "dates_are_gmt": "true"}}
    progress: dict[str, int] = {}
    try:
        for resource, parse in RESOURCES:
            for page in client.pages(resource, params.get(resource)):
                _store_page(store_id, resource, parse, page, progress)
    except Exception as error:
        _finish(store_id, "failed", progress, type(error).__name__)
        raise  # RQ keeps the failed job; the error's class is on the sync row
    _finish(store_id, "done", progress)
    log.info("backfill done: %s", progress, extra={"store_id": store_id})
    return progress


def _store_page(store_id: int, resource: str, parse, page: list, progress: dict) -> None:
    records: list[Record] = []
    for item in page:
        try:
            records.append(parse(item))
        except (PayloadError, AttributeError, TypeError):
            progress["skipped"] = progress.get("skipped", 0) + 1
    with db.session() as session:
        # The domain events are dropped on purpose: flows only start from live news.
        ingest.store_records(session, store_id, records, "woocommerce", NAME)
        progress[resource] = progress.get(resource, 0) + len(records)
        sync.state(session, store_id, NAME).progress = dict(progress)


def _finish(store_id: int, status: str, progress: dict, error: str | None = None) -> None:
    with db.session() as session:
        job = sync.state(session, store_id, NAME)
        job.status, job.progress, job.error = status, dict(progress), error

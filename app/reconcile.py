"""Keeping WooCommerce stores in sync when webhooks are not enough: WooCommerce disables a
webhook after five failed deliveries and never retries one, so a periodic job re-activates
our webhooks and polls what changed since its watermark into the inbox, where the same dedupe
keys as webhooks make anything already delivered a no-op."""
from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta

from redis.exceptions import RedisError
from sqlalchemy import select

from app import clock, inbox, notices, sync_progress, woocommerce
from app.db import db
from app.jobs import broker, enqueue_ingest
from app.models import Store
from app.sync_progress import RECONCILE
from connectors.base import Delivery, PayloadError
from connectors.woocommerce.client import WooClient
from connectors.woocommerce.normalize import gmt
from connectors.woocommerce.subscriptions import ensure_webhooks
from connectors.woocommerce.webhooks import dedupe_key

log = logging.getLogger(__name__)
# Polls overlap by this much, for clock skew between us and the store; dedupe makes it free.
OVERLAP = timedelta(minutes=10)


def reconcile_woocommerce() -> int:
    """Queue one reconcile job per installed WooCommerce store (the periodic entry point)."""
    with db.session() as session:
        ids = session.execute(select(Store.id).where(
            Store.platform == woocommerce.PLATFORM, Store.installed_at.is_not(None),
            Store.uninstalled_at.is_(None))).scalars().all()
    for store_id in ids:
        broker.queue("sync").enqueue(reconcile, store_id, job_id=f"reconcile-{store_id}")
    return len(ids)


def reconcile(store_id: int) -> dict:
    """Repair the store's webhooks, then heal what they missed since the watermark."""
    with db.session() as session:
        store = woocommerce.installed_store(session, store_id)
        if store is None:
            return {}
        client, secret = WooClient.for_store(store), store.webhook_secret
        watermark = sync_progress.watermark(session, store_id)
    started = clock.now()
    with sync_progress.failures_recorded(store_id, RECONCILE):
        repairs = ensure_webhooks(client, woocommerce.webhook_url(store_id), secret)
        polled = _poll(client, store_id, watermark - OVERLAP) if watermark else {}
    with db.session() as session:
        if repairs:
            topics = ", ".join(f"{r.topic} ({r.action})" for r in repairs)
            notices.notify(session, store_id, "webhooks_repaired",
                           f"Storeflow restored webhooks WooCommerce had disabled or lost: "
                           f"{topics}", len(repairs))
        # The first run only sets the watermark: the backfill covers what came before.
        sync_progress.reconciled(session, store_id, started, sum(polled.values()))
    return {"repaired": len(repairs), **polled}


def _poll(client: WooClient, store_id: int, since: datetime) -> dict:
    after = since.strftime("%Y-%m-%dT%H:%M:%S")
    found = {
        "order.updated": _collect(client.pages("orders", {
            "modified_after": after, "dates_are_gmt": "true", "orderby": "modified"})),
        "product.updated": _collect(client.pages("products", {
            "modified_after": after, "dates_are_gmt": "true"})),
        # The customers endpoint cannot filter by modification: newest registrations only.
        "customer.updated": _collect(client.pages("customers", {
            "orderby": "registered_date", "order": "desc"}), since),
    }
    return {topic.split(".")[0] + "s": _deliver(store_id, topic, items)
            for topic, items in found.items()}


def _collect(pages, registered_since: datetime | None = None) -> list[dict]:
    items = []
    for page in pages:
        for item in page:
            if not isinstance(item, dict):
                continue
            if registered_since is not None:
                try:
                    created = gmt(item, "date_created_gmt")
                except PayloadError:
                    continue
                if created is None or created < registered_since:
                    return items  # newest first: the rest are older still
            items.append(item)
    return items


def _deliver(store_id: int, topic: str, items: list[dict]) -> int:
    """Put polled objects in the inbox as deliveries of `topic`; queue the new ones."""
    delivery = Delivery(shop="", topic=topic, key="", signature="")
    with db.session() as session:
        ids = []
        for item in items:
            try:
                key = dedupe_key(delivery, item)
            except PayloadError:
                continue
            ids.append(inbox.accept(session, store_id, woocommerce.PLATFORM, topic, key,
                                    json.dumps(item).encode()))
    fresh = [event_id for event_id in ids if event_id is not None]
    try:
        for event_id in fresh:
            enqueue_ingest(event_id)
    except RedisError:
        log.warning("reconcile stored deliveries; the sweeper will queue them",
                    extra={"store_id": store_id})
    return len(fresh)

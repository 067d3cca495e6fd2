"""Connecting a WooCommerce store: its row with encrypted keys, then its webhooks and backfill
queued as jobs (never run inside a request: WooCommerce pings each new webhook and waits)."""
from __future__ import annotations

import logging
import secrets

from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import stores
from app.jobs import broker
from app.mail.links import signer as links
from app.models import Store

log = logging.getLogger(__name__)
PLATFORM = "woocommerce"


def connect(session: Session, url: str, *, consumer_key: str, consumer_secret: str,
            webhook_secret: str | None = None) -> tuple[Store, bool]:
    """Create or update the store at a validated URL. A reconnect keeps its webhook secret
    unless a new one is given: the companion plugin signs with it."""
    existing = stores.find_by_domain(session, PLATFORM, url)
    secret = webhook_secret or (existing.webhook_secret if existing else None) \
        or secrets.token_urlsafe(32)
    return stores.connect(session, PLATFORM, url, access_token=consumer_secret,
                          api_key=consumer_key, webhook_secret=secret)


def installed_store(session: Session, store_id: int) -> Store | None:
    """An installed WooCommerce store by id; None once it is gone or uninstalled."""
    store = session.execute(select(Store).where(
        Store.id == store_id, Store.platform == PLATFORM)).scalar_one_or_none()
    return store if store is not None and store.installed else None


def webhook_url(store_id: int) -> str:
    """Where a store's webhooks deliver: the store's id names it, the signature proves it."""
    return f"{links.base_url}/webhooks/woocommerce/{store_id}"


def queue_setup(store_id: int) -> bool:
    """Queue the webhook check and the backfill for a newly connected store (after commit).
    False when Redis is down: the periodic reconcile creates the webhooks later."""
    from app.backfill import backfill
    from app.reconcile import reconcile

    try:
        queue = broker.queue("sync")
        queue.enqueue(reconcile, store_id, job_id=f"reconcile-{store_id}")
        queue.enqueue(backfill, store_id, job_id=f"backfill-{store_id}", job_timeout=3600)
    except RedisError as error:
        log.warning("store connected, sync not queued (%s)", type(error).__name__,
                    extra={"store_id": store_id})
        return False
    return True

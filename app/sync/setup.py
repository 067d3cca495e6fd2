"""After install: the store's webhooks, reconciliation's starting point, then the backfill, in
a job on the sync queue (never inside a request: WooCommerce pings each new webhook and waits
for the answer)."""
from __future__ import annotations

import logging

from redis.exceptions import RedisError

import connectors
from app import jobs
from app.core import clock
from app.core.db import db
from app.mail.links import signer as links
from app.sync import access, backfill, progress
from app.sync.jobs import later
from app.sync.progress import RECONCILE
from connectors.base import Connector
from connectors.sync import StoreAccess, TryLater

log = logging.getLogger(__name__)


def webhook_url(connector: Connector, store_id: int) -> str:
    """Where the store's webhooks deliver to this Storeflow."""
    return connector.webhook_url(links.base_url, store_id)


def subscribe(store: StoreAccess) -> list[str]:
    """The store's webhooks created or repaired; what had to be done."""
    connector = connectors.get(store.platform)
    return connector.subscribe(store, webhook_url(connector, store.store_id))


def queue_setup(store_id: int) -> bool:
    """Queue the setup of a newly connected store (after commit). False when Redis is down:
    the periodic reconciliation creates the webhooks later."""
    try:
        jobs.enqueue(setup, store_id)
    except RedisError as error:
        log.warning("store connected, sync not queued (%s)", type(error).__name__,
                    extra={"store_id": store_id})
        return False
    return True


def setup(store_id: int) -> None:
    """Subscribe to every webhook topic we read and start the backfill. Reconciliation starts
    from here: what came before is the backfill's."""
    started = clock.now()
    with progress.failures_recorded(store_id, RECONCILE):
        try:
            created = subscribe(access.fresh(store_id))
        except TryLater as wait:
            later(setup, wait.retry_after, store_id)
            return
    log.info("webhook subscriptions created: %d", len(created), extra={"store_id": store_id})
    with db.session() as session:
        if progress.watermark(session, store_id) is None:
            progress.reconciled(session, store_id, started, 0)
    backfill.start(store_id)

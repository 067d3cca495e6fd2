"""Helpers for tests: published payloads, and deliveries signed the way Shopify signs them."""
from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

from app.demo import published as demo_samples
from connectors.signing import sign

FIXTURES = Path(__file__).parent / "fixtures"
SHOP = "storeflow-test.myshopify.com"
SHOP_SECRET = "shpss_test_webhook_secret"
# The public app's client id and secret (a public app's webhooks are signed with the secret).
API_KEY = "storeflow-test-api-key"
API_SECRET = "shpss_0123456789abcdef0123456789abcdef"  # the length Shopify issues
WOO_SECRET = "wc_test_webhook_secret"


# How Shopify's samples name their shop; a delivery names the shop it is for.
SHOP_PLACEHOLDER = "{shop}.myshopify.com"


def published(name: str, shop: str = SHOP) -> dict:
    """A payload Shopify or WooCommerce publishes (see fixtures/SOURCES.md), its placeholder
    shop filled in with `shop`; the samples the demo uses ship with the package."""
    if demo_samples.exists(name):
        return demo_samples.published(name)
    return json.loads((FIXTURES / name).read_text().replace(SHOP_PLACEHOLDER, shop))


class Webhooks:
    """Delivers bodies to /webhooks/shopify with the headers Shopify documents."""

    def __init__(self, client):
        self.client = client

    def deliver(self, topic: str, payload, *, event_id: str | None = None,
                secret: str = SHOP_SECRET, shop: str = SHOP, signature: str | None = None):
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        headers = {
            "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": signature if signature is not None else sign(secret, body),
            "X-Shopify-Shop-Domain": shop,
            "X-Shopify-API-Version": "2026-07",
            "X-Shopify-Webhook-Id": event_id or str(uuid.uuid4()),
            "X-Shopify-Triggered-At": "2026-11-22T10:00:00Z",
        }
        return self.client.post("/webhooks/shopify", data=body, headers=headers,
                                content_type="application/json")


class WooWebhooks:
    """Delivers bodies to /webhooks/woocommerce/<store_id> with the headers WooCommerce sends
    (WC_Webhook::deliver: X-WC-Webhook-Source, -Topic, -Resource, -Event, -Signature, -ID,
    -Delivery-ID)."""

    def __init__(self, client):
        self.client = client

    def deliver(self, store_id: int, topic: str, payload, *, secret: str = WOO_SECRET,
                signature: str | None = None, delivery_id: str | None = None):
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        resource, _, event = topic.partition(".")
        headers = {
            "X-WC-Webhook-Source": "https://shop.example.com/",
            "X-WC-Webhook-Topic": topic, "X-WC-Webhook-Resource": resource,
            "X-WC-Webhook-Event": event,
            "X-WC-Webhook-Signature": signature if signature is not None else sign(secret, body),
            "X-WC-Webhook-ID": "142",
            "X-WC-Webhook-Delivery-ID": delivery_id or uuid.uuid4().hex,
        }
        return self.client.post(f"/webhooks/woocommerce/{store_id}", data=body, headers=headers,
                                content_type="application/json")


def progress_of(store_id: int, job: str) -> dict[str, tuple[str, int]]:
    """(status, count) per resource of one of a store's sync jobs, as `sync_progress` holds it."""
    from sqlalchemy import select

    from app.core.db import db
    from app.models import SyncProgress

    with db.session() as session:
        return {row.resource: (row.status, row.count) for row in session.execute(
            select(SyncProgress).where(SyncProgress.store_id == store_id,
                                       SyncProgress.job == job)).scalars()}


def wipe() -> None:
    """Empty every table and the test Redis: the state every test starts from."""
    from sqlalchemy import text

    from app.core import signing_secrets
    from app.core.db import Base, db
    from app.jobs import broker
    from flows import library

    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with db.engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    broker.connection.flushdb()
    library.forget()
    signing_secrets.forget()


def work(*queues: str, max_jobs: int | None = None, logging_level: str = "INFO") -> None:
    """Run queued jobs (every queue by default) in this process until none are left."""
    from app.jobs import QUEUES, broker
    from app.jobs.worker import Worker

    class BurstWorker(Worker):
        # No listener for remote commands (`rq suspend`...): a burst in a test needs none, and
        # stopping it costs RQ up to a second per burst.
        def subscribe(self) -> None:
            pass

    BurstWorker([broker.queue(name) for name in queues or QUEUES],
                connection=broker.connection).work(burst=True, max_jobs=max_jobs,
                                                   logging_level=logging_level)


def take_lead(queue: str) -> tuple:
    """Pop the first job off the queue as a worker does; its arguments (for a batching job
    called in the test, which then takes the jobs behind it)."""
    from app.jobs import broker

    waiting = broker.queue(queue)
    job = waiting.fetch_job(waiting.job_ids[0])
    waiting.remove(job)
    return job.args


def waiting_for_a_lock() -> int:
    """How many database sessions are waiting for a lock another one holds."""
    from sqlalchemy import text

    from app.core.db import db

    with db.engine.connect() as connection:
        return connection.execute(text(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE wait_event_type = 'Lock' AND datname = current_database()")).scalar_one()


def wait_for(condition, timeout: float = 10.0) -> None:
    """Poll until `condition()` holds: for states no event can signal, such as another session
    waiting inside PostgreSQL for a lock."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.01)

"""Helpers for tests: published payloads, and deliveries signed the way Shopify signs them."""
from __future__ import annotations

import json
import uuid
from pathlib import Path

from connectors.shopify.webhooks import sign

FIXTURES = Path(__file__).parent / "fixtures"
SHOP = "storeflow-test.myshopify.com"
SHOP_SECRET = "shpss_test_webhook_secret"


def published(name: str) -> dict:
    """A payload Shopify or WooCommerce publishes (see fixtures/SOURCES.md)."""
    return json.loads((FIXTURES / name).read_text())


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


def wipe() -> None:
    """Empty every table and the test Redis: the state every test starts from."""
    from sqlalchemy import text

    from app.db import Base, db
    from app.jobs import broker

    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with db.engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    broker.connection.flushdb()


def work(*queues: str, max_jobs: int | None = None, logging_level: str = "INFO") -> None:
    """Run queued jobs (every queue by default) in this process until none are left."""
    from rq import SimpleWorker

    from app.jobs import QUEUES, broker

    class BurstWorker(SimpleWorker):
        # No listener for remote commands (`rq suspend`...): a burst in a test needs none, and
        # stopping it costs RQ up to a second per burst.
        def subscribe(self) -> None:
            pass

    BurstWorker([broker.queue(name) for name in queues or QUEUES],
                connection=broker.connection).work(burst=True, max_jobs=max_jobs,
                                                   logging_level=logging_level)

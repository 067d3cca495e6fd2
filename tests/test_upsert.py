"""Deliveries of one record processed at the same moment take turns on its row (app/upsert.py),
so each compares itself with what the one before it wrote."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy
from sqlalchemy import func, select

from app import upsert
from app.db import db
from app.ingest import ingest
from app.models import Order, WebhookEvent
from tests.helpers import published, wait_for, waiting_for_a_lock


def order(updated_at: str, financial_status: str) -> dict:
    """The published order body, as the version of that moment."""
    payload = published("shopify/orders_updated.json")
    payload.update(updated_at=updated_at, financial_status=financial_status, cancelled_at=None,
                   cancel_reason=None)
    return payload


def stored_in_inbox(webhooks, topic: str, payload: dict) -> int:
    """Deliver a webhook and return its inbox row, not yet processed."""
    assert webhooks.deliver(topic, payload).json["status"] == "accepted"
    with db.session() as session:
        return session.execute(select(func.max(WebhookEvent.id))).scalar_one()


def test_a_stale_update_processed_alongside_the_payment_leaves_the_order_paid(
        shop, webhooks, run_jobs, monkeypatch):
    webhooks.deliver("orders/create", order("2022-01-01T10:00:00Z", "pending"))
    run_jobs()
    paid = stored_in_inbox(webhooks, "orders/paid", order("2022-01-01T11:00:00Z", "paid"))
    stale = stored_in_inbox(webhooks, "orders/updated", order("2022-01-01T10:30:00Z", "pending"))

    # Two workers take both at once, each held just before it writes the order: the payment
    # until the stale one has read the row too, or is waiting for its lock; the stale one until
    # the payment is committed, so that without the lock it would write last.
    job = threading.local()
    paid_held, stale_held, paid_done = threading.Event(), threading.Event(), threading.Event()

    def held_update(table):
        if job.name == "paid":
            paid_held.set()
            wait_for(lambda: stale_held.is_set() or waiting_for_a_lock() > 0)
        else:
            stale_held.set()
            assert paid_done.wait(10)
        return sqlalchemy.update(table)
    monkeypatch.setattr(upsert, "update", held_update)

    def work(name: str, event_id: int) -> None:
        job.name = name
        try:
            ingest(event_id)
        finally:
            if name == "paid":
                paid_done.set()

    with ThreadPoolExecutor(2) as pool:
        paying = pool.submit(work, "paid", paid)
        assert paid_held.wait(10)
        pool.submit(work, "stale", stale).result()
        paying.result()

    with db.session() as session:
        stored = session.execute(select(Order)).scalar_one()
    assert (stored.financial_status, stored.source_updated_at.isoformat()) == (
        "paid", "2022-01-01T11:00:00+00:00")

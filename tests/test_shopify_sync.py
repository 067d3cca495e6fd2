"""Backfill and reconciliation against the stub: history is stored but starts no flow, a
throttled store re-queues its own job, and reconciliation heals what webhooks missed."""
from __future__ import annotations

from rq.registry import ScheduledJobRegistry
from sqlalchemy import select

from app import events, shopify_sync
from app.db import db
from app.jobs import broker
from app.models import Backfill, Checkout, Customer, Order, Product, Store
from connectors.shopify import subscriptions
from tests.flow_helpers import (CHECKOUT_CUSTOMER, HOUR, MINUTE, SAMPLE_TIME, at, consent_update,
                                enable, messages, move_to, runs)
from tests.helpers import API_SECRET, SHOP


def progress(store_id: int) -> dict[str, tuple[str, int]]:
    with db.session() as session:
        return {b.resource: (b.status, b.imported) for b in session.execute(
            select(Backfill).where(Backfill.store_id == store_id)).scalars()}


def test_backfilled_history_is_stored_but_enrolls_nobody(installed_shop, shopify, run_jobs,
                                                          webhooks, emitted, smtp_sink):
    enable(installed_shop.id, "abandoned_checkout")
    # A consenting shopper, and their checkout backfilled minutes after they left: fresh
    # enough that only "a backfill publishes no event" keeps the flow from emailing them.
    with at(SAMPLE_TIME + 5 * MINUTE):
        webhooks.deliver("customers_email_marketing_consent/update",
                         consent_update(CHECKOUT_CUSTOMER, "john@example.com"), secret=API_SECRET)
        run_jobs()
        emitted.clear()
        shopify_sync.start_backfill(installed_shop.id)
        run_jobs()
    move_to(SAMPLE_TIME + 100 * HOUR, run_jobs)

    assert progress(installed_shop.id) == {r: ("done", 1) for r in shopify_sync.RESOURCES}
    with db.session() as session:
        checkout = session.execute(select(Checkout)).scalar_one()
        assert (checkout.token, checkout.completed_at) == ("123123123", None)
        customer = session.get(Customer, checkout.customer_id)
        assert customer.email_consent == "subscribed"
        assert session.execute(select(Order.platform_id)).scalar() == 820982911946154508
        assert session.execute(select(Product.in_stock)).scalar() is True
    assert runs() == [] and messages() == [] and smtp_sink.received == []
    assert emitted == []


def test_a_throttled_store_requeues_its_job_and_other_stores_carry_on(installed_shop, shopify,
                                                                       run_jobs):
    other = "other-shop.myshopify.com"
    with db.session() as session:
        from app import stores
        other_store, _ = stores.connect(session, "shopify", other,
                                        access_token=shopify.issue_token(other), webhook_secret=None)
    shopify.throttle[SHOP] = 1000
    shopify_sync.start_backfill(installed_shop.id)
    shopify_sync.start_backfill(other_store.id)
    run_jobs()

    assert progress(other_store.id) == {r: ("done", 1) for r in shopify_sync.RESOURCES}
    assert {status for status, _ in progress(installed_shop.id).values()} == {"running"}
    scheduled = ScheduledJobRegistry(queue=broker.queue("periodic"))
    assert len(scheduled.get_job_ids()) == len(shopify_sync.RESOURCES)

    shopify.throttle[SHOP] = 0
    for job_id in scheduled.get_job_ids():  # their time has come
        broker.queue("periodic").enqueue_job(broker.queue("periodic").fetch_job(job_id))
    run_jobs()
    assert progress(installed_shop.id) == {r: ("done", 1) for r in shopify_sync.RESOURCES}


def test_reconciliation_heals_a_missed_order_and_lost_subscriptions(installed_shop, shopify,
                                                                     run_jobs, emitted):
    with db.session() as session:
        session.get(Store, installed_shop.id).refresh_token = "shprt_unused"
    assert shopify_sync.reconcile_stores() == 1
    run_jobs()

    assert events.ORDER_PLACED in [e.name for e in emitted]
    with db.session() as session:
        assert session.execute(select(Order.platform_id)).scalar() == 820982911946154508
        assert session.get(Store, installed_shop.id).reconciled_until is not None
    assert len(shopify.subscriptions[SHOP]) == len(subscriptions.TOPICS)

    emitted.clear()
    shopify_sync.reconcile(installed_shop.id)
    # What it already holds is old news: the order is not placed twice.
    assert events.ORDER_PLACED not in [e.name for e in emitted]
    assert len(shopify.subscriptions[SHOP]) == len(subscriptions.TOPICS)

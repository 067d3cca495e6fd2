"""Backfill and reconciliation against the stub: history is stored but starts no flow, a
throttled store re-queues its own job, and reconciliation heals what webhooks missed."""
from __future__ import annotations

import pytest
from rq.registry import ScheduledJobRegistry
from sqlalchemy import func, select

from app.core import events
from app.core.db import db
from app.jobs import broker
from app.models import Checkout, Customer, Order, Product, Store, StoreNotice, SyncProgress
from app.sync import progress as sync_progress
from app.sync.backfill import backfill, start as start_backfill
from app.sync.reconcile import reconcile, reconcile_stores
from connectors.shopify import ShopifyConnector, subscriptions
from connectors.shopify.admin import Unauthorized
from tests.flow_helpers import (CHECKOUT_CUSTOMER, HOUR, MINUTE, SAMPLE_TIME, at, consent_update,
                                enable, messages, move_to, runs)
from tests.helpers import API_SECRET, SHOP, progress_of

EVERY_PAGE_IMPORTED = {resource: ("done", 1) for resource in ShopifyConnector.backfill_resources}


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
        start_backfill(installed_shop.id)
        run_jobs()
    move_to(SAMPLE_TIME + 100 * HOUR, run_jobs)

    assert progress_of(installed_shop.id, "backfill") == EVERY_PAGE_IMPORTED
    with db.session() as session:
        checkout = session.execute(select(Checkout)).scalar_one()
        assert (checkout.token, checkout.completed_at) == ("123123123", None)
        customer = session.get(Customer, checkout.customer_id)
        assert customer.email_consent == "subscribed"
        assert session.execute(select(Order.platform_id)).scalar() == 820982911946154508
        assert session.execute(select(Product.in_stock, Product.product_type, Product.vendor)
                               ).one() == (True, "Shirts", "Acme")
    assert runs() == [] and messages() == [] and smtp_sink.received == []
    assert emitted == []


def test_a_throttled_store_requeues_its_job_and_other_stores_carry_on(installed_shop, shopify,
                                                                       run_jobs):
    other = "other-shop.myshopify.com"
    with db.session() as session:
        from app.core import stores
        other_store, _ = stores.connect(session, "shopify", other,
                                        access_token=shopify.issue_token(other), webhook_secret=None)
    shopify.throttle[SHOP] = 1000
    start_backfill(installed_shop.id)
    start_backfill(other_store.id)
    run_jobs()

    assert progress_of(other_store.id, "backfill") == EVERY_PAGE_IMPORTED
    statuses = {status for status, _ in progress_of(installed_shop.id, "backfill").values()}
    assert statuses == {"running"}
    scheduled = ScheduledJobRegistry(queue=broker.queue("sync"))
    assert len(scheduled.get_job_ids()) == len(ShopifyConnector.backfill_resources)

    shopify.throttle[SHOP] = 0
    for job_id in scheduled.get_job_ids():  # their time has come
        broker.queue("sync").enqueue_job(broker.queue("sync").fetch_job(job_id))
    run_jobs()
    assert progress_of(installed_shop.id, "backfill") == EVERY_PAGE_IMPORTED


def test_a_refused_token_fails_the_resource_with_its_reason_and_a_retry_finishes_it(
        installed_shop, shopify):
    with db.session() as session:
        sync_progress.queue(session, installed_shop.id, "backfill", ["orders"])
    token = next(t for t, shop in shopify.tokens.items() if shop == SHOP)
    del shopify.tokens[token]

    with pytest.raises(Unauthorized):
        backfill(installed_shop.id, "orders")
    with db.session() as session:
        row = session.execute(select(SyncProgress).where(
            SyncProgress.store_id == installed_shop.id)).scalar_one()
    assert (row.status, row.count, row.error) == ("failed", 0, "Unauthorized")

    shopify.tokens[token] = SHOP  # what RQ's retry finds
    assert backfill(installed_shop.id, "orders") == 1
    assert progress_of(installed_shop.id, "backfill") == {"orders": ("done", 1)}


def test_reconciliation_heals_a_missed_order_and_lost_subscriptions(installed_shop, shopify,
                                                                     run_jobs, emitted):
    with db.session() as session:
        session.get(Store, installed_shop.id).refresh_token = "shprt_unused"
    assert reconcile_stores() == 1
    run_jobs()

    assert events.ORDER_PLACED in [e.name for e in emitted]
    with db.session() as session:
        assert session.execute(select(Order.platform_id)).scalar() == 820982911946154508
        first_watermark = sync_progress.watermark(session, installed_shop.id)
    assert first_watermark is not None
    # What webhooks missed, one inbox delivery each: the customer and the order.
    assert progress_of(installed_shop.id, "reconcile") == {"all": ("done", 2)}
    assert len(shopify.subscriptions[SHOP]) == len(subscriptions.TOPICS)
    with db.session() as session:
        [notice] = session.execute(select(StoreNotice)).scalars()
    assert (notice.store_id, notice.kind, notice.count) == (
        installed_shop.id, "webhooks_repaired", len(subscriptions.TOPICS))
    assert "orders/create" in notice.detail

    emitted.clear()
    reconcile(installed_shop.id)
    run_jobs()
    # What it already holds is old news: the order is not placed twice.
    assert events.ORDER_PLACED not in [e.name for e in emitted]
    assert len(shopify.subscriptions[SHOP]) == len(subscriptions.TOPICS)
    assert progress_of(installed_shop.id, "reconcile") == {"all": ("done", 0)}
    with db.session() as session:
        assert sync_progress.watermark(session, installed_shop.id) > first_watermark
        # Nothing was missing this time: nothing to tell the merchant.
        assert session.execute(select(func.count()).select_from(StoreNotice)).scalar() == 1

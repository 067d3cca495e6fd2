"""The WooCommerce REST client, backfill, reconciliation and coupons, against a local stub of
the REST API answering with WooCommerce's published responses."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.core import clock, events
from app.core.db import db
from app.models import Customer, FlowRun, Order, Product, StoreNotice, SyncProgress, WebhookEvent
from app.sync import backfill, discounts, progress as sync_progress, reconcile
from connectors.woocommerce.client import WooClient, WooError
from connectors.woocommerce.webhooks import TOPICS
from tests import woo_stub as stub_data
from tests.helpers import progress_of


def count(model) -> int:
    with db.session() as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


# --- the client ---------------------------------------------------------------------------

def test_client_pages_through_every_page_with_oauth_over_http(woo_stub):
    woo_stub.collections["customers"] = [
        stub_data.customer(n, f"c{n}@example.com") for n in range(1, 251)]
    client = WooClient(woo_stub.url, "ck_test", "cs_test")

    pages = list(client.pages("customers"))
    assert [len(page) for page in pages] == [100, 100, 50]
    calls = woo_stub.requests("GET", "customers")
    assert [call.query["page"] for call in calls] == ["1", "2", "3"]
    # Plain http: OAuth 1.0a in the query string, never Basic credentials in the clear.
    assert all("oauth_signature" in c.query and "Authorization" not in c.headers for c in calls)
    assert calls[0].query["oauth_consumer_key"] == "ck_test"


def test_client_retries_429_and_5xx_then_gives_up(woo_stub):
    woo_stub.faults = [429, 503]
    client = WooClient(woo_stub.url, "ck_test", "cs_test")
    assert client.get("orders") == []
    assert len(woo_stub.requests("GET", "orders")) == 3

    woo_stub.faults = [500] * 5
    with pytest.raises(WooError) as failed:
        client.get("orders")
    assert failed.value.status == 500


def test_client_does_not_retry_client_errors(woo_stub):
    client = WooClient(woo_stub.url, "ck_test", "cs_test")
    with pytest.raises(WooError) as failed:
        client.get("refunds")
    assert failed.value.status == 404
    assert len(woo_stub.requests("GET", "refunds")) == 1


def test_client_gives_up_on_an_unreachable_store(woo_stub):
    woo_stub.stop()
    with pytest.raises(WooError):
        WooClient(woo_stub.url, "ck", "cs", retries=1).get("orders")
    woo_stub.start()


# --- backfill ------------------------------------------------------------------------------

def test_backfill_stores_everything_and_fires_no_flow(woo_store, woo_stub, monkeypatch, storeflow,
                                                     run_jobs):
    recent = (clock.now() - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%S")
    woo_stub.collections.update(
        customers=[stub_data.customer(n, f"c{n}@example.com") for n in range(1, 121)],
        products=[stub_data.product(794), stub_data.product(795, stock_status="outofstock")],
        orders=[stub_data.order(n, recent, status="completed") for n in range(1, 4)],
    )
    storeflow("settings", "set", "--store", str(woo_store.id), "postal_address=1 Main St")
    storeflow("flows", "enable", "--store", str(woo_store.id), "post_purchase")
    published_events = []
    monkeypatch.setattr(events, "publish", lambda session, batch: published_events.extend(batch))

    backfill.start(woo_store.id)
    run_jobs()

    assert (count(Customer), count(Product), count(Order)) == (120, 2, 3)
    assert published_events == [] and count(FlowRun) == 0
    assert progress_of(woo_store.id, "backfill") == {
        "customers": ("done", 120), "products": ("done", 2), "orders": ("done", 3)}
    # Only recent orders are asked for, in GMT.
    query = woo_stub.requests("GET", "orders")[0].query
    assert query["dates_are_gmt"] == "true" and query["after"] < recent


def test_backfill_runs_as_a_queued_job_and_records_a_failure(woo_store, woo_stub, run_jobs):
    from app.sync.setup import queue_setup

    woo_stub.collections["products"] = [stub_data.product(794)]
    queue_setup(woo_store.id)
    run_jobs()
    assert progress_of(woo_store.id, "backfill") == {
        "customers": ("done", 0), "products": ("done", 1), "orders": ("done", 0)}
    assert count(Product) == 1

    backfill.start(woo_store.id)
    woo_stub.faults = [401]
    with pytest.raises(WooError):
        backfill.backfill(woo_store.id, "customers")
    # The first resource failed, naming the error; the run started over, so none is done.
    with db.session() as session:
        rows = session.execute(select(SyncProgress).where(
            SyncProgress.job == "backfill").order_by(SyncProgress.id)).scalars().all()
    assert [(r.resource, r.status, r.error) for r in rows] == [
        ("customers", "failed", "WooError"), ("products", "queued", None),
        ("orders", "queued", None)]


# --- reconciliation ------------------------------------------------------------------------

def test_reconcile_creates_our_webhooks_with_our_secret(woo_store, woo_stub):
    import connectors
    from app.sync.setup import webhook_url

    reconcile.reconcile(woo_store.id)

    created = woo_stub.requests("POST", "webhooks")
    assert sorted(call.body["topic"] for call in created) == sorted(TOPICS)
    url = webhook_url(connectors.get("woocommerce"), woo_store.id)
    assert {(c.body["delivery_url"], c.body["secret"], c.body["status"]) for c in created} == {
        (url, woo_store.webhook_secret, "active")}
    # A second run finds them all active and changes nothing.
    reconcile.reconcile(woo_store.id)
    assert len(woo_stub.requests("POST", "webhooks")) == len(TOPICS)
    assert woo_stub.requests("PUT", "webhooks/1000") == []


def test_reconcile_reactivates_disabled_webhooks_and_tells_the_merchant(woo_store, woo_stub):
    reconcile.reconcile(woo_store.id)
    hook = woo_stub.collections["webhooks"][0]
    hook["status"] = "disabled"  # what WooCommerce does after five failed deliveries

    result = reconcile.reconcile(woo_store.id)

    assert result["repaired"] == 1
    [put] = woo_stub.requests("PUT", f"webhooks/{hook['id']}")
    assert put.body == {"status": "active", "secret": woo_store.webhook_secret}
    with db.session() as session:
        notices = session.execute(select(StoreNotice)).scalars().all()
    assert [n.kind for n in notices] == ["webhooks_repaired", "webhooks_repaired"]
    assert f"{hook['topic']} (reactivated)" in notices[-1].detail
    assert all(n.store_id == woo_store.id for n in notices)


def test_reconcile_heals_missed_orders_through_the_inbox(woo_store, woo_stub, woo_webhooks,
                                                         run_jobs, emitted):
    reconcile.reconcile(woo_store.id)  # sets the watermark; backfill covers the past
    assert count(WebhookEvent) == 0
    now = clock.now().strftime("%Y-%m-%dT%H:%M:%S")
    delivered, missed = stub_data.order(901, now), stub_data.order(902, now, status="completed")
    woo_stub.collections["orders"] = [delivered, missed]
    woo_stub.collections["customers"] = [
        stub_data.customer(77, "new@example.com", now),
        stub_data.customer(78, "old@example.com", "2017-01-01T00:00:00")]
    woo_webhooks.deliver(woo_store.id, "order.created", delivered)  # this one arrived

    result = reconcile.reconcile(woo_store.id)
    run_jobs()

    assert (result["orders"], result["customers"]) == (1, 1)
    assert progress_of(woo_store.id, "reconcile") == {
        "all": ("done", result["orders"] + result["customers"] + result["products"])}
    with db.session() as session:
        ids = set(session.execute(select(Order.platform_id)).scalars())
        emails = set(session.execute(select(Customer.email)).scalars())
    assert ids == {901, 902} and "new@example.com" in emails and "old@example.com" not in emails
    # Healed orders are news like any webhook: they reach the flows.
    assert events.ORDER_FULFILLED in [e.name for e in emitted]
    query = woo_stub.requests("GET", "orders")[-1].query
    assert query["dates_are_gmt"] == "true" and "modified_after" in query


def test_a_failed_reconcile_says_why_and_keeps_its_watermark(woo_store, woo_stub):
    reconcile.reconcile(woo_store.id)
    with db.session() as session:
        watermark = sync_progress.watermark(session, woo_store.id)
    woo_stub.faults = [500] * 5

    with pytest.raises(WooError):
        reconcile.reconcile(woo_store.id)

    with db.session() as session:
        row = session.execute(select(SyncProgress).where(
            SyncProgress.store_id == woo_store.id, SyncProgress.job == "reconcile")).scalar_one()
    assert (row.status, row.error, row.watermark) == ("failed", "WooError", watermark)


def test_periodic_reconcile_queues_one_job_per_woocommerce_store(woo_store, shop, run_jobs):
    from app.jobs.schedule import PERIODIC

    assert reconcile.reconcile_stores in [job for job, _ in PERIODIC]
    assert reconcile.reconcile_stores() == 1
    run_jobs()
    with db.session() as session:
        assert sync_progress.watermark(session, woo_store.id) is not None


# --- coupons -------------------------------------------------------------------------------

def test_discount_code_is_a_single_use_coupon_for_the_recipient(woo_store, woo_stub):
    with db.session() as session:
        customer = Customer(store_id=woo_store.id, email="jane@example.com")
        session.add(customer)
        session.flush()
        code, _ = discounts.create_code(woo_store, customer, code="SF-0A1B2C3D", percent=15,
                                        valid_for=timedelta(days=7))

    [call] = woo_stub.requests("POST", "coupons")
    assert call.body["code"] == code
    assert call.body["email_restrictions"] == ["jane@example.com"]
    assert (call.body["discount_type"], call.body["amount"]) == ("percent", "15.00")
    assert (call.body["usage_limit"], call.body["individual_use"]) == (1, True)
    expires = (clock.now() + timedelta(days=7)).strftime("%Y-%m-%dT%H")
    assert call.body["date_expires_gmt"].startswith(expires)

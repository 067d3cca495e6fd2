"""Deliveries of one record processed at the same moment take turns on its row (app/ingest/upsert.py),
so each compares itself with what the one before it wrote."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import sqlalchemy
from sqlalchemy import func, select

from app.core import stores
from app.core.db import db
from app.ingest import consent, upsert
from app.ingest.pipeline import ingest
from app.models import (Checkout, CheckoutLine, Customer, Fulfillment, Order, OrderLine, Product,
                        WebhookEvent)
from connectors.base import (CheckoutRecord, CustomerRecord, FulfillmentRecord, LineRecord,
                             OrderRecord, ProductRecord)
from tests.helpers import SHOP, SHOP_SECRET, published, wait_for, waiting_for_a_lock


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


# Records as the connectors hand them over, written straight to the store's tables.

T0 = datetime(2022, 1, 1, 10, 0, tzinfo=timezone.utc)


def connected(domain: str) -> int:
    """A Shopify store connected under `domain`; its id."""
    with db.session() as session:
        store, _ = stores.connect(session, "shopify", domain, access_token="shpat_test",
                                  webhook_secret=SHOP_SECRET)
        return store.id


def written(write, *args):
    """Run one upsert function in its own transaction; its result."""
    with db.session() as session:
        return write(session, *args)


def rows(model, **where) -> list:
    with db.session() as session:
        return session.execute(select(model).filter_by(**where).order_by(model.id)).scalars().all()


def lamp(updated_at=T0, **values) -> ProductRecord:
    return ProductRecord(**{"platform_id": 7, "title": "Lamp", "updated_at": updated_at,
                            "in_stock": True, "handle": "lamp", "image_url": None,
                            "price": Decimal("20.00"), "status": "active", **values})


def line(title: str) -> LineRecord:
    return LineRecord(title=title, quantity=1, price=Decimal("5.00"), product_id=7)


def sale(updated_at=T0, **values) -> OrderRecord:
    return OrderRecord(**{"platform_id": 1001, "email": "ana@example.com", "currency": "EUR",
                          "total_price": Decimal("5.00"), "placed_at": T0,
                          "updated_at": updated_at, "lines": (line("Lamp"),), **values})


def test_a_new_record_reports_itself_created_with_every_value_it_carries(app):
    """A first delivery inserts the row and names the columns it filled (not the empty ones)."""
    store_id = connected(SHOP)
    result = written(upsert.product, store_id, lamp())
    [stored] = rows(Product)
    assert result == upsert.Upserted(id=stored.id, created=True, changed=True, changes=frozenset(
        {"title", "handle", "price", "in_stock", "status", "source_updated_at"}))
    assert (stored.store_id, stored.platform_id, stored.title, stored.image_url, stored.price,
            stored.source_updated_at) == (store_id, 7, "Lamp", None, Decimal("20.00"), T0)


def test_an_update_reports_what_the_row_held_and_only_the_columns_it_changed(app):
    """The events depend on it: a repeated value is not a change."""
    store_id = connected(SHOP)
    first = written(upsert.product, store_id, lamp())
    later = T0 + timedelta(hours=1)
    result = written(upsert.product, store_id, lamp(later, price=Decimal("18.00")))
    assert result == upsert.Upserted(
        id=first.id, created=False, changed=True,
        before={"title": "Lamp", "handle": "lamp", "url": None, "image_url": None, "price": Decimal("20.00"),
                "in_stock": True, "status": "active", "product_type": None, "vendor": None,
                "source_updated_at": T0},
        changes=frozenset({"price", "source_updated_at"}))
    assert [(p.price, p.source_updated_at) for p in rows(Product)] == [(Decimal("18.00"), later)]


def test_an_older_record_changes_nothing_and_names_the_stored_row(app):
    store_id = connected(SHOP)
    first = written(upsert.product, store_id, lamp())
    result = written(upsert.product, store_id, lamp(T0 - timedelta(seconds=1), title="Old lamp"))
    assert result == upsert.Upserted(id=first.id, created=False, changed=False)
    assert [p.title for p in rows(Product)] == ["Lamp"]


def test_a_record_of_the_stored_second_applies(app):
    """Platforms stamp whole seconds: two edits in one second share a stamp."""
    store_id = connected(SHOP)
    written(upsert.product, store_id, lamp())
    assert written(upsert.product, store_id, lamp(title="Desk lamp")).changed
    assert [p.title for p in rows(Product)] == ["Desk lamp"]


def test_undated_data_fills_an_empty_row_but_never_overwrites(app):
    """Shopify's customer embedded in an order carries no time: it may create the customer,
    and a later dated delivery updates it, but it never replaces what a dated one wrote,
    nor what an earlier undated one wrote."""
    store_id = connected(SHOP)
    undated = CustomerRecord(platform_id=5, email="ana@example.com", first_name="Ana")
    created = written(upsert.customer, store_id, undated)
    assert (created.created, created.changed) == (True, True)
    again = written(upsert.customer, store_id, replace(undated, first_name="Anna"))
    assert again == upsert.Upserted(id=created.id, created=False, changed=False)
    dated = written(upsert.customer, store_id, replace(undated, first_name="Ana Maria",
                                                       updated_at=T0))
    assert (dated.id, dated.changed) == (created.id, True)
    assert not written(upsert.customer, store_id, replace(undated, first_name="Anna")).changed
    assert [c.first_name for c in rows(Customer)] == ["Ana Maria"]


def test_an_update_of_one_stores_record_leaves_another_stores_record_of_the_same_id(app):
    """Platform ids are per shop: two stores may each have a product 7."""
    mine, theirs = connected(SHOP), connected("other-shop.myshopify.com")
    written(upsert.product, mine, lamp())
    written(upsert.product, theirs, lamp())
    written(upsert.product, mine, lamp(T0 + timedelta(hours=1), title="Desk lamp"))
    assert {(p.store_id, p.title) for p in rows(Product)} == {(mine, "Desk lamp"),
                                                              (theirs, "Lamp")}


def test_an_order_update_replaces_its_own_lines_and_no_other_orders(app):
    store_id = connected(SHOP)
    first = written(upsert.order, store_id, sale())
    other = written(upsert.order, store_id, sale(platform_id=1002, lines=(line("Shade"),)))
    written(upsert.order, store_id, sale(T0 + timedelta(hours=1),
                                         lines=(line("Desk lamp"), line("Bulb"))))
    assert [(l.title, l.store_id) for l in rows(OrderLine, order_id=first.id)] == [
        ("Desk lamp", store_id), ("Bulb", store_id)]
    assert [l.title for l in rows(OrderLine, order_id=other.id)] == ["Shade"]
    written(upsert.order, store_id, sale(T0 + timedelta(hours=2), lines=()))
    assert rows(OrderLine, order_id=first.id) == []


def test_an_order_and_a_checkout_name_the_customer_they_carry(app):
    """An existing customer (the undated embedded copy changes nothing) is still linked."""
    store_id = connected(SHOP)
    ana = CustomerRecord(platform_id=5, email="ana@example.com", updated_at=T0)
    customer_id = written(upsert.customer, store_id, ana).id
    order_id = written(upsert.order, store_id, sale(customer=replace(ana, updated_at=None))).id
    guest_id = written(upsert.order, store_id, sale(platform_id=1002)).id
    cart = CheckoutRecord(token="tok-1", email=None, currency="EUR", total_price=Decimal("5"),
                          updated_at=T0, customer=replace(ana, updated_at=None),
                          lines=(line("Lamp"),))
    checkout_id = written(upsert.checkout, store_id, cart).id
    with db.session() as session:
        assert (session.get(Order, order_id).customer_id, session.get(Order, guest_id).customer_id,
                session.get(Checkout, checkout_id).customer_id) == (customer_id, None, customer_id)
    assert [(l.title, l.store_id) for l in rows(CheckoutLine, checkout_id=checkout_id)] == [
        ("Lamp", store_id)]


def cart(token: str, stage: str, updated_at=T0) -> CheckoutRecord:
    return CheckoutRecord(token=token, email=None, currency="EUR", total_price=Decimal("5"),
                          updated_at=updated_at, stage=stage)


def test_a_cart_that_reached_checkout_stays_a_checkout(app):
    store_id = connected(SHOP)
    written(upsert.checkout, store_id, cart("tok-1", "cart"))
    assert [c.stage for c in rows(Checkout)] == ["cart"]
    written(upsert.checkout, store_id, cart("tok-1", "checkout", T0 + timedelta(minutes=1)))
    written(upsert.checkout, store_id, cart("tok-1", "cart", T0 + timedelta(minutes=2)))
    assert [c.stage for c in rows(Checkout)] == ["checkout"]


def test_a_new_cart_is_a_cart_whatever_other_checkouts_reached(app):
    """The stage kept is this cart's own: not another token's, nor another store's."""
    mine, theirs = connected(SHOP), connected("other-shop.myshopify.com")
    written(upsert.checkout, mine, cart("tok-1", "checkout"))
    written(upsert.checkout, theirs, cart("tok-2", "checkout"))
    written(upsert.checkout, mine, cart("tok-2", "cart"))
    assert [(c.store_id, c.token, c.stage) for c in rows(Checkout, store_id=mine)] == [
        (mine, "tok-1", "checkout"), (mine, "tok-2", "cart")]


def test_a_birthday_is_kept_when_a_later_update_does_not_say(app):
    store_id = connected(SHOP)
    ana = CustomerRecord(platform_id=5, email="ana@example.com", updated_at=T0)
    written(upsert.customer, store_id, replace(ana, birthday=date(1990, 5, 17)))
    written(upsert.customer, store_id, replace(ana, updated_at=T0 + timedelta(hours=1)))
    assert [c.birthday for c in rows(Customer)] == [date(1990, 5, 17)]


def test_a_shopper_known_by_email_becomes_the_platform_customer_with_that_email(app):
    """One history: the email-only row gets the platform id instead of a second row."""
    mine, theirs = connected(SHOP), connected("other-shop.myshopify.com")
    with db.session() as session:
        session.add_all([Customer(store_id=mine, email="ana@example.com"),
                         Customer(store_id=theirs, email="ana@example.com")])
    with db.session() as session:
        known = session.execute(select(Customer.id).where(Customer.store_id == mine)).scalar_one()
    ana = CustomerRecord(platform_id=5, email="ana@example.com", first_name="Ana", updated_at=T0)
    assert written(upsert.customer, mine, ana).id == known
    assert {(c.store_id, c.platform_id) for c in rows(Customer)} == {(mine, 5), (theirs, None)}


def test_a_shipment_records_its_order_and_tracking(app):
    store_id = connected(SHOP)
    order_id = written(upsert.order, store_id, sale()).id
    shipment = FulfillmentRecord(platform_id=9, order_platform_id=1001, updated_at=T0,
                                 status="success", tracking_number="1Z999")
    result = written(upsert.fulfillment, store_id, shipment, order_id)
    [stored] = rows(Fulfillment)
    assert (result.id, stored.store_id, stored.order_id, stored.order_platform_id,
            stored.tracking_number) == (stored.id, store_id, order_id, 1001, "1Z999")


def test_a_customer_updated_after_their_consent_in_one_delivery_is_read_as_updated(app):
    """Consent keeps the customer it read for the delivery's listeners (app.ingest.consent);
    an update of the customer later in the same delivery is what they then read, not the copy."""
    store_id = connected(SHOP)
    customer_id = written(upsert.customer, store_id,
                          CustomerRecord(platform_id=5, email="ana@example.com", updated_at=T0)).id
    with db.session() as session:
        consent.record(session, store_id, customer_id, consent.SUBSCRIBED, source="shopify:test",
                       occurred_at=T0)
        upsert.customer(session, store_id, CustomerRecord(
            platform_id=5, email="ana@example.com", first_name="Ana", tags=("vip",),
            updated_at=T0 + timedelta(hours=1)))
        seen = session.get(Customer, customer_id)
        assert (seen.first_name, seen.tags, seen.email_consent) == ("Ana", ["vip"], "subscribed")


def test_a_customer_known_a_moment_ago_but_erased_since_is_stored_anew(app):
    """The upsert locks a customer identity just found without trying to insert it first; one
    erased in between (a redaction committed meanwhile) is inserted as before."""
    store_id = connected(SHOP)
    with db.session() as session:
        result = upsert._upsert(session, Customer, {"store_id": store_id, "platform_id": 5},
                                {"email": "ana@example.com", "source_updated_at": T0}, T0,
                                stored=True)
    assert result.created and [c.email for c in rows(Customer)] == ["ana@example.com"]

"""WooCommerce deliveries at /webhooks/woocommerce/<store_id>: signatures, the creation ping,
dedupe on the resource's state, and published payloads landing in the model through a worker."""
from __future__ import annotations

import copy
import json
from decimal import Decimal

from sqlalchemy import func, select

from app.core import events
from app.core.db import db
from app.models import Customer, Order, OrderLine, Product, WebhookEvent
from connectors.signing import sign
from tests.helpers import SHOP_SECRET, WOO_SECRET, published


def count(model) -> int:
    with db.session() as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


def one(model):
    with db.session() as session:
        return session.execute(select(model)).unique().scalar_one()


def names(emitted) -> list[str]:
    return [event.name for event in emitted]


def test_published_order_lands_with_its_lines_and_state(woo_store, woo_webhooks, run_jobs, emitted):
    payload = published("woocommerce/order.json")

    response = woo_webhooks.deliver(woo_store.id, "order.created", payload)
    assert response.status_code == 200 and response.json["status"] == "accepted"
    run_jobs()

    order = one(Order)
    assert (order.store_id, order.platform_id, order.name) == (woo_store.id, 727, "#727")
    assert order.email == "john.doe@example.com"
    assert (order.total_price, order.currency) == (Decimal("29.35"), "USD")
    assert order.financial_status == "paid" and order.fulfillment_status is None
    with db.session() as session:
        titles = session.execute(select(OrderLine.title).order_by(OrderLine.id)).scalars().all()
    # WooCommerce sends names as HTML; we keep text.
    assert titles == ["Woo Single #1", "Ship Your Idea – Color: Black, Size: M Test"]
    assert names(emitted) == [events.ORDER_PLACED, events.ORDER_PAID]


def test_state_comes_from_status_not_topic(woo_store, woo_webhooks, run_jobs, emitted):
    woo_webhooks.deliver(woo_store.id, "order.created", published("woocommerce/order.json"))
    run_jobs()
    # WooCommerce coalesces: the only news of completion may come as any order.* topic.
    completed = published("woocommerce/order_update_response.json")
    assert woo_webhooks.deliver(woo_store.id, "order.restored", completed).status_code == 200
    run_jobs()

    assert one(Order).fulfillment_status == "fulfilled"
    assert names(emitted)[2:] == [events.ORDER_FULFILLED]


def test_creation_ping_gets_exactly_200_and_is_not_stored(woo_store, client):
    response = client.post(f"/webhooks/woocommerce/{woo_store.id}", data=b"webhook_id=142",
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    assert count(WebhookEvent) == 0


def test_forged_deliveries_get_401_and_store_nothing(woo_store, woo_webhooks, app):
    from app.core import stores

    payload = published("woocommerce/order.json")
    body = json.dumps(payload).encode()
    assert woo_webhooks.deliver(woo_store.id, "order.created", payload,
                                secret="wrong").status_code == 401
    assert woo_webhooks.deliver(woo_store.id, "order.created", payload,
                                signature="").status_code == 401
    assert woo_webhooks.deliver(woo_store.id, "order.created", body + b" ",
                                signature=sign(WOO_SECRET, body)).status_code == 401
    # Another store's secret does not open this store's URL, nor does an unknown store id.
    with db.session() as session:
        other, _ = stores.connect_with_keys(session, "woocommerce", "https://other.example.com",
                                            consumer_key="ck", consumer_secret="cs",
                                            webhook_secret="other-secret")
    assert woo_webhooks.deliver(woo_store.id, "order.created", payload,
                                secret="other-secret").status_code == 401
    assert woo_webhooks.deliver(other.id + 1, "order.created", payload).status_code == 401
    assert count(WebhookEvent) == 0


def test_the_woocommerce_url_does_not_open_a_store_of_another_platform(shop, woo_webhooks):
    # A Shopify store's id in the URL, signed with that store's own secret: still not a
    # WooCommerce store, so nothing lands in it.
    response = woo_webhooks.deliver(shop.id, "order.created", published("woocommerce/order.json"),
                                    secret=SHOP_SECRET)

    assert response.status_code == 401
    assert count(WebhookEvent) == 0


def test_a_woocommerce_delivery_naming_a_shopify_shop_does_not_open_it(shop, client):
    # At the URL without a store id the source header names the store; a Shopify shop's domain
    # there, signed with that shop's own secret (Shopify signs the same way), opens nothing.
    body = json.dumps(published("woocommerce/order.json")).encode()
    response = client.post("/webhooks/woocommerce", data=body, content_type="application/json",
                           headers={"X-WC-Webhook-Source": shop.domain,
                                    "X-WC-Webhook-Topic": "order.created",
                                    "X-WC-Webhook-Delivery-ID": "1",
                                    "X-WC-Webhook-Signature": sign(SHOP_SECRET, body)})

    assert response.status_code == 401
    assert count(WebhookEvent) == 0


def test_same_state_is_stored_once_whatever_the_delivery_id(woo_store, woo_webhooks):
    payload = published("woocommerce/order.json")

    first = woo_webhooks.deliver(woo_store.id, "order.created", payload, delivery_id="a")
    again = woo_webhooks.deliver(woo_store.id, "order.updated", payload, delivery_id="b")
    assert (first.json["status"], again.json["status"]) == ("accepted", "duplicate")
    newer = dict(payload, date_modified_gmt="2017-03-22T19:30:00")
    assert woo_webhooks.deliver(woo_store.id, "order.updated", newer).json["status"] == "accepted"
    with db.session() as session:
        keys = session.execute(select(WebhookEvent.delivery_key).order_by(WebhookEvent.id)).scalars().all()
    assert keys == ["order:727:2017-03-22T19:28:08", "order:727:2017-03-22T19:30:00"]


def test_deleted_order_is_cancelled_and_restored_order_comes_back(woo_store, woo_webhooks,
                                                                  run_jobs, emitted):
    woo_webhooks.deliver(woo_store.id, "order.created", published("woocommerce/order.json"))
    run_jobs()
    assert woo_webhooks.deliver(woo_store.id, "order.deleted", {"id": 727}).status_code == 200
    run_jobs()
    assert one(Order).cancelled_at is not None
    assert names(emitted)[-1] == events.ORDER_CANCELLED


def test_customer_and_product_topics_land(woo_store, woo_webhooks, run_jobs):
    product = published("woocommerce/product.json")
    woo_webhooks.deliver(woo_store.id, "customer.created", published("woocommerce/customer.json"))
    woo_webhooks.deliver(woo_store.id, "product.created", product)
    run_jobs()
    buyer = one(Customer)
    assert (buyer.platform_id, buyer.email, buyer.country_code) == (25, "john.doe@example.com", "US")
    stored = one(Product)
    assert (stored.title, stored.price, stored.in_stock) == ("Premium Quality", Decimal("21.99"), True)
    assert (stored.product_type, stored.vendor) == ("Clothing", None)  # its first category

    sold_out = dict(product, stock_status="outofstock", date_modified_gmt="2017-03-24T10:00:00")
    woo_webhooks.deliver(woo_store.id, "product.updated", sold_out)
    run_jobs()
    assert one(Product).in_stock is False
    woo_webhooks.deliver(woo_store.id, "product.deleted", {"id": 794})
    run_jobs()
    assert one(Product).status == "deleted"


def test_unhandled_topic_is_ignored_and_bad_payload_is_400(woo_store, woo_webhooks):
    coupon = published("woocommerce/coupon.json")
    assert woo_webhooks.deliver(woo_store.id, "coupon.created", coupon).json["status"] == "ignored"
    no_id = copy.deepcopy(published("woocommerce/order.json"))
    del no_id["id"]
    response = woo_webhooks.deliver(woo_store.id, "order.updated", no_id)
    assert response.status_code == 400 and b"'id'" in response.data
    assert woo_webhooks.deliver(woo_store.id, "order.updated", b"{not json").status_code == 400
    # Signed, but a version PostgreSQL cannot store (a NUL): refused alone, not failed with the
    # other deliveries written beside it.
    nul = dict(published("woocommerce/order.json"), date_modified_gmt="2017-03-22T19:28:08\x00")
    response = woo_webhooks.deliver(woo_store.id, "order.updated", nul)
    assert response.status_code == 400 and b"control characters" in response.data
    assert count(WebhookEvent) == 0


def test_malformed_state_is_recorded_not_retried(woo_store, woo_webhooks, run_jobs):
    payload = dict(published("woocommerce/order.json"), total="lots")
    woo_webhooks.deliver(woo_store.id, "order.updated", payload)
    run_jobs()
    event = one(WebhookEvent)
    assert event.processed_at is not None and "'total'" in event.error
    assert count(Order) == 0

"""Shipments: stored from fulfillments/* and from orders' `fulfillments`, kept until their order
arrives, and the events an order-updates email needs (tracking news, delivered once)."""
from __future__ import annotations

from sqlalchemy import select

from app.core.db import db
from app.models import Fulfillment, Order
from tests.helpers import published

ORDER_ID = 820982911946154508  # the order the published fulfillment belongs to


def shipment(updated_at: str | None = None, **fields) -> dict:
    payload = published("shopify/fulfillments_update.json")
    if updated_at:
        payload["updated_at"] = updated_at
    payload.update(fields)
    return payload


def rows(model) -> list:
    with db.session() as session:
        return session.execute(select(model).order_by(model.id)).scalars().all()


def named(emitted) -> list[tuple[str, str]]:
    return [(e.name, e.subject) for e in emitted]


def test_a_shipment_before_its_order_is_kept_and_linked_when_the_order_arrives(
        shop, webhooks, run_jobs, emitted):
    webhooks.deliver("fulfillments/create", published("shopify/fulfillments_create.json"))
    run_jobs()

    [kept] = rows(Fulfillment)
    assert (kept.order_id, kept.order_platform_id) == (None, ORDER_ID)
    assert (kept.tracking_company, kept.tracking_number) == ("UPS", "1z827wk74630")
    assert kept.tracking_url.startswith("https://www.ups.com/WebTracking")
    assert named(emitted) == [("shipment_updated", "fulfillment")]
    assert emitted[0].subject_id == kept.id

    webhooks.deliver("orders/create", published("shopify/orders_create.json"))
    run_jobs()
    [order] = rows(Order)
    assert rows(Fulfillment)[0].order_id == order.id


def test_delivered_sets_the_order_delivered_and_says_so_once(shop, webhooks, run_jobs, emitted):
    webhooks.deliver("orders/create", published("shopify/orders_create.json"))
    webhooks.deliver("fulfillments/create", published("shopify/fulfillments_create.json"))
    run_jobs()
    emitted.clear()

    delivered = shipment("2022-01-03T15:00:00Z", shipment_status="delivered", status="success")
    webhooks.deliver("fulfillments/update", delivered)
    webhooks.deliver("fulfillments/update", delivered)  # Shopify delivers at least once
    run_jobs()

    [order] = rows(Order)
    assert order.delivered_at.isoformat() == "2022-01-03T15:00:00+00:00"
    assert rows(Fulfillment)[0].delivered_at == order.delivered_at
    assert [(e.name, e.subject, e.subject_id) for e in emitted] == [
        ("shipment_updated", "fulfillment", rows(Fulfillment)[0].id),
        ("order_delivered", "order", order.id),
    ]


def test_tracking_news_is_a_shipment_update_and_stale_or_repeated_news_is_not(
        shop, webhooks, run_jobs, emitted):
    webhooks.deliver("fulfillments/create", published("shopify/fulfillments_create.json"))
    run_jobs()
    emitted.clear()

    webhooks.deliver("fulfillments/update", shipment("2022-01-02T10:00:00Z", status="success"))
    run_jobs()
    assert emitted == []  # the status moved, but nothing a customer sees

    webhooks.deliver("fulfillments/update", shipment(
        "2022-01-02T12:00:00Z", shipment_status="in_transit", tracking_company="FedEx",
        tracking_number="7489", tracking_url="https://www.fedex.com/fedextrack/?trknbr=7489"))
    webhooks.deliver("fulfillments/update", shipment("2022-01-02T11:00:00Z", shipment_status="failure"))
    run_jobs()

    [stored] = rows(Fulfillment)
    assert (stored.shipment_status, stored.tracking_company, stored.tracking_number) == (
        "in_transit", "FedEx", "7489")
    assert named(emitted) == [("shipment_updated", "fulfillment")]


def test_an_orders_fulfillments_are_stored_from_its_payload(shop, webhooks, run_jobs, emitted):
    payload = published("shopify/orders_fulfilled.json")
    payload["fulfillments"] = [published("shopify/fulfillments_create.json")]
    webhooks.deliver("orders/fulfilled", payload)
    run_jobs()

    [order] = rows(Order)
    [stored] = rows(Fulfillment)
    assert (stored.order_id, stored.platform_id, stored.tracking_company) == (order.id, 123456, "UPS")
    assert ("shipment_updated", "fulfillment") in named(emitted)


def test_an_order_arriving_after_its_delivered_shipment_is_delivered(shop, webhooks, run_jobs,
                                                                      emitted):
    webhooks.deliver("fulfillments/update", shipment("2022-01-03T15:00:00Z",
                                                     shipment_status="delivered"))
    run_jobs()
    assert ("order_delivered", "order") not in named(emitted)  # no order to name yet

    webhooks.deliver("orders/create", published("shopify/orders_create.json"))
    run_jobs()

    [order] = rows(Order)
    assert order.delivered_at.isoformat() == "2022-01-03T15:00:00+00:00"
    assert [e.subject_id for e in emitted if e.name == "order_delivered"] == [order.id]

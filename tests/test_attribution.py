"""Orders are credited to the message that earned them: its discount code, else the last click
within the store's attribution window; and the per-flow revenue report."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from app.core import clock, events, stores
from app.core.db import db
from app.ingest import identity
from app.mail import links, outbox
from app.models import Attribution, Order, Store
from app.reports.attribution import Earned, revenue_by_flow
from tests.helpers import SHOP, published
from tests.mail_helpers import sent_message, status

# The published orders/create sample: processed 2021-12-31T19:00-05:00, jon@example.com,
# customer 115310627314723954, 404.95 USD.
PLACED = datetime(2022, 1, 1, tzinfo=timezone.utc)
ORDER_EMAIL = "jon@example.com"
ORDER_CUSTOMER = 115310627314723954
# Shopify's published REST order: placed 2008-01-10T16:00Z with the discount code TENOFF.
CODE_ORDER_PLACED = datetime(2008, 1, 10, 16, 0, tzinfo=timezone.utc)


def click(client, message_id: int, at: datetime) -> None:
    with clock.frozen_at(at):
        url = links.click_url(status(message_id), f"https://{SHOP}/products/ipod-nano")
        assert client.get(urlsplit(url).path).status_code == 302


def place_order(webhooks, run_jobs, payload=None) -> None:
    webhooks.deliver("orders/create", payload or published("shopify/orders_create.json"))
    run_jobs()


def attributions() -> list[Attribution]:
    with db.session() as session:
        return session.execute(select(Attribution).order_by(Attribution.id)).scalars().all()


def credit(attribution: Attribution) -> tuple:
    return (attribution.message_id, attribution.flow, attribution.step, attribution.method,
            attribution.revenue, attribution.currency)


def test_an_order_after_a_click_is_credited_to_that_message(shop, webhooks, run_jobs, client,
                                                            smtp_sink):
    with clock.frozen_at(PLACED - timedelta(days=2)):
        message_id = sent_message(shop, webhooks, run_jobs, email=ORDER_EMAIL)
    click(client, message_id, PLACED - timedelta(days=1))

    place_order(webhooks, run_jobs)

    [attribution] = attributions()
    assert credit(attribution) == (message_id, "abandoned_checkout", "email_1", "click",
                                   Decimal("404.95"), "USD")


def test_the_last_click_by_the_same_customer_wins_whatever_the_address(shop, webhooks, run_jobs,
                                                                        client, smtp_sink):
    with db.session() as session:
        customer_id = identity.resolve(session, shop.id, platform_id=ORDER_CUSTOMER,
                                       email="john@example.com")
    with clock.frozen_at(PLACED - timedelta(days=3)):
        first = sent_message(shop, webhooks, run_jobs, email="john@example.com",
                             customer_id=customer_id)
        last = sent_message(shop, webhooks, run_jobs, email="john@example.com",
                            customer_id=customer_id, run_id=2, step="email_2")
    click(client, last, PLACED - timedelta(days=2))
    click(client, first, PLACED - timedelta(hours=1))
    click(client, last, PLACED + timedelta(minutes=5))  # after the order: earns nothing

    place_order(webhooks, run_jobs)

    [attribution] = attributions()
    assert (attribution.message_id, attribution.step) == (first, "email_1")


def test_an_order_using_a_messages_discount_code_is_credited_without_a_click(
        shop, webhooks, run_jobs, smtp_sink):
    with clock.frozen_at(CODE_ORDER_PLACED - timedelta(days=30)):
        message_id = sent_message(shop, webhooks, run_jobs, context={"discount_code": "tenoff"})

    place_order(webhooks, run_jobs, published("shopify/rest_api/order.json")["order"])

    [attribution] = attributions()
    assert credit(attribution) == (message_id, "abandoned_checkout", "email_1", "discount_code",
                                   Decimal("409.94"), "USD")


@pytest.mark.parametrize(("attribution_days", "credited"), [(None, False), (7, True)])
def test_the_window_is_the_stores_attribution_days(shop, webhooks, run_jobs, client, smtp_sink,
                                                    attribution_days, credited):
    if attribution_days:
        with db.session() as session:
            session.get(Store, shop.id).settings = {"attribution_days": attribution_days}
    with clock.frozen_at(PLACED - timedelta(days=7)):
        message_id = sent_message(shop, webhooks, run_jobs, email=ORDER_EMAIL)
    click(client, message_id, PLACED - timedelta(days=6))  # outside the default 5 days

    place_order(webhooks, run_jobs)

    assert [a.message_id for a in attributions()] == ([message_id] if credited else [])


def test_another_stores_click_earns_nothing(shop, webhooks, run_jobs, client):
    with db.session() as session, clock.frozen_at(PLACED - timedelta(days=2)):
        other, _ = stores.connect(session, "shopify", "other-shop.myshopify.com",
                                  access_token="shpat_other", webhook_secret="other-secret")
        message_id = outbox.queue_message(
            session, store_id=other.id, email=ORDER_EMAIL, template="abandoned_checkout/email_1",
            marketing=True, flow="abandoned_checkout", run_id=1, step="email_1")
    with clock.frozen_at(PLACED - timedelta(days=1)):
        url = links.click_url(status(message_id), "https://other-shop.myshopify.com/")
        assert client.get(urlsplit(url).path).status_code == 302

    place_order(webhooks, run_jobs)

    assert attributions() == []


def test_a_repeated_order_placed_event_credits_the_order_once(shop, webhooks, run_jobs, client,
                                                              smtp_sink):
    with clock.frozen_at(PLACED - timedelta(days=2)):
        message_id = sent_message(shop, webhooks, run_jobs, email=ORDER_EMAIL)
    click(client, message_id, PLACED - timedelta(days=1))
    place_order(webhooks, run_jobs)

    with db.session() as session:
        order_id = session.execute(select(Order.id)).scalar_one()
        again = events.DomainEvent(events.ORDER_PLACED, shop.id, "order", order_id, clock.now())
        events.publish(session, [again, again])

    assert len(attributions()) == 1


def test_revenue_by_flow_sums_each_flow_and_step(shop, webhooks, run_jobs, client, smtp_sink):
    with clock.frozen_at(CODE_ORDER_PLACED - timedelta(days=1)):
        sent_message(shop, webhooks, run_jobs, context={"discount_code": "TENOFF"}, step="email_2")
    with clock.frozen_at(PLACED - timedelta(days=2)):
        clicked = sent_message(shop, webhooks, run_jobs, email=ORDER_EMAIL, run_id=2)
    click(client, clicked, PLACED - timedelta(days=1))
    place_order(webhooks, run_jobs, published("shopify/rest_api/order.json")["order"])
    place_order(webhooks, run_jobs)

    with db.session() as session:
        everything = revenue_by_flow(session, shop.id, since=datetime(2000, 1, 1, tzinfo=timezone.utc))
        recent = revenue_by_flow(session, shop.id, since=PLACED - timedelta(days=30))

    [flow] = everything
    assert (flow.flow, flow.currency, flow.orders, flow.revenue) == (
        "abandoned_checkout", "USD", 2, Decimal("814.89"))
    assert flow.steps == {"email_1": Earned(1, Decimal("404.95")),
                          "email_2": Earned(1, Decimal("409.94"))}
    assert [(f.orders, f.revenue) for f in recent] == [(1, Decimal("404.95"))]

"""Customer metrics kept up to date as orders and mail are stored: from the published Shopify and
WooCommerce payloads through real webhooks, and rebuilt by `storeflow customers recompute`."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from urllib.parse import urlsplit

from sqlalchemy import delete, select

from app.audiences import metrics
from app.core import clock
from app.core.db import db
from app.mail import links
from app.models import Customer, CustomerMetrics, Message, Order, StoreMetrics
from tests.helpers import published, wait_for, waiting_for_a_lock
from tests.mail_helpers import sent_message

SUNGLASSES = 788032119674292922  # the published order's product
AT = datetime(2026, 10, 1, 12, 0, tzinfo=timezone.utc)


def shopify_order(platform_id: int, placed: datetime, total: str, **changes) -> dict:
    """Shopify's published order, placed at `placed`, paid and not cancelled unless told."""
    payload = published("shopify/orders_create.json")
    payload.update(id=platform_id, total_price=total, financial_status="paid", cancelled_at=None,
                   created_at=placed.isoformat(), processed_at=placed.isoformat(),
                   updated_at=placed.isoformat(),
                   name=f"#{platform_id}")
    payload.update(changes)
    return payload


def row(email: str) -> CustomerMetrics | None:
    with db.session() as session:
        return session.execute(select(CustomerMetrics).join(
            Customer, Customer.id == CustomerMetrics.customer_id).where(
            Customer.email == email)).scalar_one_or_none()


def test_orders_refunds_and_cancellations_keep_a_shopify_customers_row(shop, webhooks, run_jobs):
    second = AT + timedelta(days=20)
    webhooks.deliver("orders/create", shopify_order(1001, AT, "404.95"))
    webhooks.deliver("orders/create", shopify_order(1002, second, "100.00"))
    run_jobs()

    kept = row("john@example.com")
    assert (kept.orders_count, kept.total_spent) == (2, Decimal("504.95"))
    assert kept.average_order_value == Decimal("252.4750")
    assert (kept.first_order_at, kept.last_order_at) == (AT, second)
    assert kept.product_ids == [SUNGLASSES]
    assert "Aviator sunglasses" in kept.product_titles
    assert kept.predicted_next_order_at == second + timedelta(days=20)
    assert kept.prediction_basis == "own 2 orders"

    later = (second + timedelta(days=1)).isoformat()
    webhooks.deliver("orders/cancelled", shopify_order(
        1002, second, "100.00", cancelled_at=later, updated_at=later))
    run_jobs()
    cancelled = row("john@example.com")
    assert (cancelled.orders_count, cancelled.total_spent) == (1, Decimal("404.95"))
    # One order left and no store median computed yet: no prediction rather than a guess.
    assert (cancelled.predicted_next_order_at, cancelled.prediction_basis) == (None, None)

    webhooks.deliver("orders/updated", shopify_order(
        1001, AT, "404.95", financial_status="refunded", updated_at=later))
    run_jobs()
    refunded = row("john@example.com")
    assert (refunded.orders_count, refunded.total_spent, refunded.last_order_at) == (0, 0, None)
    assert refunded.product_ids == [] and refunded.average_order_value is None


def test_a_woocommerce_guest_order_counts_for_the_customer_with_its_address(
        woo_store, woo_webhooks, run_jobs):
    woo_webhooks.deliver(woo_store.id, "customer.created", published("woocommerce/customer.json"))
    woo_webhooks.deliver(woo_store.id, "order.created", published("woocommerce/order.json"))
    run_jobs()

    kept = row("john.doe@example.com")
    assert (kept.orders_count, kept.total_spent) == (1, Decimal("29.35"))
    assert sorted(kept.product_ids) == [22, 93]


def test_sends_opens_and_clicks_keep_the_engagement_columns(shop, webhooks, run_jobs, client,
                                                             smtp_sink):
    message_id = sent_message(shop, webhooks, run_jobs)
    with db.session() as session:
        message = session.get(Message, message_id)
        # The mail went to the checkout's address; the row is its customer's.
        email, sent_at = session.get(Customer, message.customer_id).email, message.sent_at
    assert row(email).recent_sends == [sent_at]

    opened_at = sent_at + timedelta(hours=1)
    with clock.frozen_at(opened_at):
        client.get(urlsplit(links.open_url(message)).path)
    with clock.frozen_at(opened_at + timedelta(hours=1)):
        client.get(urlsplit(links.click_url(message, f"https://{shop.domain}/")).path)

    kept = row(email)
    assert kept.last_opened_at == opened_at
    assert kept.last_clicked_at == opened_at + timedelta(hours=1)


def test_recompute_rebuilds_a_store_and_predicts_one_time_buyers_from_the_store_median(
        shop, webhooks, run_jobs, storeflow):
    webhooks.deliver("orders/create", shopify_order(1001, AT, "10.00"))
    webhooks.deliver("orders/create", shopify_order(1002, AT + timedelta(days=30), "10.00"))
    other = published("shopify/orders_create.json")["customer"] | {"id": 77, "email": "ann@example.com"}
    webhooks.deliver("orders/create", shopify_order(2001, AT, "5.00", customer=other,
                                                    email="ann@example.com"))
    run_jobs()
    with db.session() as session:
        session.execute(delete(CustomerMetrics))

    result = storeflow("customers", "recompute", "--store", str(shop.id))

    assert "recomputed the metrics of 2 customer(s)" in result.output
    assert row("john@example.com").orders_count == 2
    one_time = row("ann@example.com")
    assert one_time.prediction_basis == "store median"
    assert one_time.predicted_next_order_at == AT + timedelta(days=30)
    with db.session() as session:
        assert session.get(StoreMetrics, shop.id).median_order_interval == timedelta(days=30)


def test_the_daily_pass_fills_rows_a_store_never_had(shop, webhooks, run_jobs):
    webhooks.deliver("orders/create", shopify_order(1001, AT, "10.00"))
    run_jobs()
    with db.session() as session:
        session.execute(delete(CustomerMetrics))

    assert metrics.recompute_all() == 1
    assert row("john@example.com").orders_count == 1


def test_recompute_of_an_unknown_store_says_so(app, storeflow):
    result = storeflow("customers", "recompute", "--store", "no-such.myshopify.com", ok=False)
    assert result.exit_code != 0 and "no-such.myshopify.com" in result.output


def test_two_orders_stored_at_once_both_count(shop):
    with db.session() as session:
        customer = Customer(store_id=shop.id, platform_id=1, email="ann@example.com", tags=[])
        session.add(customer)
        session.flush()
        customer_id = customer.id
    placed = iter([AT, AT + timedelta(days=3)])

    def store_order(session, platform_id: int) -> None:
        at = next(placed)
        order = Order(store_id=shop.id, platform_id=platform_id, customer_id=customer_id,
                      email="ann@example.com", currency="USD", total_price=Decimal("10"),
                      financial_status="paid", placed_at=at, source_updated_at=at)
        session.add(order)
        session.flush()
        metrics.order_stored(session, shop.id, order.id)

    with db.session() as session:
        store_order(session, 1)
        # The second delivery's upkeep starts while the first is uncommitted: it must wait for
        # it and count both, not overwrite the row with a count that misses the first order.
        second = threading.Thread(target=lambda: _in_session(store_order, 2))
        second.start()
        wait_for(lambda: waiting_for_a_lock() > 0)
    second.join(timeout=10)

    assert row("ann@example.com").orders_count == 2


def _in_session(work, *args) -> None:
    with db.session() as session:
        work(session, *args)

"""Shopify retries and reorders webhooks. One shopper's story (consent, a checkout, its update,
the order that completes it, the order's updates), each delivered three times at once and the
whole set in 100 random orders, ends in the same state every time: one enrollment per flow, at
most one email per step, and no checkout reminder once the order is in."""
from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select

from app.core import stores
from app.core.db import db
from app.models import Checkout, Customer, FlowRun, Message, Order
from tests.flow_helpers import (CHECKOUT_CUSTOMER, DAY, MINUTE, SAMPLE_TIME, at, checkout_sample,
                                consent_update, enable, move_to, order_sample)
from tests.helpers import SHOP, SHOP_SECRET, published, wipe

ORDERINGS = 100
TOKEN = "123123123"  # the published checkout's token


def story() -> list[tuple[str, str, dict]]:
    """(event id, topic, payload): the published samples made into one shopper's afternoon."""
    consent = consent_update(CHECKOUT_CUSTOMER, "john@example.com")
    # Shopify's order and checkout payloads carry the customer with their consent, as this does.
    buyer = {**published("shopify/checkouts_create.json")["customer"],
             "email_marketing_consent": consent["email_marketing_consent"]}

    def order(minutes: int, **changes) -> dict:
        payload = order_sample(SAMPLE_TIME + 30 * MINUTE, checkout_token=TOKEN, customer=buyer,
                               **changes)
        return {**payload, "updated_at": (SAMPLE_TIME + minutes * MINUTE).isoformat()}
    return [
        ("consent", "customers_email_marketing_consent/update", consent),
        ("checkout", "checkouts/create", checkout_sample(customer=buyer)),
        ("checkout-update", "checkouts/update",
         checkout_sample(SAMPLE_TIME + 10 * MINUTE, customer=buyer)),
        ("order", "orders/create", order(30, financial_status="pending")),
        ("order-paid", "orders/paid", order(40, financial_status="paid")),
        ("order-update", "orders/updated", order(50, financial_status="paid", note="gift wrap")),
    ]


def final_state() -> tuple:
    """What a merchant can see: the records, the runs, and every email by flow and step."""
    with db.session() as session:
        checkout = session.execute(select(Checkout)).scalar_one()
        order = session.execute(select(Order)).scalar_one()
        customers = session.execute(select(Customer.platform_id, Customer.email_consent)
                                    .order_by(Customer.platform_id)).all()
        runs = session.execute(select(FlowRun.flow, FlowRun.status, FlowRun.outcome, FlowRun.step)
                               .order_by(FlowRun.flow)).all()
        mail = session.execute(select(Message.flow, Message.step, Message.status)
                               .order_by(Message.flow, Message.step)).all()
    return ((checkout.source_updated_at, checkout.completed_at, checkout.customer_id is not None),
            (order.financial_status, order.source_updated_at, order.customer_id is not None),
            tuple(customers), tuple(runs), tuple(mail))


def play(webhooks, run_jobs, deliveries) -> None:
    """Deliver each webhook three times at once, in the given order, then let four days pass."""
    with at(SAMPLE_TIME + 55 * MINUTE), ThreadPoolExecutor(3) as pool:
        for event_id, topic, payload in deliveries:
            answers = pool.map(lambda _: webhooks.deliver(topic, payload, event_id=event_id),
                               range(3))
            assert [a.status_code for a in answers] == [200] * 3
        run_jobs()
    move_to(SAMPLE_TIME + 4 * DAY, run_jobs)


def test_any_order_of_repeated_deliveries_ends_in_the_same_state(app, webhooks, run_jobs,
                                                                 smtp_sink):
    rng = random.Random(20261123)
    deliveries = story()
    states = set()
    for _ in range(ORDERINGS):
        wipe()
        smtp_sink.received.clear()
        with db.session() as session:
            store, _ = stores.connect(session, "shopify", SHOP, access_token="t",
                                      webhook_secret=SHOP_SECRET)
        enable(store.id, "abandoned_checkout", "post_purchase")
        play(webhooks, run_jobs, rng.sample(deliveries, len(deliveries)))

        state = final_state()
        runs, mail = state[3], state[4]
        assert [flow for flow, *_ in runs].count("post_purchase") == 1
        assert [flow for flow, *_ in runs].count("abandoned_checkout") <= 1
        assert len(mail) == len(set(mail)) == len(smtp_sink.received)  # at most one per step
        assert not [m for m in mail if m[0] == "abandoned_checkout"]  # the order came first
        states.add(state)
    assert len(states) == 1, states

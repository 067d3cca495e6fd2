"""The exit rule "ordered since the trigger", read as a column of the run's context (what steps
and the outbox's send guard do), answers as its own query does (what ingest and dry runs do), for
every shape of order that counts or must not. Real PostgreSQL."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from app.core import stores
from app.core.db import db
from app.models import Checkout, Customer, FlowRun, Order
from flows import context, rules
from tests.flow_helpers import SAMPLE_TIME, enable
from tests.seed import due_checkout_runs

DUE = SAMPLE_TIME + timedelta(hours=1)
TRIGGERED = DUE - timedelta(hours=1)  # the seeded run's trigger: an hour before it falls due
SECOND = timedelta(seconds=1)


@pytest.fixture
def run(shop):
    """A seeded abandoned-checkout run: (run, its customer, its checkout)."""
    enable(shop.id, "abandoned_checkout")
    due_checkout_runs(shop.id, shop.domain, 1, DUE)
    with db.session() as session:
        run = session.execute(select(FlowRun)).scalar_one()
        return (run, session.get(Customer, run.customer_id),
                session.get(Checkout, run.subject_id))


def place(store_id: int, placed_at, *, customer_id=None, email=None, token=None) -> int:
    with db.session() as session:
        number = session.execute(select(Order.id)).all()
        order = Order(store_id=store_id, platform_id=900 + len(number), customer_id=customer_id,
                      email=email, checkout_token=token, currency="USD",
                      total_price=Decimal("10.00"), placed_at=placed_at,
                      source_updated_at=placed_at)
        session.add(order)
        session.flush()
        return order.id


def answers(run: FlowRun) -> tuple[str | None, str | None]:
    """The rule's answer read with the context, and asked on its own. Read with the context,
    it is the same whether the subject's kind is unknown (every kind loaded), read by the
    step's lock, or known to the caller (the outbox's claim reads it)."""
    read_with_context = []
    for kind in ("unknown", "locked", "known"):
        with db.session() as session:
            read = context.load(session, run.id, DUE, lock=kind == "locked",
                                store_id=run.store_id, also=rules.CONTEXT_READS,
                                subject=session.get(FlowRun, run.id).subject
                                if kind == "known" else None)
            assert rules.ORDERED_SINCE_TRIGGER in read.also
            read_with_context.append(rules.ordered_since_trigger(read))
    with db.session() as session:
        asked = rules.ordered_since_trigger(
            context.load(session, run.id, DUE, lock=False, store_id=run.store_id))
    assert len(set(read_with_context)) == 1, read_with_context
    return read_with_context[0], asked


def test_no_order_is_no_reason(run):
    assert answers(run[0]) == (None, None)


@pytest.mark.parametrize("placed, expected", [
    (-SECOND, None), (timedelta(0), "ordered"), (SECOND, "ordered")],
    ids=["a second before", "at that instant", "a second after"])
def test_their_order_counts_from_the_trigger(run, placed, expected):
    flow_run, customer, _ = run
    place(flow_run.store_id, TRIGGERED + placed, customer_id=customer.id)
    assert answers(flow_run) == (expected, expected)


def test_a_guest_order_with_their_address_counts(run):
    flow_run, customer, _ = run
    place(flow_run.store_id, TRIGGERED + SECOND, email=customer.email)
    assert answers(flow_run) == ("ordered", "ordered")


def test_an_order_completing_this_checkout_counts_whenever_it_was_placed(run):
    flow_run, _, checkout = run
    place(flow_run.store_id, TRIGGERED - timedelta(days=1), token=checkout.token)
    assert answers(flow_run) == ("ordered", "ordered")


def test_another_store_s_orders_never_count(run, shop):
    flow_run, customer, checkout = run
    with db.session() as session:
        other, _ = stores.connect(session, "shopify", "other-shop.myshopify.com",
                                  access_token="t", webhook_secret="s")
    place(other.id, TRIGGERED + SECOND, email=customer.email, token=checkout.token)
    assert answers(flow_run) == (None, None)


def test_an_order_run_s_own_order_does_not_count_but_another_does(run):
    flow_run, customer, _ = run
    own = place(flow_run.store_id, TRIGGERED + SECOND, customer_id=customer.id)
    with db.session() as session:
        session.execute(update(FlowRun).where(FlowRun.id == flow_run.id).values(
            subject="order", subject_id=own))
    assert answers(flow_run) == (None, None)

    place(flow_run.store_id, TRIGGERED + 2 * SECOND, email=customer.email)
    assert answers(flow_run) == ("ordered", "ordered")


def test_a_customer_without_an_address_matches_no_guest_order(run):
    flow_run, customer, _ = run
    with db.session() as session:
        session.execute(update(Customer).where(Customer.id == customer.id).values(email=None))
    place(flow_run.store_id, TRIGGERED + SECOND, email="someone@example.com")
    place(flow_run.store_id, TRIGGERED + SECOND)  # a guest order with no address either
    assert answers(flow_run) == (None, None)


def test_a_run_about_a_product_view_is_not_ordered_by_a_checkout_it_is_not_about(run):
    """The context joins every subject kind's table, even where it loads only the run's own:
    the checkout condition reads the joined checkout, which is NULL for a product view's run,
    never any checkout of the store (the demo found a browse reminder exited as ordered when
    the checkouts table was left out of the join)."""
    flow_run, _, checkout = run
    with db.session() as session:
        session.execute(update(FlowRun).where(FlowRun.id == flow_run.id).values(
            subject="product_view", subject_id=checkout.id))
    place(flow_run.store_id, TRIGGERED - timedelta(days=1), token=checkout.token)
    assert answers(flow_run) == (None, None)

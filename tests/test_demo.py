"""`storeflow demo --fast` end to end: the demo shop's day through the real endpoints, inbox,
worker, engine and dev inbox."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from app.core import clock
from app.core.db import db
from app.demo import shop
from app.models import Attribution, Customer, FlowRun, Message, Order, Store
from flows.catalog import FLOWS

REMINDERS = ("abandoned_checkout", "abandoned_cart", "browse_abandonment")


@pytest.fixture
def demo_home(tmp_path, monkeypatch):
    monkeypatch.setenv("STOREFLOW_HOME", str(tmp_path))
    return tmp_path


@pytest.fixture
def played(storeflow, demo_home):
    with clock.frozen_at(datetime(2026, 11, 20, 15, 0, tzinfo=timezone.utc)):
        result = storeflow("demo", "--fast")
    with db.session() as session:
        store = session.execute(select(Store).where(Store.domain == shop.DOMAIN)).scalar_one()
        sent = session.execute(select(Message).where(
            Message.store_id == store.id, Message.status == "sent")).scalars().all()
        emails = dict(session.execute(select(Customer.id, Customer.email)).all())
        orders = session.execute(select(Order).where(Order.store_id == store.id)).scalars().all()
    return result.output, sent, emails, orders


def test_every_prebuilt_flow_sends_mail_to_the_dev_inbox(played, demo_home):
    output, sent, _, _ = played

    assert {m.flow for m in sent} == set(FLOWS)
    assert len(list((demo_home / "dev-inbox").glob("*.eml"))) == len(sent)
    assert f"{len(sent)} email(s) sent" in output and str(demo_home / "dev-inbox") in output


def test_no_reminder_after_an_order_and_consent_is_respected(played):
    _, sent, emails, orders = played
    late = [(m.flow, m.step, m.email) for order in orders for m in sent
            if m.flow in REMINDERS and m.email == emails.get(order.customer_id)
            and m.sent_at > order.placed_at]

    assert late == []
    # Dan came back through his first reminder: he got that one, before he bought.
    assert [(m.flow, m.step) for m in sent if m.email == "dan@example.com"
            and m.flow in REMINDERS] == [("abandoned_checkout", "email_1")]
    assert [m for m in sent if m.email == "kate@example.com"] == []  # unsubscribed
    assert {m.flow for m in sent if m.email == "jack@example.com"} == {"order_updates"}


def test_opens_and_clicks_come_through_the_links_in_the_mail(played):
    _, sent, _, orders = played
    with db.session() as session:
        credited = session.execute(select(Attribution)).scalars().all()

    dan_reminder = next(m for m in sent if m.email == "dan@example.com" and m.flow == "abandoned_checkout")
    assert dan_reminder.first_opened_at and dan_reminder.first_clicked_at
    order = next(o for o in orders if o.name == "#1005")
    assert [(a.order_id, a.message_id, a.method) for a in credited] == [(order.id, dan_reminder.id, "click")]
    assert len([m for m in sent if m.first_opened_at]) > len([m for m in sent if m.first_clicked_at]) == 2


def test_the_fast_demo_ends_in_the_last_day_and_leaves_later_steps_due(played):
    """The overview's 30 days show the whole story; the review requests are still to come."""
    _, sent, _, orders = played
    now = datetime(2026, 11, 20, 15, 0, tzinfo=timezone.utc)

    assert all(now - timedelta(days=5) < o.placed_at < now for o in orders if o.name != "#1001")
    assert all(m.sent_at <= now for m in sent)
    with db.session() as session:
        due = session.execute(select(FlowRun.flow).where(FlowRun.status == "active",
                                                         FlowRun.due_at > now)).scalars().all()
    assert "post_purchase" in due


def test_dev_seeds_the_demo_only_into_an_empty_database(app, shop, config, monkeypatch):
    from app.demo.cli import seed_if_empty

    seed_if_empty(config)  # a store is connected already
    monkeypatch.setenv("STOREFLOW_DEMO", "0")
    with db.session() as session:
        session.delete(session.get(Store, shop.id))
    seed_if_empty(config)

    with db.session() as session:
        assert session.execute(select(Store.domain)).scalars().all() == []

"""Discount codes from the abandoned-checkout flow, made on the stub through
discountCodeBasicCreate: unique, single use, this customer only, ending when the flow says; the
email shows the code with its percent and its last day."""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from app.core.db import db
from app.models import FlowRun
from connectors.shopify import ShopifyConnector
from flows import engine
from tests.flow_helpers import (CHECKOUT_CUSTOMER, DAY, HOUR, MINUTE, SAMPLE_TIME, at,
                                checkout_sample, consent_update, enable, messages, move_to, runs,
                                timeline)
from tests.helpers import API_SECRET, SHOP


def test_the_third_reminder_carries_a_code_made_for_this_customer(installed_shop, shopify,
                                                                  webhooks, run_jobs, smtp_sink):
    enable(installed_shop.id, "abandoned_checkout", discount_percent=15, discount_valid_days=7)
    with at(SAMPLE_TIME + 5 * MINUTE):
        webhooks.deliver("customers_email_marketing_consent/update",
                         consent_update(CHECKOUT_CUSTOMER, "john@example.com"), secret=API_SECRET)
        webhooks.deliver("checkouts/update", checkout_sample(), secret=API_SECRET)
        run_jobs()
    for hours in (1, 24, 72):
        move_to(SAMPLE_TIME + hours * HOUR, run_jobs)

    [discount] = shopify.discounts[SHOP]
    code = discount["code"]
    email_3 = [m for m in messages() if m.step == "email_3"][0]
    assert email_3.status == "sent"
    body = smtp_sink.to("john@example.com")[-1].get_body(("plain",)).get_content()
    assert code in body
    assert discount["customerGets"]["value"] == {"percentage": 0.15}
    assert discount["context"] == {"customers": {"add": [f"gid://shopify/Customer/{CHECKOUT_CUSTOMER}"]}}
    assert (discount["usageLimit"], discount["appliesOncePerCustomer"]) == (1, True)
    ends = datetime.fromisoformat(discount["endsAt"]) - datetime.fromisoformat(discount["startsAt"])
    assert ends == 7 * DAY
    # The discount block shows the code's percent and its last day, as the store made them.
    last = datetime.fromisoformat(discount["endsAt"]).date()
    shown = f"{last:%B} {last.day}, {last.year}"
    assert f"Your code: {code} (15% off), valid until {shown}" in body
    html = smtp_sink.to("john@example.com")[-1].get_body(("html",)).get_content()
    assert f"Your code · 15% off · valid until {shown}" in html


def test_without_the_discount_scope_the_email_goes_without_a_code(shop, shopify, webhooks,
                                                                  run_jobs, smtp_sink):
    # A custom app installed with read scopes only: Shopify denies the mutation.
    shopify.missing_scopes[SHOP].add("write_discounts")
    enable(shop.id, "abandoned_checkout")
    with at(SAMPLE_TIME + 5 * MINUTE):
        webhooks.deliver("customers_email_marketing_consent/update",
                         consent_update(CHECKOUT_CUSTOMER, "john@example.com"))
        webhooks.deliver("checkouts/update", checkout_sample())
        run_jobs()
    for hours in (1, 24, 72):
        move_to(SAMPLE_TIME + hours * HOUR, run_jobs)

    assert [(m.step, m.status) for m in messages()] == [
        ("email_1", "sent"), ("email_2", "sent"), ("email_3", "sent")]
    assert shopify.discounts[SHOP] == []
    [(step, detail)] = [(step, detail) for kind, step, detail in timeline(shop.id, "john@example.com")
                        if kind == "skipped"]
    assert step == "discount" and detail.startswith("the store refused the code")


def reach_the_code_step(shop, webhooks, run_jobs) -> int:
    """A checkout abandoned by a subscriber, its first two reminders sent: the run is due at
    its discount step (72 hours in). Its id."""
    enable(shop.id, "abandoned_checkout", discount_percent=15, discount_valid_days=7)
    with at(SAMPLE_TIME + 5 * MINUTE):
        webhooks.deliver("customers_email_marketing_consent/update",
                         consent_update(CHECKOUT_CUSTOMER, "john@example.com"))
        webhooks.deliver("checkouts/update", checkout_sample())
        run_jobs()
    for hours in (1, 24):
        move_to(SAMPLE_TIME + hours * HOUR, run_jobs)
    [run] = runs()
    return run.id


def test_the_platform_makes_the_code_while_the_run_is_not_locked(shop, shopify, webhooks,
                                                                 run_jobs, smtp_sink, monkeypatch):
    """A platform call may take seconds (retries, throttling): the run's row must not be locked
    meanwhile, or every event about the customer waits for it."""
    run_id = reach_the_code_step(shop, webhooks, run_jobs)
    create = ShopifyConnector.create_discount
    seen = []

    def checking_the_lock(self, store, **terms):
        with db.engine.connect() as other:
            try:
                other.execute(select(FlowRun.id).where(FlowRun.id == run_id)
                              .with_for_update(nowait=True))
                seen.append("unlocked")
            except OperationalError:
                seen.append("locked")
        return create(self, store, **terms)

    monkeypatch.setattr(ShopifyConnector, "create_discount", checking_the_lock)
    move_to(SAMPLE_TIME + 72 * HOUR, run_jobs)

    assert seen == ["unlocked"]
    [discount] = shopify.discounts[SHOP]
    email_3 = [m for m in messages() if m.step == "email_3"][0]
    assert email_3.context["discount_code"] == discount["code"] and email_3.status == "sent"


def test_a_retried_step_asks_for_the_same_code_so_the_store_makes_one(
        shop, shopify, webhooks, run_jobs, smtp_sink, monkeypatch):
    """The step job dies after the platform made the code, before its answer is stored: the
    retry asks for the same code, which the store refuses as taken; the email goes without it."""
    run_id = reach_the_code_step(shop, webhooks, run_jobs)
    due = (SAMPLE_TIME + 72 * HOUR).isoformat()
    keep_answer = engine.keep_answer

    def worker_died(*args):
        raise ConnectionError("the database went away")

    monkeypatch.setattr(engine, "keep_answer", worker_died)
    with at(SAMPLE_TIME + 72 * HOUR), pytest.raises(ConnectionError):
        engine.advance(run_id, due)
    monkeypatch.setattr(engine, "keep_answer", keep_answer)
    with at(SAMPLE_TIME + 72 * HOUR):
        assert engine.advance(run_id, due) == "completed"
        run_jobs()

    assert len(shopify.discounts[SHOP]) == 1
    assert [c for c in shopify.calls if c[1] == "discountCodeBasicCreate"] == [
        (SHOP, "discountCodeBasicCreate")] * 2
    email_3 = [m for m in messages() if m.step == "email_3"][0]
    assert "discount_code" not in email_3.context and email_3.status == "sent"
    assert ("skipped", "discount") in [(kind, step) for kind, step, _ in
                                      timeline(shop.id, "john@example.com")]

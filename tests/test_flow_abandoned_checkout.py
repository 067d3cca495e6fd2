"""Abandoned checkout through the real path: signed webhooks, a real worker, real SMTP, and
time moved the way `storeflow tick --at` moves it."""
from __future__ import annotations

import concurrent.futures
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from app.core import stores
from app.core.db import db
from app.mail import guards
from app.models import Checkout, TimelineEntry
from flows import engine, rules
from tests.flow_helpers import (CHECKOUT_CUSTOMER, HOUR, MINUTE, SAMPLE_TIME, at, checkout_sample,
                                consent_update, enable, messages, move_to, order_sample,
                                run_context, runs, timeline)
from tests.helpers import work

RECIPIENT = "john@example.com"  # the published checkout's customer, as checkout_sample() types it


def abandon(shop, webhooks, run_jobs, *, subscribed=True, updated=SAMPLE_TIME, when=None,
            consent=None, **checkout):
    """A consenting shopper abandons the published sample checkout; delivered at `when`.
    `consent` changes the consent update's fields (`state`, `level`), `checkout` the
    checkout's."""
    with at(when or updated + 5 * MINUTE):
        if subscribed:
            webhooks.deliver("customers_email_marketing_consent/update", consent_update(
                CHECKOUT_CUSTOMER, "john@example.com", **(consent or {})))
        assert webhooks.deliver("checkouts/update",
                                checkout_sample(updated, **checkout)).status_code == 200
        run_jobs()


def test_three_reminders_at_one_hour_one_day_three_days(shop, webhooks, run_jobs, smtp_sink):
    enable(shop.id, "abandoned_checkout")
    abandon(shop, webhooks, run_jobs)

    move_to(SAMPLE_TIME + 59 * MINUTE, run_jobs)
    assert smtp_sink.received == []
    move_to(SAMPLE_TIME + HOUR, run_jobs)
    move_to(SAMPLE_TIME + 24 * HOUR, run_jobs)
    move_to(SAMPLE_TIME + 72 * HOUR, run_jobs)
    move_to(SAMPLE_TIME + 200 * HOUR, run_jobs)

    sent = smtp_sink.to(RECIPIENT)
    assert [m["Subject"] for m in sent] == [
        m.subject for m in messages("abandoned_checkout")]
    assert [m.step for m in messages()] == ["email_1", "email_2", "email_3"]
    # The last reminder carries a single-use code the store made (discountCodeBasicCreate).
    code = messages()[2].context["discount_code"]
    assert code.startswith("SF-") and code in sent[2].get_body(("plain",)).get_content()
    assert all(m.status == "sent" for m in messages())
    [run] = runs()
    assert run.status == "completed"
    kinds = [kind for kind, _, _ in timeline(shop.id, "john@example.com")]
    assert kinds[0] == "enrolled" and kinds.count("sent") == 3 and kinds[-1] == "completed"


@pytest.mark.parametrize("discount", [True, False])
def test_the_discount_step_follows_the_merchants_switch(discount, shop, webhooks, run_jobs):
    """The condition is made afresh here, as a flow defining it would make it."""
    enable(shop.id, "abandoned_checkout", discount=discount)
    abandon(shop, webhooks, run_jobs)
    [run] = runs()

    with run_context(run) as ctx:
        assert rules.setting_on("discount")(ctx) is discount


def test_an_order_a_minute_before_the_reminder_is_due_means_no_email(
        shop, webhooks, run_jobs, smtp_sink):
    enable(shop.id, "abandoned_checkout")
    abandon(shop, webhooks, run_jobs)

    with at(SAMPLE_TIME + 59 * MINUTE):
        order = order_sample(SAMPLE_TIME + 58 * MINUTE, checkout_token="123123123")
        webhooks.deliver("orders/create", order)
        run_jobs()
    move_to(SAMPLE_TIME + HOUR, run_jobs)
    move_to(SAMPLE_TIME + 100 * HOUR, run_jobs)

    assert smtp_sink.received == []
    assert messages() == []
    [run] = runs()
    assert (run.status, run.outcome) == ("exited", "ordered")
    assert ("exited", None, "ordered") in timeline(shop.id, "john@example.com")


@pytest.mark.parametrize("placed, emailed", [
    (-timedelta(seconds=1), True), (timedelta(0), False), (timedelta(seconds=1), False),
], ids=["a second before", "at that instant", "a second after"])
def test_an_order_placed_from_the_instant_of_abandoning_means_no_email(
        placed, emailed, shop, webhooks, run_jobs, smtp_sink):
    """An order of theirs not placed through this checkout (another tab, another device) counts
    from the very instant the checkout was abandoned; one from before is an earlier purchase."""
    enable(shop.id, "abandoned_checkout")
    abandon(shop, webhooks, run_jobs)
    with at(SAMPLE_TIME + 30 * MINUTE):
        webhooks.deliver("orders/create", order_sample(
            SAMPLE_TIME + placed, customer={"id": CHECKOUT_CUSTOMER, "email": "john@example.com"}))
        run_jobs()
    move_to(SAMPLE_TIME + HOUR, run_jobs)

    assert len(smtp_sink.to(RECIPIENT)) == (1 if emailed else 0)
    assert runs()[0].outcome == (None if emailed else "ordered")


def test_a_guest_order_with_their_address_means_no_email(shop, webhooks, run_jobs, smtp_sink):
    """They bought without signing in: the order names their address, not their account."""
    enable(shop.id, "abandoned_checkout")
    abandon(shop, webhooks, run_jobs)
    with at(SAMPLE_TIME + 30 * MINUTE):
        webhooks.deliver("orders/create", order_sample(
            SAMPLE_TIME + 20 * MINUTE, customer=None, email="john@example.com",
            contact_email="john@example.com"))
        run_jobs()
    move_to(SAMPLE_TIME + HOUR, run_jobs)

    assert smtp_sink.received == []
    assert runs()[0].outcome == "ordered"


OTHER_SHOP, OTHER_SECRET = "other-shop.myshopify.com", "other-shop-webhook-secret"


@pytest.mark.parametrize("order", [
    {},  # the sample order is John's, with his address, under his account in that store
    {"checkout_token": "123123123", "customer": None, "email": "ana@example.com",
     "contact_email": "ana@example.com"},
], ids=["by the same shopper", "with this checkout's token"])
def test_an_order_in_another_store_does_not_stop_this_stores_reminder(
        order, shop, shopify, webhooks, run_jobs, smtp_sink):
    """What John buys elsewhere is no purchase from this store; and a checkout token names a
    checkout in its own store only."""
    with db.session() as session:
        stores.connect(session, "shopify", OTHER_SHOP, access_token=shopify.issue_token(OTHER_SHOP),
                       webhook_secret=OTHER_SECRET)
    enable(shop.id, "abandoned_checkout")
    abandon(shop, webhooks, run_jobs)
    with at(SAMPLE_TIME + 30 * MINUTE):
        webhooks.deliver("orders/create", order_sample(SAMPLE_TIME + 20 * MINUTE, **order),
                         shop=OTHER_SHOP, secret=OTHER_SECRET)
        run_jobs()
    move_to(SAMPLE_TIME + HOUR, run_jobs)

    assert len(smtp_sink.to(RECIPIENT)) == 1
    assert runs()[0].outcome is None


def test_a_checkout_reported_completed_before_its_order_arrives_stops_the_reminders(
        shop, webhooks, run_jobs, smtp_sink):
    enable(shop.id, "abandoned_checkout")
    abandon(shop, webhooks, run_jobs)
    completed = SAMPLE_TIME + 20 * MINUTE
    with at(completed + MINUTE):
        webhooks.deliver("checkouts/update",
                         checkout_sample(completed, completed_at=completed.isoformat()))
        run_jobs()
    move_to(SAMPLE_TIME + 100 * HOUR, run_jobs)  # every reminder due; the order never came

    assert smtp_sink.received == []
    [run] = runs()
    assert (run.status, run.outcome) == ("exited", "checkout completed")


@pytest.mark.parametrize("read_with_the_guards", [True, False])
def test_an_order_stored_after_the_send_was_queued_still_stops_it(shop, webhooks, run_jobs,
                                                                   smtp_sink, monkeypatch,
                                                                   read_with_the_guards):
    # The send guard re-checks the run whether its context came with the guards' reads (as
    # app.wiring has it) or not (read by the guard itself).
    if not read_with_the_guards:
        monkeypatch.setattr(guards, "_readers", [])
    enable(shop.id, "abandoned_checkout")
    abandon(shop, webhooks, run_jobs)
    with at(SAMPLE_TIME + HOUR):
        engine.tick(SAMPLE_TIME + HOUR)
        # Only the flow step runs: the message is queued, its mail job still waits.
        work("flows")
        assert [m.status for m in messages()] == ["queued"]
        # An order completing this checkout arrives out of order, before the mail job runs.
        webhooks.deliver("orders/create", order_sample(SAMPLE_TIME - HOUR, checkout_token="123123123"))
        run_jobs()

    assert smtp_sink.received == []
    [message] = messages()
    assert (message.status, message.reason) == ("cancelled", "ordered")


def test_duplicate_deliveries_and_a_step_run_twice_send_one_email(shop, webhooks, run_jobs,
                                                                  smtp_sink):
    enable(shop.id, "abandoned_checkout")
    with at(SAMPLE_TIME + 5 * MINUTE):
        webhooks.deliver("customers_email_marketing_consent/update",
                         consent_update(CHECKOUT_CUSTOMER, "john@example.com"))
        body = checkout_sample()
        # Shopify retries: the same event three times, and the same checkout under new ids.
        event_id = str(uuid.uuid4())
        deliveries = [event_id, event_id, event_id, str(uuid.uuid4())]
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda key: webhooks.deliver("checkouts/update", body, event_id=key),
                          deliveries))
        run_jobs()
    [run] = runs()

    with at(SAMPLE_TIME + HOUR):
        engine.advance(run.id, (SAMPLE_TIME + HOUR).isoformat())
        engine.advance(run.id, (SAMPLE_TIME + HOUR).isoformat())
        run_jobs()
    move_to(SAMPLE_TIME + HOUR, run_jobs)

    assert len(smtp_sink.to(RECIPIENT)) == 1
    assert len(messages()) == 1


def test_no_consent_no_enrollment_and_the_timeline_says_why(shop, webhooks, run_jobs, smtp_sink):
    enable(shop.id, "abandoned_checkout")
    abandon(shop, webhooks, run_jobs, subscribed=False)
    move_to(SAMPLE_TIME + 100 * HOUR, run_jobs)

    assert runs() == [] and smtp_sink.received == []
    assert ("not_enrolled", None, "no marketing consent") in timeline(shop.id, "john@example.com")


def test_consent_pending_double_opt_in_enrolls_no_one(shop, webhooks, run_jobs, smtp_sink):
    """Shopify holds a subscriber who has not clicked its confirmation link yet as `pending`."""
    enable(shop.id, "abandoned_checkout")
    abandon(shop, webhooks, run_jobs, consent={"state": "pending", "level": "confirmed_opt_in"})
    move_to(SAMPLE_TIME + 100 * HOUR, run_jobs)

    assert runs() == [] and smtp_sink.received == []
    assert ("not_enrolled", None, "no marketing consent") in timeline(shop.id, "john@example.com")


def test_a_checkout_with_no_email_address_enrolls_no_one_and_says_why(shop, webhooks, run_jobs,
                                                                     smtp_sink):
    """A shopper signed in with a phone number only, who typed no address at checkout."""
    enable(shop.id, "abandoned_checkout")
    phone_only = dict(checkout_sample()["customer"], email=None)
    abandon(shop, webhooks, run_jobs, subscribed=False, email=None, customer=phone_only)
    move_to(SAMPLE_TIME + 100 * HOUR, run_jobs)

    assert runs() == [] and smtp_sink.received == []
    with db.session() as session:
        decisions = session.execute(select(TimelineEntry.kind, TimelineEntry.detail)).all()
    assert decisions == [("not_enrolled", "no email address")]


def test_an_empty_checkout_starts_no_reminder_and_the_timeline_says_why(shop, webhooks, run_jobs,
                                                                       smtp_sink):
    """The shopper emptied the checkout before leaving: there is nothing to remind them of."""
    enable(shop.id, "abandoned_checkout")
    abandon(shop, webhooks, run_jobs, line_items=[])
    move_to(SAMPLE_TIME + 100 * HOUR, run_jobs)

    assert runs() == [] and smtp_sink.received == []
    assert ("not_enrolled", None, "empty cart") in timeline(shop.id, RECIPIENT)


def test_an_unsubscribe_one_second_before_the_send_stops_it(shop, webhooks, run_jobs, smtp_sink):
    from app.mail import outbox

    enable(shop.id, "abandoned_checkout")
    abandon(shop, webhooks, run_jobs)
    with at(SAMPLE_TIME + HOUR - MINUTE / 60):
        outbox.suppress(shop.id, RECIPIENT, "unsubscribed")
    move_to(SAMPLE_TIME + HOUR, run_jobs)

    assert smtp_sink.received == []
    [run] = runs()
    assert (run.status, run.outcome) == ("exited", "suppressed: unsubscribed")


def test_a_checkout_abandoned_a_week_before_it_reaches_us_enrolls_no_one(shop, webhooks, run_jobs):
    enable(shop.id, "abandoned_checkout")
    abandon(shop, webhooks, run_jobs, when=SAMPLE_TIME + 8 * 24 * HOUR)

    assert runs() == []
    assert ("not_enrolled", None, "stale: the activity is too old to matter") in timeline(
        shop.id, "john@example.com")


def test_editing_a_flow_keeps_runs_under_way_on_their_settings(shop, webhooks, run_jobs,
                                                               smtp_sink):
    enable(shop.id, "abandoned_checkout")
    abandon(shop, webhooks, run_jobs)
    enable(shop.id, "abandoned_checkout", email_1_delay_hours=5)

    move_to(SAMPLE_TIME + HOUR, run_jobs)

    assert len(smtp_sink.to(RECIPIENT)) == 1


def test_switching_a_flow_off_stops_its_runs(shop, webhooks, run_jobs, smtp_sink):
    from app.core.db import db
    from flows import catalog, choices

    enable(shop.id, "abandoned_checkout")
    abandon(shop, webhooks, run_jobs)
    with db.session() as session:
        choices.save(session, shop.id, catalog.FLOWS["abandoned_checkout"], actor="test",
                    enabled=False)
    move_to(SAMPLE_TIME + HOUR, run_jobs)

    assert smtp_sink.received == []
    assert runs()[0].outcome == "flow switched off"


def test_a_held_out_customer_gets_nothing_but_is_counted(shop, webhooks, run_jobs, smtp_sink):
    enable(shop.id, "abandoned_checkout", holdout_percent=99)  # the most allowed; John is in it
    abandon(shop, webhooks, run_jobs)
    for hours in (1, 24, 72):
        move_to(SAMPLE_TIME + hours * HOUR, run_jobs)

    assert smtp_sink.received == [] and messages() == []
    [run] = runs()
    assert run.holdout and run.status == "completed"
    entries = timeline(shop.id, "john@example.com")
    assert entries[0][0] == "held_out"
    assert [step for kind, step, _ in entries if kind == "skipped"] == ["email_1", "email_2", "email_3"]


def test_a_merchant_subject_and_message_are_used_and_cannot_reach_the_application(
        shop, webhooks, run_jobs, smtp_sink):
    from flows import catalog, choices

    with_subject = {"email_1_subject": "{{ first_name or 'Hi' }}, your {{ store_name }} cart",
                    "email_1_message": "We set your cart aside at {{ store_name }} <3\n\n"
                                       "Questions? Just reply."}
    enable(shop.id, "abandoned_checkout", **with_subject)
    abandon(shop, webhooks, run_jobs)
    move_to(SAMPLE_TIME + HOUR, run_jobs)

    [mail] = smtp_sink.to(RECIPIENT)
    # The consent update created this customer without a name; the merchant's fallback shows.
    assert mail["Subject"] == f"Hi, your {shop.domain} cart"
    # The merchant's message replaces the opening paragraph, in both parts, escaped in HTML.
    html = mail.get_body(("html",)).get_content()
    text = mail.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert f"We set your cart aside at {shop.domain} &lt;3</p>" in html
    assert "Questions? Just reply.</p>" in html and "so we saved your cart" not in html
    assert f"We set your cart aside at {shop.domain} <3\n\nQuestions? Just reply." in text
    assert "so we saved your cart" not in text
    # A sandbox escape, and texts that would make a worker build gigabytes or loop for hours.
    refused = ["{{ ''.__class__.__mro__[1].__subclasses__() }}", "{{ 'x' * 10**9 }}",
               "{{ '%0999999999d' % 1 }}", "{{ first_name.center(999999999) }}",
               "{% for a in store_name %}{% for b in store_name %}x{% endfor %}{% endfor %}",
               "{{ store_name|center(999999999) }}"]
    for text in refused:
        for setting in ("email_2_subject", "email_2_message"):
            try:
                choices.validate(catalog.FLOWS["abandoned_checkout"], {setting: text})
            except choices.FlowSettingError as error:
                assert str(error).startswith(f"{setting}: ")
            else:
                raise AssertionError(f"{text!r} was accepted as {setting}")


def test_the_live_tick_hands_steps_due_before_the_next_tick_to_the_scheduler(
        shop, webhooks, run_jobs):
    from rq.registry import ScheduledJobRegistry

    from app.core import clock
    from app.jobs import broker

    enable(shop.id, "abandoned_checkout")
    now = clock.now().replace(microsecond=0)
    abandon(shop, webhooks, run_jobs, updated=now - HOUR + 10 * MINUTE / 60, when=now)
    [run] = runs()

    assert engine.live_tick() == 1 and engine.live_tick() == 0  # scheduled once, not twice
    registry = ScheduledJobRegistry(queue=broker.queue("flows"))
    assert registry.get_job_ids() == [f"flow-run-{run.id}"]
    # At its due time, to the second: not up to a tick interval late.
    assert registry.get_scheduled_time(f"flow-run-{run.id}") == run.due_at
    assert broker.queue("flows").count == 0


def test_the_timeline_speaks_of_the_checkout_and_the_email_not_of_row_ids(shop, webhooks,
                                                                         run_jobs):
    """What a merchant reads on the customer's page: the checkout's amount, not `checkout 4`;
    an email queued, not `message 25 queued`."""
    from tests.helpers import published

    enable(shop.id, "abandoned_checkout")
    abandon(shop, webhooks, run_jobs)
    move_to(SAMPLE_TIME + HOUR, run_jobs)
    entries = timeline(shop.id, "john@example.com")
    checkout = published("shopify/checkouts_create.json")
    assert entries[0] == ("enrolled", None,
                          f"checkout of {checkout['total_price']} {checkout['currency']}")
    assert ("sent", "email_1", "queued for sending") in entries


def test_a_checkout_run_ends_on_completion_or_removal_of_its_checkout(shop, webhooks, run_jobs):
    """The exit reasons the timeline shows: 'checkout completed', 'checkout removed'."""
    enable(shop.id, "abandoned_checkout")
    abandon(shop, webhooks, run_jobs)
    [run] = runs()
    with run_context(run) as ctx:
        assert rules.checkout_completed(ctx) is None
    with db.session() as session:
        session.execute(update(Checkout).values(completed_at=SAMPLE_TIME + MINUTE))
    with run_context(run) as ctx:
        assert rules.checkout_completed(ctx) == "checkout completed"
    with run_context(run, subject_id=0) as gone:
        assert rules.checkout_completed(gone) == "checkout removed"

"""The dry run before a flow is switched on: what it predicts from a store's history is what the
engine then really does with the same history."""
from __future__ import annotations

import re
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text

from app.core import clock, stores
from app.core.db import db
from app.demo import payloads
from app.demo.payloads import Item, Person
from app.jobs import QUEUES, broker
from app.models import Customer, FlowRun, Message, Store, Suppression, TimelineEntry
from flows import catalog, choices, execute
from flows.dryrun import dry_run
from tests.flow_helpers import (DAY, HOUR, MINUTE, SAMPLE_TIME, at, consent_update, enable,
                                messages, move_to)
from tests.ui_helpers import sign_in

MUG = Item(7001, "mug", "Stoneware mug", Decimal("24.00"), "https://example.com/mug.png")
NEVER_BUYS = Person(8801, "Ada", "Lane", "ada@example.com")
BUYS_AT_ONCE = Person(8802, "Ben", "Moss", "ben@example.com")
BUYS_LATER = Person(8803, "Cy", "North", "cy@example.com")
NO_CONSENT = Person(8804, "Di", "Oak", "di@example.com")


def play_history(webhooks, run_jobs, completing: bool = False,
                 through_checkout: bool = False) -> None:
    """Four shoppers abandon a checkout at the same moment; one buys within the hour, one two
    days later, one never; one never agreed to marketing. Then ten days pass. `completing`: the
    platform also reports the buyers' checkouts completed when they order; `through_checkout`:
    their orders name the checkout they completed."""
    for n, person in enumerate((NEVER_BUYS, BUYS_AT_ONCE, BUYS_LATER, NO_CONSENT)):
        with at(SAMPLE_TIME + MINUTE):
            if person is not NO_CONSENT:
                webhooks.deliver("customers_email_marketing_consent/update",
                                 consent_update(person.id, person.email))
            webhooks.deliver("checkouts/update", payloads.checkout(
                f"tok-{n}", person, [(MUG, 1)], SAMPLE_TIME, "https://shop.example/recover"))
            run_jobs()
    orders = {30 * MINUTE: (9901, BUYS_AT_ONCE, 1), 2 * DAY: (9902, BUYS_LATER, 2)}
    for offset in sorted([*orders, HOUR, 24 * HOUR, 72 * HOUR, 10 * DAY]):
        if offset in orders:
            order_id, person, n = orders[offset]
            with at(SAMPLE_TIME + offset):
                webhooks.deliver("orders/create", payloads.order(
                    order_id, order_id, person, [(MUG, 1)], SAMPLE_TIME + offset,
                    checkout_token=f"tok-{n}" if through_checkout else None))
                if completing:
                    done = payloads.checkout(f"tok-{n}", person, [(MUG, 1)], SAMPLE_TIME + offset,
                                             "https://shop.example/recover")
                    done.update(created_at=SAMPLE_TIME.isoformat(),
                                completed_at=(SAMPLE_TIME + offset).isoformat())
                    webhooks.deliver("checkouts/update", done)
                run_jobs()
        move_to(SAMPLE_TIME + offset, run_jobs)


def subscriber_orders_twice(webhooks, run_jobs, apart) -> None:
    """A subscriber's first order at the sample time, and a second `apart` later."""
    with at(SAMPLE_TIME):
        webhooks.deliver("customers_email_marketing_consent/update",
                         consent_update(NEVER_BUYS.id, NEVER_BUYS.email))
    for order_id, placed in ((9904, SAMPLE_TIME), (9905, SAMPLE_TIME + apart)):
        with at(placed):
            webhooks.deliver("orders/create", payloads.order(order_id, order_id, NEVER_BUYS,
                                                             [(MUG, 1)], placed))
            run_jobs()


def predict(store_id: int, until, flow_name: str = "abandoned_checkout"):
    with db.session() as session:
        flow = catalog.FLOWS[flow_name]
        settings = choices.effective(session, store_id, flow)[1]
        return dry_run(session, session.get(Store, store_id), flow, settings, until)


def test_the_dry_run_predicts_what_the_flow_then_sends(shop, webhooks, run_jobs, smtp_sink):
    enable(shop.id, "abandoned_checkout")
    play_history(webhooks, run_jobs)
    sent = messages("abandoned_checkout")
    assert {m.email for m in sent} == {NEVER_BUYS.email, BUYS_LATER.email}

    with clock.frozen_at(SAMPLE_TIME + 10 * DAY):
        report = predict(shop.id, SAMPLE_TIME + 10 * DAY)

    assert report.triggers == 4
    assert report.emails == len(sent) == 5  # three reminders, and two before the later order
    assert len(report.emailed) == 2
    assert len(report.bought_anyway) == 1  # the customer who bought two days later
    assert report.stopped == {"ordered": 2, "no marketing consent": 1}


@pytest.mark.parametrize("reported", [{"completing": True}, {"through_checkout": True}],
                         ids=["by the checkout", "by the order"])
def test_checkouts_completed_by_an_order_replay_from_when_they_were_abandoned(
        reported, shop, webhooks, run_jobs, smtp_sink):
    """Each reminder is judged as of its own moment: the order two days later stopped neither
    the first nor the second."""
    enable(shop.id, "abandoned_checkout")
    play_history(webhooks, run_jobs, **reported)
    sent = messages("abandoned_checkout")

    report = predict(shop.id, SAMPLE_TIME + 10 * DAY)

    assert report.emails == len(sent) == 5
    assert (len(report.emailed), len(report.bought_anyway)) == (2, 1)


def test_a_dry_run_of_a_flow_that_is_off_sends_and_stores_nothing(shop, webhooks, run_jobs,
                                                                  smtp_sink):
    play_history(webhooks, run_jobs)  # the flow stays off, as it is before a merchant decides

    report = predict(shop.id, SAMPLE_TIME + 10 * DAY)

    assert (len(report.emailed), len(report.bought_anyway), report.emails) == (2, 1, 5)
    assert messages() == [] and smtp_sink.received == []


def test_the_window_ends_the_replay(shop, webhooks, run_jobs):
    play_history(webhooks, run_jobs)

    # Thirty hours after the abandonment: the first two reminders had gone to both, the order
    # two days later had not been placed, the third reminder was not due.
    report = predict(shop.id, SAMPLE_TIME + 30 * HOUR)

    assert (len(report.emailed), report.emails, len(report.bought_anyway)) == (2, 4, 0)


def test_the_flows_page_offers_the_dry_run_and_it_shows_reach_and_reasons(
        client, shop, webhooks, run_jobs, storeflow):
    play_history(webhooks, run_jobs)
    csrf = sign_in(client, storeflow, shop.id)

    flows_page = client.get("/app/flows").get_data(as_text=True)
    assert "/app/flows/abandoned_checkout/dry-run" in flows_page
    with at(SAMPLE_TIME + 10 * DAY):
        # A worker replays the history; until it is done the page says so and refreshes.
        for _ in range(2):
            waiting = client.get("/app/flows/abandoned_checkout/dry-run")
            assert waiting.status_code == 202 and b"Replaying the last 30 days" in waiting.data
        assert broker.queue("sync").count == 1  # asked twice, replayed once
        run_jobs()
        page = client.get("/app/flows/abandoned_checkout/dry-run")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert re.search(r"data-emailed>2<", html) and re.search(r"data-bought-anyway>1<", html)
    assert re.search(r"bought before the email was due</td><td class=\"num\">2<", html)
    assert messages() == []

    # Its button switches the flow on (the store has the postal address marketing mail needs),
    # and the card no longer offers the dry run.
    storeflow("settings", "set", "--store", shop.domain, "postal_address=12 Orchard Lane")
    client.post("/app/flows/abandoned_checkout/toggle", data={"enabled": "true", "csrf_token": csrf})
    with db.session() as session:
        assert choices.effective(session, shop.id, catalog.FLOWS["abandoned_checkout"])[0]
    assert "/app/flows/abandoned_checkout/dry-run" not in client.get("/app/flows").get_data(as_text=True)


def test_a_dry_run_counts_only_the_signed_in_stores_history(client, shop, webhooks, run_jobs,
                                                            storeflow):
    play_history(webhooks, run_jobs)
    with db.session() as session:
        other, _ = stores.connect(session, "woocommerce", "https://other.example",
                                  access_token="ck_x", webhook_secret="s")
    sign_in(client, storeflow, other.id)

    with at(SAMPLE_TIME + 10 * DAY):
        client.get("/app/flows/abandoned_checkout/dry-run")
        run_jobs()
        html = client.get("/app/flows/abandoned_checkout/dry-run").get_data(as_text=True)

    assert re.search(r"data-emailed>0<", html)
    assert client.get("/app/flows/no_such_flow/dry-run").status_code == 404


def test_storeflow_flows_dry_run_prints_the_same_estimate(shop, webhooks, run_jobs, storeflow):
    play_history(webhooks, run_jobs)

    result = storeflow("flows", "dry-run", "--store", str(shop.id), "--at",
                       (SAMPLE_TIME + 10 * DAY).isoformat(), "abandoned_checkout")

    assert ("abandoned_checkout: would have emailed 2 customer(s) (5 emails) over 30 days; "
            "1 of them later bought anyway") in result.output
    assert "not emailed, ordered: 2" in result.output
    unknown = storeflow("flows", "dry-run", "--store", str(shop.id), "nope", ok=False)
    assert unknown.exit_code == 2 and "no flow 'nope'" in unknown.output


def test_waiting_for_a_shipment_is_replayed_to_the_moment_it_shipped(shop, webhooks, run_jobs,
                                                                    smtp_sink):
    """Order updates: a note when the order has not shipped after a day, the shipping notice
    when it ships two days in. The dry run finds that moment in the history."""
    enable(shop.id, "order_updates")
    placed, ships = SAMPLE_TIME, SAMPLE_TIME + 2 * DAY
    with at(placed + MINUTE):
        webhooks.deliver("orders/create", payloads.order(9903, 1003, NEVER_BUYS, [(MUG, 1)], placed))
        run_jobs()
    move_to(placed + DAY, run_jobs)
    with at(ships):
        webhooks.deliver("fulfillments/create",
                         payloads.fulfillment(7703, 9903, ships, "1Z999AA10123456784"))
        run_jobs()
    move_to(SAMPLE_TIME + 10 * DAY, run_jobs)
    sent = [m.step for m in messages("order_updates")]
    assert sent == ["status_note", "shipped"]

    with db.session() as session:
        flow = catalog.FLOWS["order_updates"]
        report = dry_run(session, session.get(Store, shop.id), flow,
                         choices.effective(session, shop.id, flow)[1], SAMPLE_TIME + 10 * DAY)

    assert (report.emails, len(report.emailed)) == (len(sent), 1)
    # Replayed up to a day and a half, the shipment had not happened: only the note.
    with db.session() as session:
        early = dry_run(session, session.get(Store, shop.id), flow,
                        choices.effective(session, shop.id, flow)[1], SAMPLE_TIME + 36 * HOUR)
    assert early.emails == 1


def test_a_lapse_is_replayed_as_of_its_day_even_if_the_customer_came_back_later(
        shop, webhooks, run_jobs):
    subscriber_orders_twice(webhooks, run_jobs, 100 * DAY)

    with db.session() as session:
        flow = catalog.FLOWS["win_back"]
        report = dry_run(session, session.get(Store, shop.id), flow,
                         choices.effective(session, shop.id, flow)[1], SAMPLE_TIME + 110 * DAY)

    # Lapsed on day 90 (the reminder), back on day 100: emailed, and bought anyway.
    assert (len(report.emailed), len(report.bought_anyway)) == (1, 1)


def test_a_replay_that_did_not_finish_says_so_and_can_be_tried_again(
        client, shop, webhooks, run_jobs, storeflow, monkeypatch):
    play_history(webhooks, run_jobs)
    csrf = sign_in(client, storeflow, shop.id)

    def worker_stopped(*args, **kwargs):
        raise TimeoutError("the job took too long")

    with at(SAMPLE_TIME + 10 * DAY):
        client.get("/app/flows/abandoned_checkout/dry-run")
        monkeypatch.setattr("flows.dryrun.dry_run", worker_stopped)
        run_jobs()
        failed = client.get("/app/flows/abandoned_checkout/dry-run")
        assert failed.status_code == 202 and b"The replay did not finish" in failed.data
        assert broker.queue("sync").count == 0  # not queued again by merely looking

        monkeypatch.undo()
        retried = client.post("/app/flows/abandoned_checkout/dry-run", data={"csrf_token": csrf})
        assert retried.status_code == 302
        run_jobs()
        done = client.get("/app/flows/abandoned_checkout/dry-run")
    assert done.status_code == 200 and re.search(r"data-emailed>2<", done.get_data(as_text=True))


def test_editing_an_email_text_does_not_replay_the_history_again(client, shop, storeflow):
    sign_in(client, storeflow, shop.id)
    client.get("/app/flows/abandoned_checkout/dry-run")
    with db.session() as session:
        choices.save(session, shop.id, catalog.FLOWS["abandoned_checkout"], actor="test",
                    changes={"email_1_subject": "Still there?"})
    client.get("/app/flows/abandoned_checkout/dry-run")
    assert broker.queue("sync").count == 1


def test_the_dry_run_walks_the_steps_of_the_live_engine(shop, webhooks, run_jobs, smtp_sink,
                                                       monkeypatch):
    """One step walk for both: a Send changed in flows.execute (here, one that skips the
    second reminder) changes what the flow sends and what the dry run predicts alike."""
    send = execute._send

    def second_reminder_skipped(ctx, flow, step):
        return execute.NEXT if step.template == "email_2" else send(ctx, flow, step)

    monkeypatch.setattr(execute, "_send", second_reminder_skipped)
    enable(shop.id, "abandoned_checkout")
    play_history(webhooks, run_jobs)
    sent = messages("abandoned_checkout")

    report = predict(shop.id, SAMPLE_TIME + 10 * DAY)

    assert "email_2" not in {m.step for m in sent}
    assert report.emails == len(sent) == 3


def test_a_dry_run_keeps_no_lock_for_the_runs_it_replayed(shop, shopify, webhooks, run_jobs):
    """Each run's savepoint is rolled back and released: one left open nests the next run's
    inside it, each keeping a transaction-id lock, and a replay of a few thousand runs ran out of
    PostgreSQL's lock table. (The transaction's own id is the one lock left.)"""
    subscriber_orders_twice(webhooks, run_jobs, 10 * DAY)
    with db.session() as session:
        flow = catalog.FLOWS["first_repeat_purchase"]
        settings = choices.effective(session, shop.id, flow)[1]
        report = dry_run(session, session.get(Store, shop.id), flow, settings,
                         SAMPLE_TIME + 20 * DAY)
        held = session.execute(text("SELECT count(*) FROM pg_locks WHERE locktype = "
                                    "'transactionid' AND pid = pg_backend_pid()")).scalar()
    assert report.enrolled == 2 and held <= 1


def test_a_dry_run_with_codes_tags_and_points_leaves_the_store_as_it_was(shop, shopify,
                                                                         webhooks, run_jobs):
    """First and repeat purchase, off: a first order earns a code, the second a tag and points.
    The replay counts the code's email; no code is asked of the store, and nothing it walked
    through is kept (runs, messages, timeline, tags, points) or queued."""
    subscriber_orders_twice(webhooks, run_jobs, 10 * DAY)

    def the_store() -> tuple:
        with db.session() as session:
            counted = tuple(session.execute(select(func.count()).select_from(model)).scalar()
                            for model in (FlowRun, Message, TimelineEntry, Suppression))
            customer = session.execute(select(Customer.tags, Customer.score)).one()
        return counted, tuple(customer), [broker.queue(name).count for name in QUEUES]

    before = the_store()
    report = predict(shop.id, SAMPLE_TIME + 20 * DAY, "first_repeat_purchase")

    assert (report.enrolled, report.emails, len(report.bought_anyway)) == (2, 1, 1)
    assert the_store() == before
    assert "discountCodeBasicCreate" not in {call for _, call in shopify.calls}

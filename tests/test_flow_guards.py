"""The guards that keep flows polite: quiet hours in the recipient's time (across a DST change),
and the frequency cap that defers mail of equal or lower priority."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from app.core import stores
from app.core.db import db
from app.core.settings import parse_quiet_hours
from app.models import Customer, FlowRun, Message, Store
from flows import catalog, engine, guards
from flows.localtime import next_allowed, recipient_zone
from tests.flow_helpers import (CHECKOUT_CUSTOMER, DAY, HOUR, MINUTE, SAMPLE_TIME, Person, at,
                                checkout_sample, consent_update, enable, messages, move_to,
                                order_sample, run_context, shopper_abandons, timeline)
from tests.helpers import work

NEW_YORK = ZoneInfo("America/New_York")
UTC = timezone.utc
# 07:00 UTC on 13 March 2022 is 03:00 in New York, one hour after clocks sprang forward.
AFTER_SPRING_FORWARD = datetime(2022, 3, 13, 7, 0, tzinfo=UTC)


def test_a_send_due_at_three_in_the_morning_waits_for_eight_across_dst():
    quiet = parse_quiet_hours("21:00-08:00")

    allowed = next_allowed(AFTER_SPRING_FORWARD, NEW_YORK, quiet)

    # 08:00 EDT (UTC-4), not 08:00 EST (UTC-5): the offset of the day the send goes out.
    assert allowed == datetime(2022, 3, 13, 12, 0, tzinfo=timezone.utc)
    assert next_allowed(allowed, NEW_YORK, quiet) == allowed


def in_new_york(wall_clock: str) -> datetime:
    return datetime.fromisoformat(wall_clock).replace(tzinfo=NEW_YORK)


@pytest.mark.parametrize("hours, due, goes", [
    # 21:00-08:00 spans midnight: held from 21:00 sharp until 08:00 sharp.
    ("21:00-08:00", "2022-01-10 20:59:59", "2022-01-10 20:59:59"),
    ("21:00-08:00", "2022-01-10 21:00", "2022-01-11 08:00"),
    ("21:00-08:00", "2022-01-10 22:00", "2022-01-11 08:00"),
    ("21:00-08:00", "2022-01-10 23:59:59", "2022-01-11 08:00"),
    ("21:00-08:00", "2022-01-11 00:00", "2022-01-11 08:00"),
    ("21:00-08:00", "2022-01-11 07:59:59", "2022-01-11 08:00"),
    ("21:00-08:00", "2022-01-11 08:00", "2022-01-11 08:00"),
    ("21:00-08:00", "2022-01-11 12:00", "2022-01-11 12:00"),
    # A window within one day.
    ("00:00-07:00", "2022-01-10 23:59:59", "2022-01-10 23:59:59"),
    ("00:00-07:00", "2022-01-11 00:00", "2022-01-11 07:00"),
    ("00:00-07:00", "2022-01-11 03:00", "2022-01-11 07:00"),
    ("00:00-07:00", "2022-01-11 06:59:59", "2022-01-11 07:00"),
    ("00:00-07:00", "2022-01-11 07:00", "2022-01-11 07:00"),
    # An empty window holds nothing back.
    ("09:00-09:00", "2022-01-11 09:00", "2022-01-11 09:00"),
    ("09:00-09:00", "2022-01-11 22:00", "2022-01-11 22:00"),
])
def test_quiet_hours_hold_a_send_until_the_window_ends(hours, due, goes):
    assert next_allowed(in_new_york(due), NEW_YORK, parse_quiet_hours(hours)) == in_new_york(goes)


@pytest.mark.parametrize("due, goes", [
    # 22:00 EST the night before clocks spring forward: 08:00 EDT (UTC-4).
    (datetime(2022, 3, 13, 3, 0, tzinfo=UTC), datetime(2022, 3, 13, 12, 0, tzinfo=UTC)),
    # 22:00 EDT the night before clocks fall back: 08:00 EST (UTC-5).
    (datetime(2022, 11, 6, 2, 0, tzinfo=UTC), datetime(2022, 11, 6, 13, 0, tzinfo=UTC)),
    # 01:30 EDT, the first of the two 01:30s of the night clocks fall back.
    (datetime(2022, 11, 6, 5, 30, tzinfo=UTC), datetime(2022, 11, 6, 13, 0, tzinfo=UTC)),
], ids=["spring forward", "fall back", "fall back, inside the repeated hour"])
def test_a_send_held_overnight_goes_at_eight_by_the_clock_of_the_morning_it_goes(due, goes):
    assert next_allowed(due, NEW_YORK, parse_quiet_hours("21:00-08:00")) == goes


def test_quiet_hours_use_the_customer_country_when_it_has_one_zone():
    assert recipient_zone("JP", "America/New_York") == ZoneInfo("Asia/Tokyo")
    # Canada spans six zones: the store's own zone is the better guess.
    assert recipient_zone("CA", "America/New_York") == NEW_YORK


@pytest.mark.parametrize("country", [None, "", "ZZ"], ids=["none", "empty", "not a country"])
def test_quiet_hours_use_the_stores_zone_for_a_shopper_of_unknown_country(country):
    assert recipient_zone(country, "America/New_York") == NEW_YORK


def test_a_held_send_is_timed_in_utc_whatever_the_servers_own_zone(monkeypatch):
    """The timeline shows when a held send goes; the server's zone must not leak into it."""
    import time

    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        allowed = next_allowed(AFTER_SPRING_FORWARD, NEW_YORK, parse_quiet_hours("21:00-08:00"))
    finally:
        monkeypatch.undo()
        time.tzset()

    assert allowed.isoformat() == "2022-03-13T12:00:00+00:00"


def test_the_engine_defers_a_night_time_reminder_to_the_morning(shop, webhooks, run_jobs,
                                                                smtp_sink):
    with db.session() as session:
        session.get(Store, shop.id).settings = {"timezone": "America/New_York"}
    enable(shop.id, "abandoned_checkout", quiet_hours="21:00-08:00")
    abandoned = AFTER_SPRING_FORWARD - HOUR
    with at(abandoned + MINUTE):
        webhooks.deliver("customers_email_marketing_consent/update",
                         consent_update(CHECKOUT_CUSTOMER, "john@example.com"))
        webhooks.deliver("checkouts/update", checkout_sample(abandoned))
        run_jobs()

    move_to(AFTER_SPRING_FORWARD, run_jobs)
    assert smtp_sink.received == []
    move_to(datetime(2022, 3, 13, 12, 0, tzinfo=timezone.utc), run_jobs)

    assert len(smtp_sink.received) == 1
    assert ("deferred", "email_1", "quiet hours until 2022-03-13T12:00:00+00:00") in timeline(
        shop.id, "john@example.com")


def test_the_frequency_cap_defers_the_lower_priority_flow(shop, webhooks, run_jobs, smtp_sink):
    """A lapsed customer abandons a checkout: the checkout reminder goes; the win-back reminder
    due an hour later waits until the cap (16 h) has passed."""
    # Later checkout reminders far off, so only the cap stands between the two flows.
    enable(shop.id, "abandoned_checkout", "win_back", email_2_delay_hours=1000,
           email_3_delay_hours=2000)
    lapsed_order = SAMPLE_TIME - 90 * 24 * HOUR
    now = SAMPLE_TIME
    with at(now + MINUTE):
        # The shopper who abandons the checkout below placed the last order 90 days ago.
        lapsed = order_sample(lapsed_order, customer={"id": CHECKOUT_CUSTOMER,
                                                      "email": "john@example.com"})
        webhooks.deliver("orders/create", lapsed)
        webhooks.deliver("customers_email_marketing_consent/update",
                         consent_update(CHECKOUT_CUSTOMER, "john@example.com"))
        webhooks.deliver("checkouts/update", checkout_sample(now - HOUR))
        run_jobs()

    move_to(now + 2 * MINUTE, run_jobs)  # the checkout reminder went; win-back enrolls
    move_to(now + HOUR, run_jobs)
    assert [m.flow for m in messages()] == ["abandoned_checkout"]
    move_to(now + 16 * HOUR + 2 * MINUTE, run_jobs)

    assert [m.flow for m in messages() if m.status == "sent"] == ["abandoned_checkout", "win_back"]
    reminder = [m for m in messages("win_back")][0]
    assert reminder.created_at >= now + 16 * HOUR
    assert any(kind == "deferred" and detail.startswith("frequency cap")
               for kind, _, detail in timeline(shop.id, "john@example.com"))


@pytest.mark.parametrize("due, goes", [
    # 22:00 in Tokyo (08:00 in New York): the reminder waits for 08:00 in Tokyo.
    (datetime(2022, 1, 10, 13, 0, tzinfo=UTC), datetime(2022, 1, 10, 23, 0, tzinfo=UTC)),
    # 12:00 in Tokyo (22:00 in New York): it goes at once.
    (datetime(2022, 1, 10, 3, 0, tzinfo=UTC), datetime(2022, 1, 10, 3, 0, tzinfo=UTC)),
], ids=["night in Tokyo", "night in New York"])
def test_quiet_hours_are_the_shoppers_not_the_stores(due, goes, shop, webhooks, run_jobs,
                                                     smtp_sink):
    """A New York store, a shopper in Japan (a country of one time zone)."""
    with db.session() as session:
        session.get(Store, shop.id).settings = {"timezone": "America/New_York"}
    enable(shop.id, "abandoned_checkout", quiet_hours="21:00-08:00")
    in_japan = Person(CHECKOUT_CUSTOMER, "John", "Smith", "john@example.com", country="JP")
    shopper_abandons(webhooks, run_jobs, in_japan, due - HOUR)

    move_to(due, run_jobs)
    assert len(smtp_sink.received) == (1 if goes == due else 0)
    move_to(goes, run_jobs)
    assert len(smtp_sink.received) == 1


def subscribe_and_order(webhooks, run_jobs, placed):
    """The checkout sample's shopper subscribes and places the published order at `placed`."""
    with at(placed + MINUTE):
        webhooks.deliver("customers_email_marketing_consent/update",
                         consent_update(CHECKOUT_CUSTOMER, "john@example.com"))
        webhooks.deliver("orders/create", order_sample(
            placed, customer={"id": CHECKOUT_CUSTOMER, "email": "john@example.com"}))
        run_jobs()


def sent_flows() -> list[str]:
    return sorted(m.flow for m in messages() if m.status == "sent")


def test_mail_of_equal_priority_holds_the_next_back_until_the_cap_has_passed(
        shop, webhooks, run_jobs, smtp_sink):
    """The welcome goes as they subscribe; the thank-you for their order, due an hour later and
    of the same rank, waits until 16 hours after the welcome, and goes at that very moment."""
    enable(shop.id, "welcome", "post_purchase", double_opt_in=False)
    subscribe_and_order(webhooks, run_jobs, SAMPLE_TIME)
    [welcome] = messages()
    assert (welcome.flow, welcome.status) == ("welcome", "sent")

    move_to(SAMPLE_TIME + HOUR, run_jobs)
    assert sent_flows() == ["welcome"]
    assert ("deferred", "thank_you",
            f"frequency cap until {(welcome.created_at + 16 * HOUR).isoformat()}"
            ) in timeline(shop.id, "john@example.com")
    move_to(welcome.created_at + 16 * HOUR, run_jobs)

    assert sent_flows() == ["post_purchase", "welcome"]
    assert len(smtp_sink.received) == 2


def test_two_sends_released_by_quiet_hours_at_once_make_one_email(shop, webhooks, run_jobs,
                                                                  smtp_sink):
    """Subscribed and ordered at midnight: the welcome and the thank-you both wait for 08:00.
    Whichever step runs second finds the first one's mail still queued, and that counts."""
    enable(shop.id, "welcome", "post_purchase", quiet_hours="21:00-08:00", double_opt_in=False)
    subscribe_and_order(webhooks, run_jobs, SAMPLE_TIME)
    move_to(SAMPLE_TIME + HOUR, run_jobs)
    assert messages() == []
    eight = SAMPLE_TIME + 8 * HOUR

    with at(eight):
        assert engine.tick(eight) == 2
        work("flows")
        assert [m.status for m in messages()] == ["queued"]
        run_jobs()
    assert len(smtp_sink.received) == 1
    move_to(eight + DAY, run_jobs)  # the cap ends at midnight, in quiet hours: the next 08:00

    assert sent_flows() == ["post_purchase", "welcome"]
    assert len(smtp_sink.received) == 2


@pytest.mark.parametrize("status, counts", [
    ("queued", True), ("sending", True), ("sent", True), ("unknown", True),
    ("failed", False), ("cancelled", False),
])
def test_the_cap_counts_every_mail_that_may_reach_the_shopper(status, counts, shop, webhooks,
                                                               run_jobs, smtp_sink):
    """Mail waiting or on its way, or whose delivery is uncertain (the connection dropped
    mid-send), may reach them; mail that failed or was cancelled never will."""
    enable(shop.id, "welcome", "post_purchase", double_opt_in=False)
    subscribe_and_order(webhooks, run_jobs, SAMPLE_TIME)
    with db.session() as session:
        session.execute(update(Message).where(Message.flow == "welcome").values(status=status))

    move_to(SAMPLE_TIME + HOUR, run_jobs)

    assert [m.flow for m in messages("post_purchase")] == ([] if counts else ["post_purchase"])


def test_a_higher_priority_email_due_within_the_cap_goes_first(shop, webhooks, run_jobs,
                                                               smtp_sink):
    """A lapsed customer's win-back reminder is due now; the reminder for the checkout they
    abandoned is due in two hours. Sending the win-back now would push the checkout reminder back
    by the cap, so the win-back waits: the checkout reminder goes at its time and the win-back
    exactly one cap (16 h) after it."""
    enable(shop.id, "abandoned_checkout", "win_back", email_1_delay_hours=3,
           email_2_delay_hours=1000, email_3_delay_hours=2000)
    now = SAMPLE_TIME
    with at(now + MINUTE):
        webhooks.deliver("orders/create", order_sample(now - 90 * DAY, customer={
            "id": CHECKOUT_CUSTOMER, "email": "john@example.com"}))
        webhooks.deliver("customers_email_marketing_consent/update",
                         consent_update(CHECKOUT_CUSTOMER, "john@example.com"))
        webhooks.deliver("checkouts/update", checkout_sample(now - HOUR))  # reminder at now + 2 h
        run_jobs()
    checkout_reminder_due = now + 2 * HOUR
    win_back_goes = checkout_reminder_due + 16 * HOUR

    move_to(now + 2 * MINUTE, run_jobs)  # win-back enrolls, its reminder due at once
    assert messages() == []
    assert ("deferred", "reminder",
            f"a higher-priority flow goes first until {win_back_goes.isoformat()}"
            ) in timeline(shop.id, "john@example.com")
    move_to(checkout_reminder_due, run_jobs)
    assert sent_flows() == ["abandoned_checkout"]
    move_to(win_back_goes - MINUTE, run_jobs)
    assert sent_flows() == ["abandoned_checkout"]
    move_to(win_back_goes, run_jobs)

    assert sent_flows() == ["abandoned_checkout", "win_back"]
    assert len(smtp_sink.received) == 2


# --- the guards asked directly, about rows made for the question --------------------------

CAP = 16 * HOUR  # the default frequency cap
JOHN = "john@example.com"


def a_store(domain: str) -> int:
    with db.session() as session:
        store, _ = stores.connect(session, "shopify", domain, access_token="shpat_test",
                                  webhook_secret=None)
        return store.id


def a_shopper(store_id: int, email: str) -> int:
    with db.session() as session:
        row = Customer(store_id=store_id, email=email, tags=[])
        session.add(row)
        session.flush()
        return row.id


def a_run(store_id: int, customer_id: int, flow: str, due_at: datetime | None,
          **columns) -> FlowRun:
    with db.session() as session:
        run = FlowRun(store_id=store_id, flow=flow, version=catalog.FLOWS[flow].version,
                      customer_id=customer_id, subject="customer", subject_id=customer_id,
                      triggered_at=SAMPLE_TIME - DAY, anchor_at=SAMPLE_TIME - DAY,
                      due_at=due_at, settings={}, data={}, **columns)
        session.add(run)
        return run


def a_message(store_id: int, customer_id: int | None, email: str, flow: str,
              created_at: datetime, marketing: bool = True) -> None:
    with db.session() as session:
        session.add(Message(store_id=store_id, customer_id=customer_id, email=email, flow=flow,
                            template=f"{flow}/email", marketing=marketing, status="sent",
                            message_id=f"<{uuid.uuid4()}@storeflow.test>",
                            created_at=created_at, updated_at=created_at))


def guard_says(guard, run: FlowRun) -> guards.Deferral | None:
    """What `guard` answers for `run`'s send at SAMPLE_TIME."""
    with at(SAMPLE_TIME), run_context(run) as ctx:
        return guard(ctx, catalog.priority_of)


@pytest.fixture
def johns_thank_you(app):
    """John's thank-you for his order (post-purchase, of lifecycle rank), due now."""
    store_id = a_store("guards-test.myshopify.com")
    return a_run(store_id, a_shopper(store_id, JOHN), "post_purchase", SAMPLE_TIME)


LAST_HOUR = SAMPLE_TIME - HOUR


@pytest.mark.parametrize("store, to, address, flow, sent_at, marketing, counts", [
    ("this", "john", JOHN, "welcome", LAST_HOUR, True, True),
    ("this", "john", "john.work@example.com", "welcome", LAST_HOUR, True, True),
    ("this", "guest", JOHN, "welcome", LAST_HOUR, True, True),
    ("other", "john", JOHN, "welcome", LAST_HOUR, True, False),
    ("this", "john", JOHN, "welcome", LAST_HOUR, False, False),
    ("this", "jane", "jane@example.com", "welcome", LAST_HOUR, True, False),
    ("this", "john", JOHN, "win_back", LAST_HOUR, True, False),
    ("this", "john", JOHN, "welcome", SAMPLE_TIME - CAP, True, False),
], ids=["this store's marketing email to him", "to him at another address he typed",
        "to his address before he had an account", "another store's email to the same address",
        "his double opt-in confirmation (not marketing)", "another shopper's email",
        "a win-back email (of lower rank)", "an email sent exactly one cap ago"])
def test_the_cap_counts_only_this_stores_marketing_mail_to_this_shopper(
        store, to, address, flow, sent_at, marketing, counts, johns_thank_you):
    """The frequency cap is about one inbox and one brand: mail from another store, to another
    shopper, or that is not marketing leaves the thank-you free to go; his own marketing mail
    counts whether it names his account or only his address, and the thank-you then goes
    exactly one cap after it."""
    run = johns_thank_you
    store_id = run.store_id if store == "this" else a_store("elsewhere.myshopify.com")
    if to == "john":  # in another store, he has an account of that store's
        customer_id = run.customer_id if store == "this" else a_shopper(store_id, JOHN)
    else:
        customer_id = None if to == "guest" else a_shopper(store_id, address)
    a_message(store_id, customer_id, address, flow, sent_at, marketing=marketing)

    expected = guards.Deferral(sent_at + CAP, "frequency cap") if counts else None
    assert guard_says(guards.frequency_cap, run) == expected


@pytest.mark.parametrize("other, holds_back", [
    (dict(flow="abandoned_checkout", due_at=SAMPLE_TIME + HOUR), True),
    (dict(flow="abandoned_checkout", due_at=SAMPLE_TIME + CAP - MINUTE), True),
    # Were the thank-you sent now, its cap would end exactly as the reminder falls due.
    (dict(flow="abandoned_checkout", due_at=SAMPLE_TIME + CAP), False),
    (dict(flow="abandoned_checkout", due_at=SAMPLE_TIME + 3 * DAY), False),
    (dict(flow="abandoned_checkout", due_at=None), False),
    (dict(flow="abandoned_checkout", due_at=SAMPLE_TIME + HOUR, holdout=True), False),
    (dict(flow="welcome", due_at=SAMPLE_TIME + HOUR), False),
    (dict(flow="win_back", due_at=SAMPLE_TIME + HOUR), False),
    (dict(flow="order_updates", due_at=SAMPLE_TIME + HOUR), False),
], ids=["checkout reminder in an hour", "checkout reminder just within the cap",
        "checkout reminder exactly one cap away", "checkout reminder in three days",
        "checkout flow waiting for an event", "checkout reminder held out (control group)",
        "welcome (same rank)", "win-back (lower rank)", "shipping update (transactional)"])
def test_a_send_waits_only_for_higher_ranked_mail_due_to_this_shopper_within_the_cap(
        other, holds_back, johns_thank_you):
    """The thank-you yields to a checkout reminder that would otherwise fall inside its cap
    window, until one cap after that reminder; never to mail of its own rank or below (the cap
    decides those, first come first served), nor to a run that will never email him."""
    run = johns_thank_you
    a_run(run.store_id, run.customer_id, **other)

    expected = (guards.Deferral(other["due_at"] + CAP, "a higher-priority flow goes first")
                if holds_back else None)
    assert guard_says(guards.higher_priority_due, run) == expected


def test_a_send_never_waits_for_another_shoppers_mail(johns_thank_you):
    run = johns_thank_you
    jane = a_shopper(run.store_id, "jane@example.com")
    a_run(run.store_id, jane, "abandoned_checkout", SAMPLE_TIME + HOUR)

    assert guard_says(guards.higher_priority_due, run) is None


def test_a_send_waits_for_the_last_of_several_higher_ranked_emails(johns_thank_you):
    run = johns_thank_you
    a_run(run.store_id, run.customer_id, "abandoned_checkout", SAMPLE_TIME + 2 * HOUR)
    a_run(run.store_id, run.customer_id, "abandoned_cart", SAMPLE_TIME + HOUR)

    assert guard_says(guards.higher_priority_due, run) == guards.Deferral(
        SAMPLE_TIME + 2 * HOUR + CAP, "a higher-priority flow goes first")

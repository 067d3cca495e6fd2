"""The order-driven and date-driven flows, each through signed webhooks, a real worker and real
SMTP, with time moved by the tick: what they send, and what they must not."""
from __future__ import annotations

import copy
import re
from datetime import date

import pytest
from sqlalchemy import select, update

from app.core.db import db
from app.demo.payloads import Person, customer
from app.models import Customer, Order, Suppression
from flows import rules
from tests.flow_helpers import (DAY, HOUR, MINUTE, SAMPLE_TIME, at, consent_update, enable,
                                messages, move_to, order_sample, run_context, runs, timeline)
from tests.helpers import SHOP, published

BUYER = 115310627314723954  # the customer embedded in orders_create.json
BUYER_EMAIL = "john@example.com"  # order_sample() places the published order with it


def place_order(webhooks, run_jobs, placed=SAMPLE_TIME, subscribed=True, **changes):
    with at(placed + MINUTE):
        if subscribed:
            webhooks.deliver("customers_email_marketing_consent/update",
                             consent_update(BUYER, BUYER_EMAIL))
        assert webhooks.deliver("orders/create", order_sample(placed, **changes)).status_code == 200
        run_jobs()


def shipment(status="success", shipment_status=None, updated=SAMPLE_TIME) -> dict:
    """Shopify's published fulfillments/create sample for the published order."""
    payload = copy.deepcopy(published("shopify/fulfillments_create.json"))
    payload.update(status=status, shipment_status=shipment_status, updated_at=updated.isoformat())
    return payload


def sent_steps(flow):
    return [m.step for m in messages(flow) if m.status == "sent"]


def test_order_updates_note_shipping_with_tracking_and_delivery(shop, webhooks, run_jobs,
                                                                smtp_sink):
    enable(shop.id, "order_updates")
    place_order(webhooks, run_jobs, subscribed=False)  # transactional: no consent needed

    move_to(SAMPLE_TIME + 24 * HOUR, run_jobs)
    assert sent_steps("order_updates") == ["status_note"]
    with at(SAMPLE_TIME + 30 * HOUR):
        webhooks.deliver("fulfillments/create", shipment(updated=SAMPLE_TIME + 30 * HOUR))
        run_jobs()
    assert sent_steps("order_updates") == ["status_note", "shipped"]
    shipped_mail = smtp_sink.to(BUYER_EMAIL)[-1]
    assert "1z827wk74630" in shipped_mail.get_body(("plain",)).get_content()
    with at(SAMPLE_TIME + 80 * HOUR):
        webhooks.deliver("fulfillments/update", shipment(shipment_status="delivered",
                                                         updated=SAMPLE_TIME + 80 * HOUR))
        run_jobs()

    assert sent_steps("order_updates") == ["status_note", "shipped", "delivered"]
    assert runs("order_updates")[0].status == "completed"


def test_an_order_shipped_within_the_day_gets_no_status_note(shop, webhooks, run_jobs, smtp_sink):
    enable(shop.id, "order_updates")
    place_order(webhooks, run_jobs, subscribed=False)
    with at(SAMPLE_TIME + 3 * HOUR):
        webhooks.deliver("fulfillments/create", shipment(updated=SAMPLE_TIME + 3 * HOUR))
        run_jobs()
    move_to(SAMPLE_TIME + 48 * HOUR, run_jobs)

    assert sent_steps("order_updates") == ["shipped"]


def test_post_purchase_thanks_tips_and_review_never_offers_what_they_bought(
        shop, webhooks, run_jobs, smtp_sink):
    enable(shop.id, "post_purchase")
    bought = published("shopify/products_update.json")
    other = {**copy.deepcopy(bought), "id": 4242, "title": "Example Hoodie", "handle": "hoodie"}
    with at(SAMPLE_TIME):
        for product in ({**bought, "id": 788032119674292922}, other):
            webhooks.deliver("products/update", product)
        run_jobs()
    place_order(webhooks, run_jobs)

    move_to(SAMPLE_TIME + HOUR, run_jobs)
    thanks = smtp_sink.to(BUYER_EMAIL)[-1].get_body(("plain",)).get_content()
    assert "Example Hoodie" in thanks and "Example T-Shirt" not in thanks
    with at(SAMPLE_TIME + 4 * DAY):
        webhooks.deliver("fulfillments/create", shipment(shipment_status="delivered",
                                                         updated=SAMPLE_TIME + 4 * DAY))
        run_jobs()
    move_to(SAMPLE_TIME + 34 * DAY, run_jobs)

    assert sent_steps("post_purchase") == ["thank_you", "delivery_tips", "review_request"]


def test_first_order_earns_an_offer_and_a_second_order_a_loyal_tag(shop, webhooks, run_jobs,
                                                                   smtp_sink, shopify):
    enable(shop.id, "first_repeat_purchase")
    place_order(webhooks, run_jobs)
    move_to(SAMPLE_TIME + 3 * DAY, run_jobs)
    assert sent_steps("first_repeat_purchase") == ["second_order_offer"]

    place_order(webhooks, run_jobs, placed=SAMPLE_TIME + 5 * DAY, id=820982911946154509,
                name="#9999")

    assert sent_steps("first_repeat_purchase") == ["second_order_offer"]
    with db.session() as session:
        tags = session.execute(select(Customer.tags).where(Customer.platform_id == BUYER)).scalar()
    assert tags == ["loyal"]
    # ... and in Shopify, where the merchant segments customers by it.
    assert shopify.tags_added[SHOP] == [(f"gid://shopify/Customer/{BUYER}", ["loyal"])]


def customer_facts() -> tuple[int, list[str]]:
    with db.session() as session:
        return session.execute(select(Customer.score, Customer.tags)
                               .where(Customer.platform_id == BUYER)).one()


def test_repeat_orders_earn_points_and_the_third_makes_a_vip(shop, webhooks, run_jobs, smtp_sink,
                                                             shopify):
    enable(shop.id, "first_repeat_purchase")
    place_order(webhooks, run_jobs)
    for n in (1, 2):
        place_order(webhooks, run_jobs, placed=SAMPLE_TIME + n * DAY, id=820982911946154500 + n,
                    name=f"#{1000 + n}")
    assert customer_facts() == (20, ["loyal"])

    place_order(webhooks, run_jobs, placed=SAMPLE_TIME + 3 * DAY, id=820982911946154503,
                name="#1003")

    assert customer_facts() == (30, ["loyal", "vip"])
    assert [tags for _, tags in shopify.tags_added[SHOP]] == [["loyal"], ["vip"]]
    scored = [detail for kind, _, detail in timeline(shop.id, BUYER_EMAIL) if kind == "scored"]
    assert scored == ["+10 points (now 10)", "+10 points (now 20)", "+10 points (now 30)"]


@pytest.mark.parametrize("score, vip_score, vip", [
    (29, 30, False), (30, 30, True), (31, 30, True), (0, 1, False),
], ids=["a point short", "exactly at the threshold", "past it", "no points"])
def test_vip_status_comes_at_the_merchants_threshold_and_not_a_point_before(
        score, vip_score, vip, shop, webhooks, run_jobs, smtp_sink):
    """The condition is made afresh here, as a flow defining it would make it."""
    enable(shop.id, "first_repeat_purchase")
    place_order(webhooks, run_jobs)
    with db.session() as session:
        session.execute(update(Customer).where(Customer.platform_id == BUYER).values(score=score))
    [run] = runs("first_repeat_purchase")

    vip_condition = rules.score_at_least("vip_score")
    with run_context(run, settings={**run.settings, "vip_score": vip_score}) as ctx:
        assert vip_condition(ctx) is vip


def test_a_run_started_before_points_existed_finishes_on_its_own_steps(shop, webhooks, run_jobs,
                                                                        smtp_sink, monkeypatch):
    from flows import catalog

    enable(shop.id, "first_repeat_purchase")
    with monkeypatch.context() as before_the_upgrade:
        before_the_upgrade.setitem(catalog.FLOWS, "first_repeat_purchase",
                                   catalog.RETIRED[("first_repeat_purchase", 1)])
        place_order(webhooks, run_jobs)  # its run waits three days for the offer
    with db.session() as session:  # points this customer earned elsewhere, enough for VIP
        session.execute(update(Customer).where(Customer.platform_id == BUYER).values(score=40))

    move_to(SAMPLE_TIME + 3 * DAY, run_jobs)

    assert sent_steps("first_repeat_purchase") == ["second_order_offer"]
    assert [run.version for run in runs("first_repeat_purchase")] == [1]
    assert customer_facts() == (40, [])  # version 1 has no VIP step


def test_win_back_writes_three_times_then_sunsets(shop, webhooks, run_jobs, smtp_sink):
    # A ladder of one lapse: what win-back did before ladders (tests/test_flow_win_back.py
    # walks the default ladder of 3, 6 and 12 months).
    enable(shop.id, "win_back", lapse_days="90")
    place_order(webhooks, run_jobs)
    for days in (89, 90, 105, 120, 165):
        move_to(SAMPLE_TIME + days * DAY + MINUTE, run_jobs)

    assert sent_steps("win_back") == ["reminder", "second_reminder", "last_notice"]
    with db.session() as session:
        reasons = session.execute(select(Suppression.reason)).scalars().all()
    assert reasons == ["sunset"]


def test_win_back_stops_when_they_order_again(shop, webhooks, run_jobs, smtp_sink):
    enable(shop.id, "win_back")
    place_order(webhooks, run_jobs)
    move_to(SAMPLE_TIME + 90 * DAY + MINUTE, run_jobs)
    place_order(webhooks, run_jobs, placed=SAMPLE_TIME + 95 * DAY, id=820982911946154509)
    move_to(SAMPLE_TIME + 106 * DAY, run_jobs)

    assert sent_steps("win_back") == ["reminder"]
    assert runs("win_back")[0].outcome == "ordered"


def test_welcome_confirms_the_address_before_welcoming(shop, webhooks, run_jobs, smtp_sink,
                                                       client):
    enable(shop.id, "welcome")
    with at(SAMPLE_TIME):
        webhooks.deliver("customers/create", published("shopify/customers_create.json"))
        webhooks.deliver("customers_email_marketing_consent/update",
                         consent_update(706405506930370084, "bob@biller.com"))
        run_jobs()
    [confirm] = smtp_sink.to("bob@biller.com")
    link = re.search(r"https?://\S+/confirm/\S+", confirm.get_body(("plain",)).get_content()).group(0)
    move_to(SAMPLE_TIME + 2 * DAY, run_jobs)
    assert sent_steps("welcome") == ["confirm", "confirm_reminder_1"]

    path = link.split("storeflow.test", 1)[1]
    assert client.get(path).status_code == 200  # a page with a button; a GET changes nothing
    assert sent_steps("welcome") == ["confirm", "confirm_reminder_1"]
    with at(SAMPLE_TIME + 3 * DAY):
        assert client.post(path).status_code == 200
        run_jobs()

    assert sent_steps("welcome") == ["confirm", "confirm_reminder_1", "welcome"]
    with db.session() as session:
        level = session.execute(select(Customer.email_consent_opt_in_level).where(
            Customer.email == "bob@biller.com")).scalar()
    assert level == "confirmed_opt_in"


def test_welcome_without_double_opt_in_asks_no_one_to_confirm(shop, webhooks, run_jobs,
                                                              smtp_sink):
    enable(shop.id, "welcome", double_opt_in=False)
    with at(SAMPLE_TIME):
        webhooks.deliver("customers/create", published("shopify/customers_create.json"))
        webhooks.deliver("customers_email_marketing_consent/update",
                         consent_update(706405506930370084, "bob@biller.com"))
        run_jobs()
    move_to(SAMPLE_TIME + 15 * DAY, run_jobs)

    assert sent_steps("welcome") == ["welcome"]
    assert len(smtp_sink.to("bob@biller.com")) == 1


def test_birthday_greets_on_the_day(shop, webhooks, run_jobs, smtp_sink):
    enable(shop.id, "birthday")
    place_order(webhooks, run_jobs)
    # Shopify's standard "Birth date" metafield, which customer webhooks carry when asked to.
    buyer = Person(BUYER, "John", "Smith", BUYER_EMAIL, country="CA", birthday=date(1990, 1, 20))
    with at(SAMPLE_TIME + 2 * MINUTE):
        webhooks.deliver("customers/update", customer(buyer, SAMPLE_TIME + MINUTE))
        run_jobs()
    move_to(SAMPLE_TIME + 18 * DAY, run_jobs)
    assert sent_steps("birthday") == []
    move_to(SAMPLE_TIME + 19 * DAY + 10 * HOUR, run_jobs)
    move_to(SAMPLE_TIME + 19 * DAY + 12 * HOUR, run_jobs)

    assert sent_steps("birthday") == ["greeting"]
    assert [kind for kind, _, _ in timeline(shop.id, BUYER_EMAIL)].count("enrolled") == 1


def test_consent_arriving_just_after_the_order_still_gets_the_thank_you(shop, webhooks, run_jobs,
                                                                        smtp_sink):
    enable(shop.id, "post_purchase")
    place_order(webhooks, run_jobs, subscribed=False)
    with at(SAMPLE_TIME + 2 * MINUTE):
        webhooks.deliver("customers_email_marketing_consent/update",
                         consent_update(BUYER, BUYER_EMAIL))
        run_jobs()

    move_to(SAMPLE_TIME + HOUR, run_jobs)

    assert sent_steps("post_purchase") == ["thank_you"]


def test_a_buyer_who_never_consents_gets_no_thank_you(shop, webhooks, run_jobs, smtp_sink):
    enable(shop.id, "post_purchase")
    place_order(webhooks, run_jobs, subscribed=False)

    move_to(SAMPLE_TIME + HOUR, run_jobs)

    assert sent_steps("post_purchase") == []
    assert runs("post_purchase")[0].outcome == "no marketing consent"


def test_an_order_update_run_ends_on_the_orders_cancellation_or_removal(shop, webhooks,
                                                                        run_jobs):
    """The exit reasons the timeline shows, asked of the rule made afresh: none while the
    order stands, 'order cancelled' once it is, 'order removed' when its row is gone."""
    enable(shop.id, "order_updates")
    place_order(webhooks, run_jobs)
    [run] = runs("order_updates")
    with run_context(run) as ctx:
        assert rules.order_cancelled(ctx) is None
    with db.session() as session:
        session.execute(update(Order).values(cancelled_at=SAMPLE_TIME + HOUR))
    with run_context(run) as ctx:
        assert rules.order_cancelled(ctx) == "order cancelled"
    with run_context(run, subject_id=0) as gone:
        assert rules.order_cancelled(gone) == "order removed"


def test_only_a_new_subscriber_enters_the_welcome_flow(shop, webhooks, run_jobs):
    """The welcome's entry rule: subscribed or pending, else 'not a new subscriber'."""
    enable(shop.id, "order_updates")
    place_order(webhooks, run_jobs, subscribed=False)
    [run] = runs("order_updates")
    with run_context(run) as ctx:
        assert rules.subscribing(ctx) == "not a new subscriber"
    webhooks.deliver("customers_email_marketing_consent/update", consent_update(BUYER, BUYER_EMAIL))
    run_jobs()
    with run_context(run) as ctx:
        assert rules.subscribing(ctx) is None

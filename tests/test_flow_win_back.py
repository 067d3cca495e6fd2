"""The win-back ladder (3, 6 and 12 months unless the merchant changes it): an email at each
lapse, the reminder and the last notice after the last one, then the sunset; and a sunset that
ends when the customer orders again or opts in afresh, said on their timeline."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.core.db import db
from app.mail import outbox
from app.models import Suppression
from flows import catalog, choices
from tests.flow_helpers import (DAY, MINUTE, SAMPLE_TIME, at, consent_update, enable, move_to,
                                order_sample, runs, timeline)
from tests.test_flow_lifecycle import BUYER, BUYER_EMAIL, place_order, sent_steps

LADDER_DAYS = (89, 90, 179, 180, 364, 365, 380, 395, 440)


def sunsets() -> list[str]:
    with db.session() as session:
        return session.execute(select(Suppression.reason)).scalars().all()


def test_the_default_ladder_writes_at_3_6_and_12_months_then_reminds_and_sunsets(
        shop, webhooks, run_jobs, smtp_sink):
    enable(shop.id, "win_back")
    place_order(webhooks, run_jobs)
    sent_on = {}
    for days in LADDER_DAYS:
        before = len(sent_steps("win_back"))
        move_to(SAMPLE_TIME + days * DAY + MINUTE, run_jobs)
        if len(sent_steps("win_back")) > before:
            sent_on[days] = sent_steps("win_back")[before:]

    assert sent_on == {90: ["reminder"], 180: ["second_lapse"], 365: ["third_lapse"],
                       380: ["second_reminder"], 395: ["last_notice"]}
    assert sunsets() == ["sunset"]
    assert [run.version for run in runs("win_back")] == [2]


def test_a_ladder_of_two_lapses_sends_no_third_email(shop, webhooks, run_jobs, smtp_sink):
    enable(shop.id, "win_back", lapse_days="60, 120")
    place_order(webhooks, run_jobs)
    for days in (60, 120, 135, 150, 165):
        move_to(SAMPLE_TIME + days * DAY + MINUTE, run_jobs)
    assert sent_steps("win_back") == ["reminder", "second_lapse", "second_reminder", "last_notice"]
    assert sunsets() == ["sunset"]


@pytest.mark.parametrize("typed, error", [
    ("90, 60", "lapse_days: 1 to 3 values from 14 to 730 days, each larger than the one before"),
    ("30, 60, 90, 120", "lapse_days: 1 to 3 values"),
    ("", "lapse_days: 1 to 3 values"),
    ("90, soon", "lapse_days: 'soon' is not a number"),
    ("7", "lapse_days: must be from 14 to 730 days"),
])
def test_the_ladder_is_validated_and_the_refusal_states_the_rule(typed, error):
    with pytest.raises(choices.FlowSettingError, match=error.replace("(", r"\(")):
        choices.validate(catalog.FLOWS["win_back"], {"lapse_days": typed})


def test_the_ladder_takes_what_older_settings_hold(storeflow, shop):
    flow = catalog.FLOWS["win_back"]
    assert choices.validate(flow, {"lapse_days": "[60, 120]"}) == {"lapse_days": [60, 120]}
    assert choices.problems(flow, {**choices.defaults(flow), "lapse_days": 60}) == {}
    storeflow("flows", "set", "--store", shop.domain, "win_back", "lapse_days=45, 100")
    listed = storeflow("flows", "list", "--store", shop.domain, "--json").output
    assert "not ordered for 45 and 100 days" in listed


def test_a_run_started_before_the_ladder_finishes_on_its_own_steps(shop, webhooks, run_jobs,
                                                                   smtp_sink, monkeypatch):
    enable(shop.id, "win_back")
    place_order(webhooks, run_jobs)
    with monkeypatch.context() as before_the_upgrade:
        before_the_upgrade.setitem(catalog.FLOWS, "win_back", catalog.RETIRED[("win_back", 1)])
        move_to(SAMPLE_TIME + 90 * DAY + MINUTE, run_jobs)
    for days in (105, 120, 165):
        move_to(SAMPLE_TIME + days * DAY + MINUTE, run_jobs)
    assert sent_steps("win_back") == ["reminder", "second_reminder", "last_notice"]
    assert [run.version for run in runs("win_back")] == [1] and sunsets() == ["sunset"]


def sunset_customer(shop, webhooks, run_jobs) -> None:
    enable(shop.id, "win_back", lapse_days="90")
    place_order(webhooks, run_jobs)
    for days in (90, 105, 120, 165):
        move_to(SAMPLE_TIME + days * DAY + MINUTE, run_jobs)
    assert sunsets() == ["sunset"]


def test_a_new_order_lifts_the_sunset_and_the_timeline_says_why(shop, webhooks, run_jobs,
                                                                smtp_sink):
    sunset_customer(shop, webhooks, run_jobs)
    place_order(webhooks, run_jobs, placed=SAMPLE_TIME + 200 * DAY, subscribed=False,
                id=820982911946154509)
    assert sunsets() == []
    assert timeline(shop.id, BUYER_EMAIL)[-1] == ("resumed", "sunset", "sunset lifted: ordered")


def test_a_fresh_opt_in_lifts_the_sunset(shop, webhooks, run_jobs, smtp_sink):
    sunset_customer(shop, webhooks, run_jobs)
    later = SAMPLE_TIME + 170 * DAY
    with at(later):
        webhooks.deliver("customers_email_marketing_consent/update",
                         consent_update(BUYER, BUYER_EMAIL, state="unsubscribed", updated=later))
        run_jobs()
    assert sunsets() == ["sunset"]  # an unsubscribe is no opt-in
    with at(later + DAY):
        webhooks.deliver("customers_email_marketing_consent/update",
                         consent_update(BUYER, BUYER_EMAIL, updated=later + DAY))
        run_jobs()
    assert sunsets() == []
    assert timeline(shop.id, BUYER_EMAIL)[-1] == ("resumed", "sunset", "sunset lifted: opted in")


@pytest.mark.parametrize("reason", ["hard_bounce", "complaint", "unsubscribed"])
def test_an_opt_in_or_an_order_lifts_no_suppression_but_a_sunset(shop, webhooks, run_jobs,
                                                                 smtp_sink, reason):
    """A consent webhook saying "subscribed" (or a new order) never undoes a bounce, a
    complaint or an unsubscribe made through our link."""
    with db.session() as session:
        session.add(Suppression(store_id=shop.id, email=BUYER_EMAIL, reason=reason,
                                created_at=SAMPLE_TIME - DAY))
    place_order(webhooks, run_jobs)  # an opt-in, then an order, both after it
    with at(SAMPLE_TIME + DAY):
        webhooks.deliver("customers_email_marketing_consent/update",
                         consent_update(BUYER, BUYER_EMAIL, updated=SAMPLE_TIME + DAY))
        run_jobs()
    assert sunsets() == [reason]
    assert "resumed" not in [kind for kind, *_ in timeline(shop.id, BUYER_EMAIL)]


@pytest.mark.parametrize("reason", ["hard_bounce", "complaint"])
def test_a_bounce_after_the_sunset_stops_all_mail_and_no_opt_in_lifts_it(shop, webhooks,
                                                                          run_jobs, smtp_sink,
                                                                          reason):
    sunset_customer(shop, webhooks, run_jobs)
    outbox.suppress(shop.id, BUYER_EMAIL, reason)  # as a refused send or a provider reports it
    assert sunsets() == [reason]  # it stops transactional mail too
    later = SAMPLE_TIME + 170 * DAY
    with at(later):
        webhooks.deliver("customers_email_marketing_consent/update",
                         consent_update(BUYER, BUYER_EMAIL, state="unsubscribed", updated=later))
        webhooks.deliver("customers_email_marketing_consent/update",
                         consent_update(BUYER, BUYER_EMAIL, updated=later + MINUTE))
        run_jobs()
    place_order(webhooks, run_jobs, placed=SAMPLE_TIME + 200 * DAY, subscribed=False,
                id=820982911946154509)
    assert sunsets() == [reason]


def test_the_first_reason_stays_unless_a_bounce_comes_for_a_marketing_only_one(shop):
    outbox.suppress(shop.id, BUYER_EMAIL, "unsubscribed")
    outbox.suppress(shop.id, BUYER_EMAIL, "sunset")
    assert sunsets() == ["unsubscribed"]
    outbox.suppress(shop.id, BUYER_EMAIL, "hard_bounce")
    outbox.suppress(shop.id, BUYER_EMAIL, "complaint")
    outbox.suppress(shop.id, BUYER_EMAIL, "sunset")
    assert sunsets() == ["hard_bounce"]


def test_an_order_from_before_the_sunset_arriving_late_leaves_it(shop, webhooks, run_jobs,
                                                                 smtp_sink):
    sunset_customer(shop, webhooks, run_jobs)
    with at(SAMPLE_TIME + 170 * DAY):
        webhooks.deliver("orders/create", order_sample(SAMPLE_TIME + 150 * DAY,
                                                       id=820982911946154509))
        run_jobs()
    assert sunsets() == ["sunset"]


def test_a_sunset_pauses_marketing_only():
    assert not Suppression(reason="sunset").blocks_transactional
    assert Suppression(reason="hard_bounce").blocks_transactional

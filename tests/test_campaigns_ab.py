"""A campaign's A/B test of two subjects: the test share gets A or B, the rest wait for the
winner, which a job on RQ's scheduler (or the sweep, when Redis lost it) picks by real clicks
through the tracking link or by attributed revenue, and sends to the rest, once."""
from __future__ import annotations

import pytest

from app.campaigns import sending
from app.jobs import broker
from tests.campaign_engine_helpers import (buys, by_status, clicks, everyone, people, scheduled,
                                           scheduler_hands_over)
from tests.campaign_helpers import NOW, campaign_messages, listed, recipients, report
from tests.flow_helpers import HOUR, MINUTE, at

PEOPLE = people(10)
SPRING, LAST_CALL = "New spring teas", "Last call for spring teas"
CREATE = ("--segment", "Everyone", "--subject", SPRING, "--subject-b", LAST_CALL, "--body",
          "Fresh.", "--button-text", "See the teas", "--test-share", "40", "--winner-after", "2")


@pytest.fixture
def leaf_shop(shop, webhooks, run_jobs, storeflow, smtp_sink, monkeypatch):
    monkeypatch.setenv("SMTP_URL", f"smtp://127.0.0.1:{smtp_sink.port}")
    everyone(shop, webhooks, run_jobs, storeflow, NOW, PEOPLE)
    return shop


def subjects(smtp_sink) -> dict[str, str]:
    return {mail["To"]: mail["Subject"] for mail in smtp_sink.received}


def started(storeflow, shop, run_jobs, *options: str) -> None:
    with at(NOW):
        storeflow("campaigns", "create", "--store", shop.domain, "Spring", *CREATE, *options)
        storeflow("campaigns", "send", "--store", shop.domain, "Spring")
        run_jobs()


def test_the_test_share_gets_both_subjects_and_the_rest_the_one_more_people_clicked(
        leaf_shop, storeflow, run_jobs, smtp_sink, client):
    started(storeflow, leaf_shop, run_jobs)
    variants = {r.email: r.variant for r in recipients() if r.variant}
    assert sorted(variants.values()) == ["A", "A", "B", "B"]  # 40 % of 10, split evenly
    assert subjects(smtp_sink) == {email: SPRING if v == "A" else LAST_CALL
                                   for email, v in variants.items()}
    assert len(by_status()["waiting"]) == 6
    [campaign_id] = {r.campaign_id for r in recipients()}
    assert scheduled("campaigns") == {f"campaign-winner-{campaign_id}": NOW + 2 * HOUR}

    b_mail = next(m for m in smtp_sink.received if m["Subject"] == LAST_CALL)
    with at(NOW + HOUR):
        clicks(client, b_mail)
        clicks(client, b_mail)  # one clicker, however often
        assert scheduler_hands_over("campaigns") == 0  # not due
        run_jobs()
    assert len(smtp_sink.received) == 4 and listed(storeflow, leaf_shop)[0] == "sending"

    with at(NOW + 2 * HOUR + MINUTE):
        assert scheduler_hands_over("campaigns") == 1
        run_jobs()
    rest = {email: subject for email, subject in subjects(smtp_sink).items()
            if email not in variants}
    assert len(rest) == 6 and set(rest.values()) == {LAST_CALL}
    assert len(smtp_sink.received) == 10 and len(campaign_messages()) == 10
    test = report(storeflow, leaf_shop, "Spring")["ab_test"]
    assert test["winner"] == "B" and test["judge"] == "clicks"
    assert {v: (f["subject"], f["sent"], f["clicked"]) for v, f in test["variants"].items()} == {
        "A": (SPRING, 2, 0), "B": (LAST_CALL, 2, 1)}
    assert listed(storeflow, leaf_shop)[0] == "sent"
    with at(NOW + 3 * HOUR):  # picked once: the sweep and a late job find nothing to do
        sending.sweep_campaigns()
        assert sending.pick_winner(campaign_id) is None
        run_jobs()
    assert len(smtp_sink.received) == 10


def test_judged_on_revenue_a_winner_whose_job_redis_lost_is_picked_by_the_sweep(
        leaf_shop, storeflow, webhooks, run_jobs, smtp_sink, client):
    started(storeflow, leaf_shop, run_jobs, "--judge", "revenue")
    by_email = {p.email: p for p in PEOPLE}
    a_mails = [m for m in smtp_sink.received if m["Subject"] == SPRING]
    b_mail = next(m for m in smtp_sink.received if m["Subject"] == LAST_CALL)
    with at(NOW + HOUR):
        clicks(client, a_mails[0])
        clicks(client, b_mail)  # B has the clicker too, but A's buys
    buys(webhooks, run_jobs, by_email[a_mails[0]["To"]], NOW + HOUR + MINUTE, "30.00", 7101)
    broker.connection.flushdb()
    with at(NOW + 2 * HOUR + MINUTE):
        sending.sweep_campaigns()
        run_jobs()
    rest = [mail for mail in smtp_sink.received[4:]]
    assert len(rest) == 6 and {mail["Subject"] for mail in rest} == {SPRING}
    test = report(storeflow, leaf_shop, "Spring")["ab_test"]
    assert test["winner"] == "A"
    assert {v: (f["orders"], f["revenue"]) for v, f in test["variants"].items()} == {
        "A": (1, "30"), "B": (0, "0")}


def test_a_tie_goes_to_a_and_a_winner_picked_while_paused_waits_for_the_resume(
        leaf_shop, storeflow, run_jobs, smtp_sink):
    started(storeflow, leaf_shop, run_jobs)
    storeflow("campaigns", "pause", "--store", leaf_shop.domain, "Spring")
    with at(NOW + 2 * HOUR + MINUTE):
        scheduler_hands_over("campaigns")
        run_jobs()
    assert len(smtp_sink.received) == 4
    assert report(storeflow, leaf_shop, "Spring")["ab_test"]["winner"] == "A"  # no clicks: a tie
    storeflow("campaigns", "resume", "--store", leaf_shop.domain, "Spring")
    run_jobs()
    assert len(smtp_sink.received) == 10
    assert {m["Subject"] for m in smtp_sink.received[4:]} == {SPRING}


def test_a_cancel_while_waiting_sends_the_rest_nothing(leaf_shop, storeflow, run_jobs, smtp_sink):
    started(storeflow, leaf_shop, run_jobs)
    storeflow("campaigns", "cancel", "--store", leaf_shop.domain, "Spring")
    with at(NOW + 2 * HOUR + MINUTE):
        scheduler_hands_over("campaigns")
        sending.sweep_campaigns()
        run_jobs()
    assert len(smtp_sink.received) == 4
    assert report(storeflow, leaf_shop, "Spring")["ab_test"]["winner"] is None


SHARE, HOURS = "a whole number from 10 to 50 (percent)", "a whole number from 1 to 72 (hours)"


@pytest.mark.parametrize("options, error", [
    (("--subject-b", "B", "--test-share", "9"), f"--test-share: {SHARE}, not 9"),
    (("--subject-b", "B", "--test-share", "51"), f"--test-share: {SHARE}, not 51"),
    (("--subject-b", "B", "--winner-after", "0"), f"--winner-after: {HOURS}, not 0"),
    (("--subject-b", "B", "--winner-after", "73"), f"--winner-after: {HOURS}, not 73"),
    (("--subject-b", "B", "--judge", "opens"), "--judge: clicks or revenue, not 'opens'"),
    (("--test-share", "20",), "--test-share needs --subject-b"),
    (("--subject-b", SPRING,), "subject B: the same as the subject; an A/B test needs two"),
])
def test_every_test_option_is_checked_with_its_range(leaf_shop, storeflow, options, error):
    refused = storeflow("campaigns", "create", "--store", leaf_shop.domain, "Spring", "--segment",
                        "Everyone", "--subject", SPRING, "--body", "Fresh.", *options, ok=False)
    assert refused.exit_code == 1 and refused.output.strip() == f"Error: {error}"

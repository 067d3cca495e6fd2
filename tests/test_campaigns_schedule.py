"""Scheduled campaigns: at a moment in the store's time zone, or at the same wall-clock time in
each recipient's own (their country's or state's), held to the end of the store's quiet hours;
started and released by jobs on RQ's scheduler, or by the sweep when Redis lost them."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from app.campaigns import sending
from app.jobs import broker
from tests.campaign_engine_helpers import everyone, people, scheduled, scheduler_hands_over
from tests.campaign_helpers import NOW, listed, recipients, report
from tests.flow_helpers import MINUTE, at

UTC = timezone.utc
CREATE = ("--segment", "Everyone", "--subject", "Spring teas", "--body", "Fresh.")
# NOW is 2026-03-02 09:00 UTC: 10:00 in Paris, the store's time zone.
TOKYO, LONDON, NEW_YORK, UNKNOWN = (
    people(1, country="JP")[0], people(2, country="GB")[1],
    people(3, country="US", region="NY")[2], people(4, country="")[3])


@pytest.fixture
def paris_shop(shop, webhooks, run_jobs, storeflow, smtp_sink, monkeypatch):
    monkeypatch.setenv("SMTP_URL", f"smtp://127.0.0.1:{smtp_sink.port}")
    everyone(shop, webhooks, run_jobs, storeflow, NOW, [TOKYO, LONDON, NEW_YORK, UNKNOWN])
    storeflow("settings", "set", "--store", shop.domain, "timezone=Europe/Paris")
    with at(NOW):
        storeflow("campaigns", "create", "--store", shop.domain, "Spring", *CREATE)
    return shop


def addressees(smtp_sink) -> list[str]:
    return sorted(mail["To"] for mail in smtp_sink.received)


def test_a_send_scheduled_in_the_stores_time_zone_starts_then_and_can_be_listed(
        paris_shop, storeflow, run_jobs, smtp_sink):
    with at(NOW):
        done = storeflow("campaigns", "send", "--store", paris_shop.domain, "Spring",
                         "--at", "2026-03-03 09:00")
        run_jobs()
    assert done.output.strip() == "scheduled campaign 'Spring' for 2026-03-03 09:00 Europe/Paris"
    assert listed(storeflow, paris_shop) == ["scheduled", "Spring", "(2026-03-03", "09:00",
                                             "Europe/Paris)"]
    [(job_id, moment)] = scheduled("campaigns").items()
    assert job_id.startswith("campaign-start-") and moment == datetime(2026, 3, 3, 8, 0, tzinfo=UTC)
    assert recipients() == [] and smtp_sink.received == []
    again = storeflow("campaigns", "send", "--store", paris_shop.domain, "Spring", ok=False)
    assert "is scheduled; a campaign is sent once" in again.output

    with at(datetime(2026, 3, 3, 8, 0, 30, tzinfo=UTC)):
        assert scheduler_hands_over("campaigns") == 1
        run_jobs()
    assert addressees(smtp_sink) == sorted(p.email for p in (TOKYO, LONDON, NEW_YORK, UNKNOWN))
    assert listed(storeflow, paris_shop)[0] == "sent"


def test_a_scheduled_send_whose_job_redis_lost_is_started_by_the_sweep_and_a_cancel_holds(
        paris_shop, storeflow, run_jobs, smtp_sink):
    with at(NOW):
        storeflow("campaigns", "send", "--store", paris_shop.domain, "Spring", "--at",
                  "2026-03-03 09:00")
        storeflow("campaigns", "create", "--store", paris_shop.domain, "Called off", *CREATE,
                  "--bypass-frequency-cap")
        storeflow("campaigns", "send", "--store", paris_shop.domain, "Called off", "--at",
                  "2026-03-03 09:00")
        storeflow("campaigns", "cancel", "--store", paris_shop.domain, "Called off")
    broker.connection.flushdb()
    with at(datetime(2026, 3, 3, 7, 59, tzinfo=UTC)):
        sending.sweep_campaigns()  # not yet
        run_jobs()
    assert recipients() == []
    with at(datetime(2026, 3, 3, 8, 0, 30, tzinfo=UTC)):
        sending.sweep_campaigns()
        run_jobs()
    assert len(smtp_sink.received) == 4
    assert report(storeflow, paris_shop, "Called off")["status"] == "cancelled"


def test_in_local_time_each_recipient_gets_it_at_their_own_hour_after_quiet_hours(
        paris_shop, storeflow, run_jobs, smtp_sink):
    """7:30 on their clock falls in the store's quiet hours (21:00-08:00): 8:00 it is."""
    storeflow("settings", "set", "--store", paris_shop.domain, "quiet_hours=21:00-08:00")
    with at(NOW):
        done = storeflow("campaigns", "send", "--store", paris_shop.domain, "Spring",
                         "--at", "2026-03-03 07:30", "--local-time")
    assert done.output.strip() == ("scheduled campaign 'Spring' for 2026-03-03 07:30 in each "
                                   "recipient's time zone")
    # Started when the first time zone (UTC+14) reaches 07:30.
    assert list(scheduled("campaigns").values()) == [datetime(2026, 3, 2, 17, 30, tzinfo=UTC)]
    with at(datetime(2026, 3, 2, 17, 30, 30, tzinfo=UTC)):
        scheduler_hands_over("campaigns")
        run_jobs()
    assert smtp_sink.received == []
    eight = {TOKYO: datetime(2026, 3, 2, 23, 0, tzinfo=UTC),  # 08:00 in Tokyo (UTC+9)
             UNKNOWN: datetime(2026, 3, 3, 7, 0, tzinfo=UTC),  # the store's: Paris (UTC+1)
             LONDON: datetime(2026, 3, 3, 8, 0, tzinfo=UTC),
             NEW_YORK: datetime(2026, 3, 3, 13, 0, tzinfo=UTC)}  # UTC-5
    assert {r.email: r.due_at for r in recipients()} == {p.email: m for p, m in eight.items()}
    assert sorted(scheduled("campaigns").values()) == sorted(eight.values())
    figures = report(storeflow, paris_shop, "Spring")
    assert (figures["waiting_for_local_time"], figures["local_time"], figures["send_at"]) == (
        4, True, "2026-03-03T06:30:00+00:00")

    order = sorted(eight, key=eight.get)
    for n, person in enumerate(order):
        with at(eight[person] - MINUTE):
            assert scheduler_hands_over("campaigns") == 0
        if person is LONDON:  # this moment's job is lost: the sweep releases them
            broker.connection.flushdb()
        with at(eight[person] + timedelta(seconds=30)):
            scheduler_hands_over("campaigns")
            sending.sweep_campaigns()
            run_jobs()
        assert addressees(smtp_sink) == sorted(p.email for p in order[:n + 1])
        assert listed(storeflow, paris_shop)[0] == ("sent" if n == 3 else "sending")


def test_in_local_time_a_recipient_whose_hour_has_passed_still_waits_out_their_quiet_hours(
        paris_shop, storeflow, run_jobs, smtp_sink):
    """Sent at 13:00 UTC for 15:00 local: Tokyo's 15:00 has passed, and it is 22:00 there now,
    in the quiet hours (21:00-08:00): Tokyo gets it at 08:00 its time, not now."""
    storeflow("settings", "set", "--store", paris_shop.domain, "quiet_hours=21:00-08:00")
    with at(datetime(2026, 3, 2, 13, 0, tzinfo=UTC)):
        storeflow("campaigns", "send", "--store", paris_shop.domain, "Spring",
                  "--at", "2026-03-02 15:00", "--local-time")
        scheduler_hands_over("campaigns")
        run_jobs()
    assert smtp_sink.received == []
    assert {r.email: r.due_at for r in recipients()}[TOKYO.email] == datetime(
        2026, 3, 2, 23, 0, tzinfo=UTC)


def test_a_local_time_send_paused_waits_for_the_resume(paris_shop, storeflow, run_jobs,
                                                       smtp_sink):
    with at(NOW):
        storeflow("campaigns", "send", "--store", paris_shop.domain, "Spring", "--at",
                  "2026-03-03 09:00", "--local-time")
    with at(datetime(2026, 3, 2, 19, 0, 30, tzinfo=UTC)):
        sending.sweep_campaigns()
        storeflow("campaigns", "pause", "--store", paris_shop.domain, "Spring")
    with at(datetime(2026, 3, 3, 15, 0, tzinfo=UTC)):  # every moment has passed
        scheduler_hands_over("campaigns")
        sending.sweep_campaigns()
        run_jobs()
        assert smtp_sink.received == []
        storeflow("campaigns", "resume", "--store", paris_shop.domain, "Spring")
        run_jobs()
    assert len(smtp_sink.received) == 4


@pytest.mark.parametrize("options, error", [
    (("--at", "2026-03-02 09:59"), "--at: YYYY-MM-DD HH:MM in the store's time zone "
     "(Europe/Paris), from now to a year ahead, not '2026-03-02 09:59'"),
    (("--at", "2027-03-02 10:01"), "--at: YYYY-MM-DD HH:MM in the store's time zone "
     "(Europe/Paris), from now to a year ahead, not '2027-03-02 10:01'"),
    (("--at", "24/12/2026 9am"), "--at: YYYY-MM-DD HH:MM in the store's time zone "
     "(Europe/Paris), from now to a year ahead, not '24/12/2026 9am'"),
    (("--local-time",), "--local-time needs --at"),
])
def test_the_time_is_checked_with_its_range(paris_shop, storeflow, options, error):
    with at(NOW):
        refused = storeflow("campaigns", "send", "--store", paris_shop.domain, "Spring",
                            *options, ok=False)
    assert refused.exit_code == 1 and refused.output.strip() == f"Error: {error}"
    assert listed(storeflow, paris_shop)[0] == "draft"


def test_an_ab_test_cannot_go_in_local_time(paris_shop, storeflow):
    with at(NOW):
        storeflow("campaigns", "create", "--store", paris_shop.domain, "Tested", *CREATE,
                  "--subject-b", "Other")
        refused = storeflow("campaigns", "send", "--store", paris_shop.domain, "Tested", "--at",
                            "2026-03-03 09:00", "--local-time", ok=False)
    assert refused.output.strip() == "Error: --local-time: not with an A/B test (--subject-b)"

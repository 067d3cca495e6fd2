"""The Campaigns page's engine options (issue 21): a holdout and an A/B subject test in the New
campaign form (checked by the same `create` as the CLI, each refusal beside its field), the
recipient count's held-out and tested shares, Schedule (in the store's time zone, or in each
recipient's) with its refusals and its cancel, and the report's A/B variants, winner and
incremental revenue; and the refusals of a forged, a viewer's and another store's schedule."""
from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from app.campaigns import sending
from app.core import clock
from tests.flow_helpers import at
from tests.test_ui_campaigns import (  # noqa: F401 (fixtures)
    FORM, SENDER, configure, create, made, owner, stored, tea_shop)
from tests.ui_helpers import connect_rival, sign_in, sign_in_viewer

ZONE = "Europe/Paris"
AB = {"subject_b": "Our first flush is in", "test_share": "50", "winner_after": "4",
      "judge": "revenue", "holdout": "50"}


def typed(delta: timedelta) -> str:
    """A moment `delta` from now as the browser's date-time field sends it, in the store's zone."""
    return (clock.now() + delta).astimezone(ZoneInfo(ZONE)).strftime("%Y-%m-%dT%H:%M")


def beside(answer, field: str) -> str:
    """The error shown beside `field` in a 400 answer."""
    shown = answer.get_data(as_text=True)
    assert answer.status_code == 400 and f'data-error="{field}"' in shown, shown
    return shown.split(f'data-error="{field}">')[1].split("</span>")[0]


@pytest.fixture
def ready(tea_shop):
    configure(tea_shop.id, **SENDER, timezone=ZONE)
    return tea_shop


@pytest.mark.parametrize("changes, field, words", [
    ({"holdout": "51"}, "holdout", "from 0 to 50 (percent), not 51"),
    ({"holdout": "-1"}, "holdout", "not -1"),
    ({"holdout": "ten"}, "holdout", "not &#39;ten&#39;"),
    ({**AB, "test_share": "9"}, "test_share", "from 10 to 50 (percent), not 9"),
    ({**AB, "test_share": "51"}, "test_share", "not 51"),
    ({**AB, "winner_after": "0"}, "winner_after", "from 1 to 72 (hours), not 0"),
    ({**AB, "winner_after": "73"}, "winner_after", "not 73"),
    ({**AB, "judge": "opens"}, "judge", "clicks or revenue, not &#39;opens&#39;"),
    ({**AB, "subject_b": FORM["subject"]}, "subject_b", "the same as the subject"),
    ({**AB, "subject_b": "x" * 151}, "subject_b", "at most 150 characters"),
])
def test_a_refused_option_is_shown_beside_its_field_and_nothing_is_made(
        client, owner, tea_shop, changes, field, words):
    assert words in beside(create(client, owner, **changes), field)
    assert stored() is None


def test_without_subject_b_the_test_fields_are_ignored(client, owner, tea_shop):
    page = client.get("/app/campaigns").get_data(as_text=True)
    assert "data-ab" in page and "campaign_new.js" in page and 'value="20"' in page
    answer = create(client, owner, subject_b="  ", test_share="99", winner_after="0")
    assert answer.status_code == 302
    campaign = stored()
    assert (campaign.subject_b, campaign.test_share, campaign.holdout_percent) == (None, None, 0)


def test_an_ab_campaign_with_a_holdout_states_its_shares(client, owner, tea_shop):
    path = create(client, owner, **AB).location
    campaign = stored()
    assert (campaign.holdout_percent, campaign.subject_b, campaign.test_share,
            campaign.winner_after_hours, campaign.judge) == (
        50, "Our first flush is in", 50, 4, "revenue")
    shown = client.get(path).get_data(as_text=True)
    assert "It holds out 50 % of its recipients" in shown
    assert "judged on revenue" in shown and "Our first flush is in" in shown
    # Three recipients: one held out, and half of the other two in the test.
    assert client.get(f"{path}/recipients").json == {
        "recipients": 3, "held_out": 1, "tested": 1,
        "duration": "as fast as the workers and the mail server allow (no SMTP rate is set)"}


@pytest.mark.parametrize("data, field, words", [
    ({"at": typed(-timedelta(hours=1))}, "at", "from now to a year ahead"),
    ({"at": typed(timedelta(days=367))}, "at", "from now to a year ahead"),
    ({"at": "tomorrow"}, "at", "YYYY-MM-DD HH:MM in the store&#39;s time zone (Europe/Paris)"),
    ({"at": ""}, "at", "not &#39;&#39;"),
])
def test_a_refused_moment_is_shown_beside_it_and_the_campaign_stays_a_draft(
        client, owner, ready, data, field, words):
    path = made(client, owner)
    assert words in beside(client.post(f"{path}/schedule", data={**data, "csrf_token": owner}),
                           field)
    assert stored().status == "draft" and stored().send_at is None


def test_local_time_is_refused_for_an_ab_test(client, owner, ready):
    path = create(client, owner, **AB).location
    answer = client.post(f"{path}/schedule", data={"at": typed(timedelta(days=1)),
                                                   "local_time": "on", "csrf_token": owner})
    assert "not with an A/B test" in beside(answer, "local_time")
    assert stored().status == "draft"


def test_a_schedule_waits_for_the_check_list(client, owner, tea_shop):
    path = made(client, owner)
    answer = client.post(f"{path}/schedule", data={"at": typed(timedelta(days=1)),
                                                   "csrf_token": owner}, follow_redirects=True)
    assert "fix the check list first" in answer.get_data(as_text=True)
    assert stored().status == "draft"


def test_scheduled_in_local_time_shown_listed_and_cancelled(client, owner, ready, run_jobs,
                                                            smtp_sink):
    path = made(client, owner)
    moment = typed(timedelta(days=2))
    done = client.post(f"{path}/schedule", data={"at": moment, "local_time": "on",
                                                 "csrf_token": owner}, follow_redirects=True)
    when = f"{moment.replace('T', ' ')} in each recipient&#39;s time zone"
    assert f"“Spring teas” is scheduled for {when}." in done.get_data(as_text=True)
    campaign = stored()
    assert (campaign.status, campaign.local_time) == ("scheduled", True)
    page = client.get(path).get_data(as_text=True)
    assert f"Scheduled for {when}." in page and "Send now" not in page
    listed = client.get("/app/campaigns").get_data(as_text=True)
    assert "badge-scheduled" in listed and f"scheduled for {when}" in listed
    again = client.post(f"{path}/schedule", data={"at": moment, "csrf_token": owner},
                        follow_redirects=True)
    assert "a campaign is sent once" in again.get_data(as_text=True)

    cancelled = client.post(f"{path}/cancel", data={"csrf_token": owner}, follow_redirects=True)
    assert "“Spring teas” cancelled." in cancelled.get_data(as_text=True)
    with at(clock.now() + timedelta(days=3)):
        sending.sweep_campaigns()
        run_jobs()
    assert stored().status == "cancelled" and smtp_sink.received == []


def test_a_forged_a_viewers_and_another_stores_schedule_get_nowhere(app, client, owner, ready,
                                                                    storeflow):
    path = made(client, owner)
    data = {"at": typed(timedelta(days=1))}
    assert client.post(f"{path}/schedule", data=data).status_code == 400
    assert client.post(f"{path}/schedule", data={**data, "csrf_token": "forged"}
                       ).status_code == 400
    viewer, csrf = sign_in_viewer(app, ready.id)
    assert "Schedule</button>" not in viewer.get(path).get_data(as_text=True)
    assert viewer.post(f"{path}/schedule", data={**data, "csrf_token": csrf}).status_code == 403
    rival = connect_rival()
    other = app.test_client()
    other_csrf = sign_in(other, storeflow, rival.id)
    assert other.post(f"{path}/schedule", data={**data, "csrf_token": other_csrf}
                      ).status_code == 404
    assert stored().status == "draft"


def test_the_report_shows_the_variants_the_winner_and_the_incremental_revenue(
        client, owner, ready, run_jobs, smtp_sink):
    path = create(client, owner, **AB).location
    client.post(f"{path}/send", data={"csrf_token": owner})
    run_jobs()
    assert len(smtp_sink.received) == 1  # one held out, one waiting for the winner
    page = client.get(path).get_data(as_text=True)
    assert '<div data-figure="held_out"><dt>Held out</dt><dd>1</dd>' in page
    assert "Incremental revenue: <strong>$0.00</strong> (95 % interval $0.00 to $0.00)" in page
    assert 'data-variant="A"' in page and 'data-variant="B"' in page
    assert "the winner is picked" in page and ">winner</span>" not in page
    with at(stored().started_at + timedelta(hours=4, minutes=1)):
        assert sending.pick_winner(stored().id) == "A"  # a tie goes to A
        run_jobs()
    assert len(smtp_sink.received) == 2
    page = client.get(path).get_data(as_text=True)
    assert "subject A won" in page
    assert '<tr data-variant="A"><td>A <span class="badge badge-sent">winner</span>' in page

"""A campaign's name, subject, subject B and preheader changed on its page (and with `storeflow
campaigns edit`) while it is a draft or scheduled, checked as `create` checks them, each refusal
beside its field; refused once it sends; out of reach of another store, a viewer and a forged
form."""
from __future__ import annotations

from datetime import timedelta

import pytest

from app.campaigns import campaigns
from app.core import clock
from app.core.db import db
from app.models import Campaign
from tests.test_ui_campaigns import (FORM, SENDER, configure, made, owner, stored,  # noqa: F401
                                     tea_shop)
from tests.ui_helpers import connect_rival, sign_in, sign_in_viewer

WORDS = {"name": "Summer teas", "subject": "Cold brew, {{ first_name }}",
         "preheader": "Iced and ready", "subject_b": "Iced tea season"}


def edit(client, csrf, path: str, follow_redirects: bool = False, **changes):
    data = {**WORDS, **changes}
    return client.post(f"{path}/edit", data={**data, "csrf_token": csrf} if csrf else data,
                       follow_redirects=follow_redirects)


def words(name: str = "Summer teas") -> tuple:
    campaign = stored(name)
    return (campaign.name, campaign.subject, campaign.preheader, campaign.design.get("preheader"),
            campaign.subject_b, campaign.test_share, campaign.winner_after_hours, campaign.judge)


def schedule(store_id: int, name: str, local_time: bool = False) -> None:
    """Schedule the draft for tomorrow, as `campaigns send --at` does."""
    at = (clock.now() + timedelta(days=1)).strftime("%Y-%m-%d %H:%M")
    with db.session() as session:
        campaigns.send(session, store_id, name, "test", at=at, local_time=local_time)


def test_a_draft_and_a_scheduled_campaign_are_edited_and_a_started_one_is_refused(
        client, owner, tea_shop):
    path = made(client, owner)
    assert 'id="campaign-words"' in client.get(path).get_data(as_text=True)
    saved = edit(client, owner, path, follow_redirects=True)
    assert saved.status_code == 200 and "Saved: the campaign goes with" in saved.get_data(
        as_text=True)
    # A new A/B test takes the defaults; the design's preheader is the one the email shows.
    assert words() == ("Summer teas", "Cold brew, {{ first_name }}", "Iced and ready",
                       "Iced and ready", "Iced tea season", 20, 4, "clicks")
    assert stored("Spring teas") is None
    configure(tea_shop.id, **SENDER)
    schedule(tea_shop.id, "Summer teas")
    assert edit(client, owner, path, preheader="", subject_b="").status_code == 302
    assert words() == ("Summer teas", "Cold brew, {{ first_name }}", None, None, None, None,
                       None, None)
    sending = made(client, owner)  # "Spring teas" again, sent now
    client.post(f"{sending}/send", data={"csrf_token": owner})
    refused = edit(client, owner, sending, name="Spring teas", follow_redirects=True)
    assert ("Not done: campaign &#39;Spring teas&#39; is sending; only a draft or a scheduled "
            "campaign can be edited.") in refused.get_data(as_text=True)
    assert (stored("Spring teas").status, stored("Spring teas").subject) == (
        "sending", FORM["subject"])
    assert 'id="campaign-words"' not in client.get(sending).get_data(as_text=True)


def test_an_existing_ab_test_keeps_its_share_hours_and_judge(client, owner, tea_shop):
    path = client.post("/app/campaigns", data={
        **FORM, "name": "Tested", "subject_b": "Other", "test_share": "30", "winner_after": "8",
        "judge": "revenue", "csrf_token": owner}).location
    assert edit(client, owner, path, name="Tested", subject_b="Another").status_code == 302
    assert words("Tested")[4:] == ("Another", 30, 8, "revenue")


@pytest.mark.parametrize("changes, field, message", [
    ({"name": "  "}, "name", "a campaign name is"),
    ({"name": "Bad/name"}, "name", "a campaign name is"),
    ({"name": "Winter teas"}, "name", "there is already a campaign named"),
    ({"subject": ""}, "subject", "subject: required"),
    ({"subject": "x" * 151}, "subject", "subject: at most 150 characters, not 151"),
    ({"subject": "Hi {{ first_name "}, "subject", "subject:"),
    ({"preheader": "x" * 151}, "preheader", "preheader: at most 150 characters"),
    ({"subject_b": "x" * 151}, "subject_b", "subject B: at most 150 characters"),
    ({"subject_b": "Cold brew, {{ first_name }}"}, "subject_b", "an A/B test needs two"),
])
def test_a_refused_value_is_shown_beside_its_field_and_nothing_changes(
        client, owner, tea_shop, changes, field, message):
    path = made(client, owner)
    client.post("/app/campaigns", data={**FORM, "name": "Winter teas", "csrf_token": owner})
    answer = edit(client, owner, path, **changes)
    shown = answer.get_data(as_text=True)
    assert answer.status_code == 400 and "Nothing was saved" in shown
    assert message in shown.split(f'data-error="{field}">')[1].split("</span>")[0]
    campaign = stored("Spring teas")
    assert (campaign.subject, campaign.preheader, campaign.subject_b) == (
        FORM["subject"], FORM["preheader"], None)


def test_a_local_time_send_takes_no_subject_b(client, owner, tea_shop):
    configure(tea_shop.id, **SENDER)
    path = made(client, owner)
    schedule(tea_shop.id, "Spring teas", local_time=True)
    answer = edit(client, owner, path, name="Spring teas")
    assert answer.status_code == 400 and 'data-error="subject_b"' in answer.get_data(as_text=True)
    assert stored("Spring teas").subject_b is None


def test_another_store_a_viewer_and_a_forged_form_change_nothing(app, client, owner, tea_shop,
                                                                 storeflow):
    rival = connect_rival()
    other = app.test_client()
    storeflow("segments", "create", "--store", str(rival.id), "Tea lovers", "--rule", "true")
    theirs = other.post("/app/campaigns", data={
        **FORM, "exclude": [], "csrf_token": sign_in(other, storeflow, rival.id)}).location
    assert edit(client, owner, theirs).status_code == 404
    path = made(client, owner)
    viewer, csrf = sign_in_viewer(app, tea_shop.id)
    assert 'id="campaign-words"' not in viewer.get(path).get_data(as_text=True)
    assert edit(viewer, csrf, path).status_code == 403
    assert edit(client, None, path).status_code == 400
    assert stored(store_id=rival.id).subject == stored(store_id=tea_shop.id).subject == \
        FORM["subject"]


def test_the_edit_command_changes_only_what_it_is_given(client, owner, tea_shop, storeflow):
    made(client, owner)
    storeflow("campaigns", "edit", "--store", tea_shop.domain, "Spring teas", "--subject-b", "B")
    assert words("Spring teas") == ("Spring teas", FORM["subject"], "First flush", "First flush",
                                    "B", 20, 4, "clicks")
    refused = storeflow("campaigns", "edit", "--store", tea_shop.domain, "Spring teas",
                        "--preheader", "x" * 151, ok=False)
    assert refused.exit_code == 1 and refused.output.startswith(
        "Error: preheader: at most 150 characters, not 151")
    storeflow("campaigns", "cancel", "--store", tea_shop.domain, "Spring teas")
    late = storeflow("campaigns", "edit", "--store", tea_shop.domain, "Spring teas",
                     "--subject", "Hi", ok=False)
    assert late.output.strip() == ("Error: campaign 'Spring teas' is cancelled; only a draft or "
                                   "a scheduled campaign can be edited")


def test_a_heading_that_repeats_the_subject_follows_it_and_a_merchant_s_own_heading_stays(
        client, owner, tea_shop):
    path = made(client, owner)
    headings = [b["text"] for b in stored().design["blocks"] if b["type"] == "heading"]
    assert headings == [FORM["subject"]]  # the new campaign's design shows its subject

    assert edit(client, owner, path, subject="Cold brew is back").status_code == 302
    assert [b["text"] for b in stored("Summer teas").design["blocks"]
            if b["type"] == "heading"] == ["Cold brew is back"]

    with db.session() as session:
        campaign = session.get(Campaign, stored("Summer teas").id)
        campaign.design = {**campaign.design, "blocks": [
            {**b, "text": "Our own words"} if b["type"] == "heading" else b
            for b in campaign.design["blocks"]]}
    assert edit(client, owner, path, subject="Iced, at last").status_code == 302
    assert [b["text"] for b in stored("Summer teas").design["blocks"]
            if b["type"] == "heading"] == ["Our own words"]

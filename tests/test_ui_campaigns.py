"""The Campaigns page (issue 21): a campaign created from the form (checked as the CLI checks
it, each error beside its field), its design edited with the block designer, what a send would
do (recipients counted without writing, duration, the check list), send, pause, resume and
cancel, a test send, the report; and the attacker's tries: another store's campaign, a viewer
sending, a forged form, a hostile design, and personal data in the logs."""
from __future__ import annotations

import copy
import json
import logging

import pytest
from sqlalchemy import func, select

from app.core import clock
from app.core.db import db
from app.mail.rate import send_rate
from app.models import Campaign, CampaignRecipient, Message, Store
from tests.campaign_helpers import PEOPLE, REACHED, subscribers
from tests.ui_helpers import connect_rival, sign_in, sign_in_viewer

SENDER = {"from_email": "hello@teashop.example", "postal_address": "1 Leaf Lane, Portland"}
FORM = {"name": "Spring teas", "subject": "New spring teas, {{ first_name }}",
        "preheader": "First flush", "segment": "Tea lovers", "exclude": "Staff"}
SECRET = "Zebra-striped teapot sale"  # a design's words, looked for in the logs


@pytest.fixture
def tea_shop(shop, webhooks, run_jobs, storeflow):
    """Six customers, three of whom a campaign to "Tea lovers" minus "Staff" reaches."""
    subscribers(shop, webhooks, run_jobs, storeflow, clock.now())
    return shop


@pytest.fixture
def owner(client, storeflow, tea_shop):
    return sign_in(client, storeflow, tea_shop.id)


def configure(store_id: int, **settings) -> None:
    with db.session() as session:
        store = session.get(Store, store_id)
        store.settings = {**store.settings, **settings}


def create(client, csrf, **changes):
    return client.post("/app/campaigns", data={**FORM, "csrf_token": csrf, **changes})


def made(client, csrf) -> str:
    """A draft created through the form; its page's path."""
    answer = create(client, csrf)
    assert answer.status_code == 302, answer.get_data(as_text=True)
    return answer.location


def stored(name: str = "Spring teas", store_id: int | None = None) -> Campaign | None:
    with db.session() as session:
        query = select(Campaign).where(Campaign.name == name)
        if store_id is not None:
            query = query.where(Campaign.store_id == store_id)
        return session.execute(query).scalar_one_or_none()


def headed(text: str) -> dict:
    design = copy.deepcopy(stored().design)
    design["blocks"].insert(0, {"type": "heading", "text": text})
    return design


def save(client, csrf, page: str, design):
    data = {"design": design if isinstance(design, str) else json.dumps(design)}
    return client.post(f"{page}/design", data={**data, "csrf_token": csrf} if csrf else data)


def draw(client, csrf, page: str, design, query: str = ""):
    body = design if isinstance(design, str) else json.dumps(design)
    headers = {"Content-Type": "application/json", **({"X-CSRF-Token": csrf} if csrf else {})}
    return client.post(f"{page}/design/preview{query}", data=body, headers=headers)


def written_recipients() -> int:
    with db.session() as session:
        return session.execute(select(func.count()).select_from(CampaignRecipient)).scalar_one()


def test_a_campaign_made_in_the_form_opens_on_its_page_with_what_a_send_would_do(
        client, owner, tea_shop):
    page = client.get("/app/campaigns").get_data(as_text=True)
    assert "No campaigns yet." in page and 'data-segment="Tea lovers"' in page
    assert "Bypass the frequency cap" in page and "goes to them anyway" in page
    path = made(client, owner)
    campaign = stored()
    assert (campaign.segments, campaign.excluded_segments, campaign.preheader) == (
        ["Tea lovers"], ["Staff"], "First flush")
    shown = client.get(path).get_data(as_text=True)
    assert "New spring teas, Ana" in shown  # the sample's subject in the preview
    estimate = client.get(f"{path}/recipients").json
    assert estimate == {"recipients": 3, "duration": "as fast as the workers and the mail "
                                                     "server allow (no SMTP rate is set)"}
    assert written_recipients() == 0
    listed = client.get("/app/campaigns").get_data(as_text=True)
    assert 'data-campaign="Spring teas"' in listed and "not sent yet" in listed


def test_the_estimate_follows_the_configured_smtp_rate(client, owner, tea_shop, monkeypatch):
    path = made(client, owner)
    monkeypatch.setattr(send_rate, "per_second", lambda: 1 / 120)  # one email every 2 minutes
    assert client.get(f"{path}/recipients").json["duration"] == \
        "about 6 min at 0.00833333 emails a second"
    monkeypatch.setattr(send_rate, "per_second", lambda: 14)
    assert client.get(f"{path}/recipients").json["duration"] == \
        "under a minute at 14 emails a second"


def test_a_segment_deleted_since_is_named_instead_of_a_count(client, owner, tea_shop, storeflow):
    path = made(client, owner)
    storeflow("segments", "delete", "--store", tea_shop.domain, "Staff")
    answer = client.get(f"{path}/recipients")
    assert answer.status_code == 400 and "Staff" in answer.json["error"]


@pytest.mark.parametrize("changes, field, words", [
    ({"name": "  "}, "name", "a campaign name is"),
    ({"subject": ""}, "subject", "subject: required"),
    ({"subject": "Hi {{ first_name "}, "subject", "subject:"),
    ({"preheader": "x" * 151}, "preheader", "at most 150 characters"),
    ({"segment": []}, "segments", "at least one"),
    ({"exclude": "Tea lovers"}, "excluded", "both included and excluded"),
    ({"segment": "Rival fans"}, "segments", "Rival fans"),
])
def test_a_refused_value_is_shown_beside_its_field_and_nothing_is_made(
        client, owner, tea_shop, changes, field, words):
    answer = create(client, owner, **changes)
    shown = answer.get_data(as_text=True)
    assert answer.status_code == 400 and f'data-error="{field}"' in shown
    assert words in shown.split(f'data-error="{field}">')[1].split("</span>")[0]
    assert stored() is None


def test_a_second_campaign_of_the_same_name_is_refused(client, owner, tea_shop):
    made(client, owner)
    answer = create(client, owner)
    assert answer.status_code == 400 and 'data-error="name"' in answer.get_data(as_text=True)


def test_the_design_is_edited_previewed_as_a_customer_and_saved(client, owner, tea_shop):
    path = made(client, owner)
    answer = draw(client, owner, path, headed("Just for {{ first_name }}"))
    assert answer.status_code == 200 and "Just for Ana" in answer.json["html"]
    found = client.get(f"{path}?email={PEOPLE[1].email}").get_data(as_text=True)
    assert "New spring teas, Ann1" in found
    assert "No customer with that email" in client.get(f"{path}?email=nobody@example.com"
                                                       ).get_data(as_text=True)
    assert "Just for" not in json.dumps(stored().design)  # a preview writes nothing
    assert save(client, owner, path, headed(SECRET)).status_code == 302
    assert stored().design["blocks"][0]["text"] == SECRET
    assert SECRET in client.get(path).get_data(as_text=True)


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,<b>x</b>",
                                 "http://shop.example/x"])
def test_a_hostile_address_is_refused_with_its_pointer(client, owner, tea_shop, url):
    path = made(client, owner)
    design = headed("Hello")
    design["blocks"].insert(1, {"type": "button", "text": "Go", "url": url})
    answer = draw(client, owner, path, design)
    assert answer.status_code == 400 and "/blocks/1/url" in {p for p, _ in answer.json["problems"]}
    refused = save(client, owner, path, design)
    assert refused.status_code == 400 and "<code>/blocks/1/url</code>" in refused.get_data(as_text=True)
    assert "javascript:" not in json.dumps(stored().design)


def test_a_huge_or_scripted_design_is_a_clear_400_or_shown_as_text(client, owner, tea_shop):
    path = made(client, owner)
    huge = headed("x")
    huge["blocks"] += [{"type": "text", "text": "y" * 4000}] * 17
    assert draw(client, owner, path, huge).json["problems"] == [["", "a design is at most 64,000 bytes"]]
    assert save(client, owner, path, huge).status_code == 400
    assert save(client, owner, path, "not json").status_code == 400
    attack = "<script>alert(1)</script>"
    assert attack not in draw(client, owner, path, headed(attack)).json["html"]
    assert save(client, owner, path, headed(attack)).status_code == 302
    assert attack not in client.get(path).get_data(as_text=True)


def test_send_waits_for_the_check_list_then_sends_once(client, owner, tea_shop, run_jobs,
                                                       smtp_sink):
    configure(tea_shop.id, postal_address="")
    path = made(client, owner)
    shown = client.get(path).get_data(as_text=True)
    assert 'data-check="Postal address" data-ok="no"' in shown
    assert 'data-check="Sender" data-ok="no"' in shown
    assert 'data-check="Unsubscribe link" data-ok="yes"' in shown
    assert "Send now</button>" in shown and "disabled>Send now" in shown
    refused = client.post(f"{path}/send", data={"csrf_token": owner}, follow_redirects=True)
    assert "fix the check list first: Postal address, Sender" in refused.get_data(as_text=True)
    assert stored().status == "draft"

    configure(tea_shop.id, **SENDER)
    spring = headed("Spring is here")
    no_footer = headed("Hello")
    no_footer["blocks"] = [b for b in no_footer["blocks"] if b["type"] != "footer"]
    save(client, owner, path, no_footer)
    assert 'data-check="Unsubscribe link" data-ok="no"' in client.get(path).get_data(as_text=True)
    save(client, owner, path, spring)
    assert "disabled>Send now" not in client.get(path).get_data(as_text=True)

    sent = client.post(f"{path}/send", data={"csrf_token": owner}, follow_redirects=True)
    assert "Sending “Spring teas” to 3 recipient(s)." in sent.get_data(as_text=True)
    run_jobs()
    assert sorted(m["To"] for m in smtp_sink.received) == REACHED
    assert "Spring is here" in smtp_sink.received[0].get_body(("html",)).get_content()
    again = client.post(f"{path}/send", data={"csrf_token": owner}, follow_redirects=True)
    assert "a campaign is sent once" in again.get_data(as_text=True)
    run_jobs()
    assert len(smtp_sink.received) == 3
    page = client.get(path).get_data(as_text=True)
    assert '<div data-figure="sent"><dt>Sent</dt><dd>3</dd>' in page and "Save design" not in page
    assert save(client, owner, path, headed("Too late")).status_code == 400
    listed = client.get("/app/campaigns").get_data(as_text=True)
    assert '<span class="badge badge-sent">sent</span>' in listed


def test_pause_resume_and_cancel_use_the_clis_rules(client, owner, tea_shop, run_jobs,
                                                    smtp_sink):
    configure(tea_shop.id, **SENDER)
    path = made(client, owner)
    assert "only a paused campaign can be resumed" in client.post(
        f"{path}/resume", data={"csrf_token": owner}, follow_redirects=True).get_data(as_text=True)
    client.post(f"{path}/send", data={"csrf_token": owner})
    paused = client.post(f"{path}/pause", data={"csrf_token": owner}, follow_redirects=True)
    assert "“Spring teas” paused. No further email of it is sent." in paused.get_data(as_text=True)
    run_jobs()
    assert smtp_sink.received == [] and stored().status == "paused"
    client.post(f"{path}/resume", data={"csrf_token": owner})
    run_jobs()
    assert sorted(m["To"] for m in smtp_sink.received) == REACHED
    cancelled = client.post(f"{path}/cancel", data={"csrf_token": owner}, follow_redirects=True)
    assert "Not done: campaign &#39;Spring teas&#39; is sent; only a" in cancelled.get_data(
        as_text=True) and stored().status == "sent"


def test_a_test_send_goes_to_the_signed_in_staff_member_capped(app, client, owner, tea_shop,
                                                               run_jobs, smtp_sink, monkeypatch):
    configure(tea_shop.id, **SENDER)
    path = made(client, owner)
    save(client, owner, path, headed("A test of {{ first_name }}"))
    assert "Send a test to hello@teashop.example" in client.get(path).get_data(as_text=True)
    client.post(f"{path}/test", data={"csrf_token": owner})
    run_jobs()
    mail = smtp_sink.received[-1]
    assert mail["To"] == "hello@teashop.example" and mail["Subject"] == "New spring teas, Ana"
    assert "A test of Ana" in mail.get_body(("html",)).get_content()
    with db.session() as session:  # no send of the campaign: no report counts it
        assert session.execute(select(Message.flow)).scalars().all() == [None]

    monkeypatch.setattr("app.web.ui.campaign_email.allow_test_send", lambda store_id: False)
    capped = client.post(f"{path}/test", data={"csrf_token": owner}, follow_redirects=True)
    assert "test sends this hour" in capped.get_data(as_text=True)


def test_another_stores_campaign_is_out_of_reach_by_id_or_name(app, client, owner, tea_shop,
                                                                storeflow):
    rival = connect_rival()
    configure(tea_shop.id, **SENDER)
    other = app.test_client()
    other_csrf = sign_in(other, storeflow, rival.id)
    storeflow("segments", "create", "--store", str(rival.id), "Tea lovers", "--rule", "true")
    mine = made(client, owner)
    design = headed("Mine now")
    theirs = other.post("/app/campaigns", data={**FORM, "exclude": [], "csrf_token": other_csrf})
    assert theirs.status_code == 302
    for suffix in ("", "?email=" + PEOPLE[0].email, "/recipients"):
        assert client.get(theirs.location + suffix).status_code == 404
    assert save(client, owner, theirs.location, design).status_code == 404
    assert draw(client, owner, theirs.location, design).status_code == 404
    for command in ("send", "pause", "cancel", "test"):
        assert client.post(f"{theirs.location}/{command}", data={"csrf_token": owner}
                           ).status_code == 404
    assert stored(store_id=rival.id).status == "draft"
    # The same name in both stores: sending the shop's own leaves the rival's alone.
    client.post(f"{mine}/send", data={"csrf_token": owner})
    assert (stored(store_id=tea_shop.id).status, stored(store_id=rival.id).status) == (
        "sending", "draft")
    assert '<span class="badge badge-draft">draft</span>' in other.get("/app/campaigns").get_data(
        as_text=True)


def test_a_viewer_reads_but_cannot_change_or_send(app, client, owner, tea_shop):
    path = made(client, owner)
    viewer, csrf = sign_in_viewer(app, tea_shop.id)
    page = viewer.get(path)
    assert page.status_code == 200
    shown = page.get_data(as_text=True)
    assert "data-recipients" in shown and "Send now" not in shown and "Save design" not in shown
    assert viewer.get(f"{path}/recipients").json["recipients"] == 3
    assert "New campaign" not in viewer.get("/app/campaigns").get_data(as_text=True)
    for action, data in (("/send", {}), ("/cancel", {}), ("/test", {}),
                         ("/design", {"design": json.dumps(headed("Mine"))})):
        assert viewer.post(path + action, data={**data, "csrf_token": csrf}).status_code == 403
    assert viewer.post("/app/campaigns", data={**FORM, "name": "Other", "csrf_token": csrf}
                       ).status_code == 403
    assert stored().status == "draft" and stored("Other") is None


def test_a_forged_form_gets_nowhere(client, owner, tea_shop):
    path = made(client, owner)
    assert create(client, None, name="Forged").status_code == 400 and stored("Forged") is None
    assert save(client, None, path, headed("Forged")).status_code == 400
    assert draw(client, "forged", path, headed("Forged")).status_code == 400
    for command in ("send", "pause", "resume", "cancel", "test"):
        assert client.post(f"{path}/{command}").status_code == 400
    assert stored().status == "draft" and written_recipients() == 0


def test_nothing_personal_or_designed_is_logged(client, owner, tea_shop, caplog, run_jobs):
    configure(tea_shop.id, **SENDER)
    caplog.set_level(logging.DEBUG)
    path = made(client, owner)
    client.get(f"{path}?email={PEOPLE[0].email}")
    draw(client, owner, path, headed(SECRET))
    save(client, owner, path, headed(SECRET))
    client.post(f"{path}/test", data={"csrf_token": owner})
    client.post(f"{path}/send", data={"csrf_token": owner})
    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert "campaign design saved" in logged and "campaign send" in logged
    assert SECRET not in logged and "@example.com" not in logged
    assert "hello@teashop.example" not in logged and stored().status == "sending"

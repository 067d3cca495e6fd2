"""The preference page behind every unsubscribe link: in the store's brand kit, it unsubscribes,
pauses marketing email for 30 days (flows' and campaigns' alike, said on the customer's timeline)
or resubscribes someone who left through our own link; and it stands up to forged, expired and
moved tokens, link scanners and huge bodies, with no personal data in its logs."""
from __future__ import annotations

import html
import logging
import re
import time
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from app.core import clock
from app.core.db import db
from app.mail import links, outbox
from app.mail.preferences import PAUSE_FOR
from app.ingest import compliance, consent
from app.models import (ConsentChange, Customer, MailPause, Message, MessageEvent, Store,
                        Suppression, TimelineEntry)
from app.reports.export import export_customer
from connectors.base import CustomerRedaction
from flows import timeline
from tests.campaign_helpers import CREATE, NOW, REACHED, campaign_messages, subscribers
from tests.flow_helpers import enable, messages, move_to
from tests.helpers import SHOP
from tests.mail_helpers import POSTAL_ADDRESS, checkout_message, sent_message, status
from tests.test_tracking import forged_tokens

OWN = "john@example.com"  # the published checkout's customer: mail to their own address
NOON = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)


def path_of(message_id: int) -> str:
    return urlsplit(links.unsubscribe_url(status(message_id))).path


def form_token(page: str, action: str) -> str:
    """The form token in the page's form for /pause or /resubscribe."""
    form = re.search(rf'action="[^"]+/{action}">\s*<input type="hidden" name="form" '
                     rf'value="([^"]+)"', page)
    assert form, f"no {action} form on the page"
    return html.unescape(form.group(1))


def choose(client, path: str, action: str, **headers):
    """Open the page, then press the button of `action` as a browser does."""
    page = client.get(path).text
    return client.post(f"{path}/{action}", data={"form": form_token(page, action)}, **headers)


def rows(model) -> list:
    with db.session() as session:
        return session.execute(select(model).order_by(model.id)).scalars().all()


def consent_of(message_id: int) -> tuple[str, str]:
    with db.session() as session:
        customer = session.get(Customer, status(message_id).customer_id)
        source = session.execute(select(ConsentChange.source).where(
            ConsentChange.customer_id == customer.id).order_by(ConsentChange.id.desc())
            .limit(1)).scalar_one()
        return customer.email_consent, source


@pytest.fixture
def branded(shop):
    with db.session() as session:
        store = session.get(Store, shop.id)
        store.name = "Fernhill Goods"
        store.settings = {**store.settings, "brand_color": "#0f766e", "font_stack": "georgia",
                          "logo_url": "https://cdn.fernhill.example/logo.png"}
    return shop


def test_the_page_wears_the_stores_kit_and_a_get_changes_nothing(
        branded, webhooks, run_jobs, client, smtp_sink):
    message_id = sent_message(branded, webhooks, run_jobs, email=OWN)
    path = path_of(message_id)

    pages = [client.get(path), client.get(path, headers={"User-Agent": "HeadlessChrome/120"}),
             client.head(path)]

    page = pages[0]
    assert {p.status_code for p in pages} == {200} and "no-store" in page.headers["Cache-Control"]
    text = page.text
    assert "#0f766e" in text and "Georgia, 'Times New Roman', Times, serif" in text
    assert '<img src="https://cdn.fernhill.example/logo.png" alt="Fernhill Goods">' in text
    assert f"Fernhill Goods · {POSTAL_ADDRESS}" in text and "Set-Cookie" not in page.headers
    assert f'<form method="post" action="{path}">' in text  # unsubscribe: the link token alone
    assert form_token(text, "pause") and "/resubscribe" not in text  # nothing to resubscribe to
    assert rows(Suppression) == [] and rows(MailPause) == []


def test_a_pause_holds_marketing_mail_for_30_days_says_so_and_lets_orders_through(
        shop, webhooks, run_jobs, client, smtp_sink):
    first = sent_message(shop, webhooks, run_jobs, email=OWN)
    with clock.frozen_at(NOON):
        paused = choose(client, path_of(first), "pause")
    until = NOON + PAUSE_FOR
    assert paused.status_code == 200 and "until 23 December 2026" in paused.text
    assert "Resume emails" in paused.text  # a paused address may come back early

    held = checkout_message(shop, webhooks, run_jobs, email=OWN, run_id=2)
    order_mail = checkout_message(shop, webhooks, run_jobs, email=OWN, run_id=3,
                                  marketing=False)
    with clock.frozen_at(NOON + timedelta(days=29)):
        assert outbox.deliver(held) == "cancelled"
        assert outbox.deliver(order_mail) == "sent"
    assert status(held).reason == f"paused: until {until.isoformat()}"
    with db.session() as session:
        [entry] = session.execute(select(TimelineEntry).where(
            TimelineEntry.kind == "skipped")).scalars().all()
        story = timeline.story(session, shop.id, OWN)
    assert (entry.customer_id, entry.flow, entry.detail) == (
        status(held).customer_id, "abandoned_checkout", f"paused: until {until.isoformat()}")
    assert ("paused marketing email on the preference page until 23 December 2026"
            in [line["detail"] for line in story])
    assert rows(ConsentChange) == [] and rows(Suppression) == []  # a pause is no unsubscribe

    after = checkout_message(shop, webhooks, run_jobs, email=OWN, run_id=4)
    with clock.frozen_at(until + timedelta(seconds=1)):
        assert outbox.deliver(after) == "sent"


def test_a_paused_recipient_gets_no_campaign_and_their_timeline_says_until_when(
        shop, webhooks, run_jobs, storeflow, smtp_sink, client, monkeypatch):
    monkeypatch.setenv("SMTP_URL", f"smtp://127.0.0.1:{smtp_sink.port}")
    subscribers(shop, webhooks, run_jobs, storeflow, NOW)
    with clock.frozen_at(NOW):
        storeflow("campaigns", "create", "--store", shop.domain, "Spring teas", *CREATE)
        # Sent straight after the first: only the pause may hold anyone back.
        storeflow("campaigns", "create", "--store", shop.domain, "Summer teas", *CREATE,
                  "--bypass-frequency-cap")
        storeflow("campaigns", "send", "--store", shop.domain, "Spring teas")
        run_jobs()
        [to_first] = [m for m in campaign_messages() if m.email == REACHED[0]]
        assert choose(client, path_of(to_first.id), "pause").status_code == 200
        smtp_sink.received.clear()

        storeflow("campaigns", "send", "--store", shop.domain, "Summer teas")
        run_jobs()

    assert sorted(mail["To"] for mail in smtp_sink.received) == REACHED[1:]
    [held] = [m for m in campaign_messages() if m.email == REACHED[0] and m.id != to_first.id]
    assert (held.status, held.reason) == ("cancelled", f"paused: until {(NOW + PAUSE_FOR).isoformat()}")
    with db.session() as session:
        [entry] = session.execute(select(TimelineEntry).where(
            TimelineEntry.customer_id == held.customer_id, TimelineEntry.kind == "skipped")
        ).scalars().all()
    assert (entry.flow, entry.detail) == (held.flow, held.reason)


def test_one_who_unsubscribed_through_our_link_can_resubscribe_and_the_store_hears_of_it(
        shop, webhooks, run_jobs, client, smtp_sink, shopify):
    message_id = sent_message(shop, webhooks, run_jobs, email=OWN)
    path = path_of(message_id)
    # The bare RFC 8058 POST, as a mailbox provider sends it: no page, no form token, no cookie.
    gone = client.post(path, data={"List-Unsubscribe": "One-Click"})
    run_jobs()
    assert gone.status_code == 200 and "You are unsubscribed" in gone.text
    assert consent_of(message_id) == ("unsubscribed", "storeflow:unsubscribe")

    back = choose(client, path, "resubscribe")
    run_jobs()

    assert back.status_code == 200 and "Welcome back" in back.text
    assert rows(Suppression) == []
    assert consent_of(message_id) == ("subscribed", "storeflow:preference_page")
    with db.session() as session:
        customer = session.get(Customer, status(message_id).customer_id)
        words = [line["detail"] for line in timeline.story(session, shop.id, OWN)]
    assert ("subscribed to marketing email, on the preference page behind the unsubscribe link"
            in words)
    assert [u["emailMarketingConsent"]["marketingState"] for u in shopify.consent_updates[SHOP]
            ] == ["UNSUBSCRIBED", "SUBSCRIBED"]
    assert shopify.consent_updates[SHOP][-1]["emailMarketingConsent"] == {
        "marketingState": "SUBSCRIBED", "marketingOptInLevel": "SINGLE_OPT_IN",
        "consentUpdatedAt": customer.email_consent_updated_at.isoformat()}
    again = checkout_message(shop, webhooks, run_jobs, email=OWN, run_id=2)
    assert outbox.deliver(again) == "sent"


def test_resubscribing_does_not_greet_them_as_a_new_subscriber(
        shop, webhooks, run_jobs, client, smtp_sink):
    message_id = sent_message(shop, webhooks, run_jobs, email=OWN)
    path = path_of(message_id)
    client.post(path, data={"List-Unsubscribe": "One-Click"})
    run_jobs()
    enable(shop.id, "welcome")  # double opt-in, as it starts

    choose(client, path, "resubscribe")
    run_jobs()
    move_to(clock.now() + timedelta(hours=1), run_jobs)

    assert consent_of(message_id) == ("subscribed", "storeflow:preference_page")
    assert messages("welcome") == []
    with db.session() as session:
        assert ("not_enrolled", "welcome", "resubscribed on the preference page") in [
            (entry.kind, entry.flow, entry.detail) for entry in session.execute(
                select(TimelineEntry).where(TimelineEntry.store_id == shop.id)).scalars()]


@pytest.mark.parametrize("stop", ["hard_bounce", "complaint"])
def test_a_bounced_or_complained_address_cannot_be_resubscribed(
        shop, webhooks, run_jobs, client, smtp_sink, stop):
    message_id = sent_message(shop, webhooks, run_jobs, email=OWN)
    token = path_of(message_id).split("/")[-1]
    outbox.suppress(shop.id, OWN, stop)

    # The page offers no resubscribe; a form token made for it anyway changes nothing.
    assert "/resubscribe" not in client.get(f"/u/{token}").text
    refused = client.post(f"/u/{token}/resubscribe",
                          data={"form": links.make_form_token(links.RESUBSCRIBE, token)})

    assert refused.status_code == 409 and "cannot be restarted" in refused.text
    assert [(s.email, s.reason) for s in rows(Suppression)] == [(OWN, stop)]


def test_an_unsubscribe_followed_by_a_complaint_stays_off(shop, webhooks, run_jobs, client,
                                                          smtp_sink):
    """A suppression keeps its first reason: the complaint after the unsubscribe is in the
    message's events, and it is enough to keep the address off."""
    message_id = sent_message(shop, webhooks, run_jobs, email=OWN)
    path = path_of(message_id)
    client.post(path)
    with db.session() as session:
        session.add(MessageEvent(store_id=shop.id, message_id=message_id, kind="complaint",
                                 source_key="ses:complaint-1", occurred_at=clock.now()))

    assert choose(client, path, "resubscribe").status_code == 409
    assert [s.reason for s in rows(Suppression)] == ["unsubscribed"]


def test_an_unsubscribe_made_at_the_store_is_not_undone_here(shop, webhooks, run_jobs, client,
                                                             smtp_sink):
    message_id = sent_message(shop, webhooks, run_jobs, email=OWN)
    token = path_of(message_id).split("/")[-1]
    with db.session() as session:
        consent.record(session, shop.id, status(message_id).customer_id, "unsubscribed",
                       source="shopify:customers_email_marketing_consent/update",
                       occurred_at=clock.now())

    refused = client.post(f"/u/{token}/resubscribe",
                          data={"form": links.make_form_token(links.RESUBSCRIBE, token)})
    run_jobs()

    assert refused.status_code == 409
    assert consent_of(message_id) == ("unsubscribed",
                                      "shopify:customers_email_marketing_consent/update")


def test_form_tokens_are_refused_when_missing_forged_expired_moved_or_for_another_action(
        shop, webhooks, run_jobs, client, smtp_sink, monkeypatch):
    mine = sent_message(shop, webhooks, run_jobs, email=OWN)
    theirs = sent_message(shop, webhooks, run_jobs, email="someone.else@example.com", run_id=2)
    token, their_token = path_of(mine).split("/")[-1], path_of(theirs).split("/")[-1]
    with monkeypatch.context() as past:
        hour_ago = time.time() - links.FORM_MAX_AGE.total_seconds() - 5
        past.setattr(time, "time", lambda: hour_ago)
        expired = links.make_form_token(links.PAUSE, token)
    refused = {
        "none": {},
        "empty": {"form": ""},
        "forged": {"form": links.make_form_token(links.PAUSE, token)[:-3] + "xyz"},
        "expired": {"form": expired},
        "another address's": {"form": form_token(client.get(path_of(theirs)).text, "pause")},
        "another action's": {"form": links.make_form_token(links.RESUBSCRIBE, token)},
        "a link token": {"form": token},
    }
    answers = set()
    for why, data in refused.items():
        response = client.post(f"/u/{token}/pause", data=data)
        assert response.status_code == 404, why
        answers.add(response.text)
    # A good form token under a forged, altered, foreign-store or unknown link token.
    for forged in forged_tokens(mine, shop.id):
        for action in (links.PAUSE, links.RESUBSCRIBE):
            response = client.post(f"/u/{forged}/{action}",
                                   data={"form": links.make_form_token(action, forged)})
            assert response.status_code == 404, forged
            answers.add(response.text)
        answers.add(client.get(f"/u/{forged}").text)

    assert len(answers) == 1 and "This link is not valid" in answers.pop()
    assert rows(MailPause) == [] and rows(Suppression) == []
    assert their_token != token


def test_a_huge_body_is_refused_unread_and_changes_nothing(shop, webhooks, run_jobs, client,
                                                           smtp_sink):
    message_id = sent_message(shop, webhooks, run_jobs, email=OWN)
    path = path_of(message_id)
    good = form_token(client.get(path).text, "pause")

    for body in ({"form": good, "padding": "x" * 3_000_000}, {"form": good + "x" * 100_000}):
        assert client.post(f"{path}/pause", data=body).status_code == 413
    assert rows(MailPause) == []


def test_nothing_personal_reaches_the_logs(shop, webhooks, run_jobs, client, smtp_sink, caplog):
    message_id = sent_message(shop, webhooks, run_jobs, email=OWN)
    path = path_of(message_id)

    with caplog.at_level(logging.DEBUG):
        choose(client, path, "pause")
        choose(client, path, "resubscribe")
        client.post(path)
        choose(client, path, "resubscribe")
        run_jobs()

    # Ours, not the test's SMTP server's (aiosmtpd logs each session it serves as "mail.log").
    logged = " ".join(f"{record.getMessage()} {record.__dict__}" for record in caplog.records
                      if record.name != "mail.log")
    assert "paused by link" in logged and "resubscribe by link" in logged
    assert OWN not in logged
    assert path.split("/")[-1] not in logged  # a link token is as good as the address
    with db.session() as session:
        assert session.execute(select(func.count()).select_from(Message)).scalar_one() == 1


def test_a_pause_is_in_the_customers_export_and_goes_with_their_erasure(
        shop, webhooks, run_jobs, client, smtp_sink):
    message_id = sent_message(shop, webhooks, run_jobs, email=OWN)
    choose(client, path_of(message_id), "pause")
    with db.session() as session:
        [exported] = export_customer(session, shop.id, OWN)["pauses"]
        compliance.redact_customer(session, shop.id, CustomerRedaction(None, OWN))

    assert exported["email"] == OWN and rows(MailPause) == []

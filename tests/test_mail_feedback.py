"""Bounces and complaints from the mail provider (app/mail/feedback, /webhooks/mail/<provider>):
the providers' published payloads, signed as each provider signs them, against the real app,
PostgreSQL and Redis; and the attacks: forged signatures, replays, certificates from other hosts,
reports about another store's message, bodies too large."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import func, select

from app.core.db import db
from app.mail import outbox
from app.mail.feedback import Malformed, Refused, message_id_header, sendgrid
from app.mail.feedback.sns import Sns, sns
from app.models import MessageEvent, Suppression
from tests.mail_feedback_helpers import (MAILGUN_KEY, POSTMARK_PASSWORD, TOPIC, SendGridSigner,
                                         SnsStub, basic, fixture, mailgun_signed, ses_notification)
from tests.mail_helpers import checkout_message, sent_message, status

EMAIL = "example@email.com"


@pytest.fixture
def signer():
    return SendGridSigner()


@pytest.fixture
def providers(app, monkeypatch, signer):
    """Every provider's webhook configured, as the operator's environment would."""
    settings = app.config["STOREFLOW"]
    monkeypatch.setitem(app.config, "STOREFLOW", settings.replace(
        ses_topic_arns=(TOPIC,), postmark_webhook_password=POSTMARK_PASSWORD,
        sendgrid_webhook_public_key=signer.public_key, mailgun_webhook_signing_key=MAILGUN_KEY))


@pytest.fixture
def sns_stub(monkeypatch):
    """SNS on loopback. Only the stub's URLs are added to the SNS host check (which is tested on
    its own below), and loopback is allowed as ALLOW_PRIVATE_ADDRESSES=1 would."""
    from connectors.netguard import policy

    stub = SnsStub().start()
    monkeypatch.setattr(policy, "allow_private", True)
    monkeypatch.setattr(sns, "trusted", lambda url: url.startswith(stub.url + "/") or Sns.trusted(sns, url))
    sns.forget()
    yield stub
    sns.forget()
    stub.stop()


def post(client, provider: str, body, headers: dict | None = None):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post(f"/webhooks/mail/{provider}", data=data, headers=headers or {},
                       content_type="application/json")


def suppressions() -> dict[tuple[int, str], str]:
    with db.session() as session:
        return {(row.store_id, row.email): row.reason
                for row in session.execute(select(Suppression)).scalars()}


def events() -> list[tuple[int, str]]:
    with db.session() as session:
        return [(row.message_id, row.kind) for row in session.execute(
            select(MessageEvent).order_by(MessageEvent.id)).scalars()]


def stored() -> int:
    with db.session() as session:
        return (session.execute(select(func.count()).select_from(MessageEvent)).scalar_one()
                + session.execute(select(func.count()).select_from(Suppression)).scalar_one())


@pytest.fixture
def message(shop, webhooks, run_jobs, smtp_sink):
    """A marketing message sent to EMAIL: (row id, Message-ID header)."""
    message_id = sent_message(shop, webhooks, run_jobs)
    return message_id, status(message_id).message_id


# --- Amazon SES through SNS -------------------------------------------------------------------

def test_ses_subscription_is_confirmed_at_the_sns_url(client, providers, sns_stub):
    response = post(client, "ses", sns_stub.envelope("", kind="SubscriptionConfirmation"))

    assert response.status_code == 200, response.json
    assert any(path.startswith("/confirm?Action=ConfirmSubscription") for path in sns_stub.requests)


def test_ses_hard_bounce_suppresses_once_however_often_it_is_delivered(
        client, providers, sns_stub, message, shop):
    row_id, header = message
    envelope = sns_stub.envelope(ses_notification("ses_bounce.json", header, EMAIL))

    first, again = post(client, "ses", envelope), post(client, "ses", envelope)

    assert first.status_code == 200 and first.json["recorded"] == 1
    assert again.status_code == 200 and again.json["duplicates"] == 1
    assert events() == [(row_id, "hard_bounce")]
    assert suppressions() == {(shop.id, EMAIL): "hard_bounce"}
    # The certificate was fetched once and kept.
    assert sum(path.endswith(".pem") for path in sns_stub.requests) == 1


def test_ses_complaint_suppresses_and_the_next_marketing_send_is_cancelled(
        client, providers, sns_stub, message, shop, webhooks, run_jobs, smtp_sink):
    row_id, header = message
    envelope = sns_stub.envelope(ses_notification("ses_complaint.json", header, EMAIL), version="2")

    assert post(client, "ses", envelope).status_code == 200

    assert suppressions() == {(shop.id, EMAIL): "complaint"}
    assert events() == [(row_id, "complaint")]
    later = checkout_message(shop, webhooks, run_jobs, run_id=2)
    assert outbox.deliver(later) == "cancelled"
    assert status(later).reason == "suppressed: complaint"
    assert len(smtp_sink.received) == 1  # only the first message ever left


def test_ses_message_signed_with_another_key_is_refused(client, providers, sns_stub, message):
    forged = sns_stub.envelope(ses_notification("ses_bounce.json", message[1], EMAIL),
                               key=rsa.generate_private_key(65537, 2048))

    response = post(client, "ses", forged)

    assert response.status_code == 401
    assert stored() == 0


def test_ses_message_altered_after_signing_is_refused(client, providers, sns_stub, message):
    envelope = sns_stub.envelope(ses_notification("ses_bounce.json", message[1], EMAIL))
    envelope["Message"] = envelope["Message"].replace("Permanent", "Transient")

    assert post(client, "ses", envelope).status_code == 401
    assert stored() == 0


def test_an_old_sns_message_replayed_is_refused(client, providers, sns_stub, message):
    old = sns_stub.envelope(ses_notification("ses_bounce.json", message[1], EMAIL),
                            published=datetime.now(timezone.utc) - timedelta(hours=2))

    response = post(client, "ses", old)

    assert response.status_code == 401 and "last hour" in response.json["error"]
    assert stored() == 0


def test_a_signing_certificate_on_another_host_is_never_fetched(client, providers, sns_stub, message):
    for url in ("https://sns.us-east-1.amazonaws.com.evil.example/cert.pem",
                "https://evil-bucket.s3.amazonaws.com/SimpleNotificationService-x.pem",
                "http://sns.us-east-1.amazonaws.com/SimpleNotificationService-x.pem"):
        envelope = sns_stub.envelope(ses_notification("ses_bounce.json", message[1], EMAIL),
                                     cert_url=url)
        response = post(client, "ses", envelope)
        assert response.status_code == 401, url
        assert "SigningCertURL" in response.json["error"]
    assert sns_stub.requests == []
    assert stored() == 0


def test_the_sns_host_check():
    check = Sns().trusted
    assert check("https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem")
    assert check("https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-abc.pem")
    assert check("https://sns.us-gov-west-1.amazonaws.com/?Action=ConfirmSubscription")
    for url in ("http://sns.us-east-1.amazonaws.com/x.pem",            # not https
                "https://sns.us-east-1.amazonaws.com:8443/x.pem",      # another port
                "https://user@sns.us-east-1.amazonaws.com/x.pem",      # user info
                "https://sns.us-east-1.amazonaws.com.evil.example/x.pem",
                "https://s3.amazonaws.com/sns.us-east-1.amazonaws.com/x.pem",
                "https://bucket.s3.us-east-1.amazonaws.com/x.pem",
                "https://sns.amazonaws.com/x.pem", "https://127.0.0.1/x.pem", "not a url"):
        assert not check(url), url


def test_a_certificate_on_a_private_address_is_refused_by_netguard(
        client, providers, sns_stub, message, monkeypatch):
    from connectors.netguard import policy

    monkeypatch.setattr(policy, "allow_private", False)  # production: loopback is not public
    response = post(client, "ses", sns_stub.envelope(
        ses_notification("ses_bounce.json", message[1], EMAIL)))

    assert response.status_code == 401 and "AddressRefused" in response.json["error"]
    assert sns_stub.requests == [] and stored() == 0


def test_ses_notification_from_another_topic_is_refused(client, providers, sns_stub, message):
    # Any AWS account can subscribe our URL to its own topic and have SNS sign for it.
    theirs = sns_stub.envelope(ses_notification("ses_bounce.json", message[1], EMAIL),
                               topic="arn:aws:sns:us-east-1:999999999999:someone-else")

    assert post(client, "ses", theirs).status_code == 401
    assert sns_stub.requests == [] and stored() == 0


def test_ses_soft_bounce_is_recorded_without_suppressing(client, providers, sns_stub, message):
    notification = ses_notification("ses_bounce.json", message[1], EMAIL)
    notification["bounce"]["bounceType"] = "Transient"

    assert post(client, "ses", sns_stub.envelope(notification)).status_code == 200

    assert events() == [(message[0], "soft_bounce")]
    assert suppressions() == {}


# --- Postmark ---------------------------------------------------------------------------------

def postmark_payload(name: str, header: str, email: str = EMAIL) -> dict:
    payload = fixture(name)
    payload["Metadata"] = {"storeflow-message": header}
    payload["Email"] = email
    return payload


def test_postmark_bounce_and_spam_complaint(client, providers, message, shop):
    auth = basic("postmark", POSTMARK_PASSWORD)

    bounce = post(client, "postmark", postmark_payload("postmark_bounce.json", message[1]), auth)
    complaint = post(client, "postmark", postmark_payload("postmark_spam_complaint.json", message[1]), auth)

    assert bounce.status_code == complaint.status_code == 200
    assert events() == [(message[0], "hard_bounce"), (message[0], "complaint")]
    assert suppressions() == {(shop.id, EMAIL): "hard_bounce"}  # the first reason is kept


def test_postmark_without_the_right_credentials_is_refused(client, providers, message):
    payload = postmark_payload("postmark_bounce.json", message[1])
    for headers in ({}, basic("postmark", "wrong-password-0123456789"),
                    basic("admin", POSTMARK_PASSWORD)):
        assert post(client, "postmark", payload, headers).status_code == 401
    assert stored() == 0


def test_outgoing_mail_carries_the_message_id_as_postmark_metadata(message, smtp_sink):
    [mail] = smtp_sink.received
    assert mail["X-PM-Metadata-storeflow-message"] == mail["Message-ID"] == message[1]


# --- SendGrid ---------------------------------------------------------------------------------

def test_sendgrids_own_signed_sample_verifies_with_its_key_and_nothing_else():
    sample = fixture("sendgrid_signed_sample.json")
    headers = {sendgrid.SIGNATURE: sample["signature"], sendgrid.TIMESTAMP: sample["timestamp"]}
    body = sample["payload"].encode()

    [event] = sendgrid.authenticate(sample["public_key"], headers, body)
    assert event["event"] == "dropped"
    with pytest.raises(Refused):
        sendgrid.authenticate(sample["public_key"], headers, body.replace(b"hello", b"hallo"))
    with pytest.raises(Refused):
        sendgrid.authenticate(SendGridSigner().public_key, headers, body)


def test_sendgrid_batch_records_bounces_and_spam_reports_and_ignores_the_rest(
        client, providers, signer, message, shop):
    batch = fixture("sendgrid_events.json")
    for n, event in enumerate(batch):
        event.update({"smtp-id": message[1], "email": EMAIL, "sg_event_id": f"event-{n}"})
    body = json.dumps(batch).encode()

    response = post(client, "sendgrid", body, signer.headers(body))

    assert response.status_code == 200
    assert response.json["recorded"] == 3  # the bounce, the drop for a bounced address, the spam report
    assert [kind for _, kind in events()] == ["hard_bounce", "hard_bounce", "complaint"]
    assert suppressions() == {(shop.id, EMAIL): "hard_bounce"}


def test_sendgrid_forged_signature_is_refused(client, providers, message):
    batch = fixture("sendgrid_events.json")
    for event in batch:
        event.update({"smtp-id": message[1], "email": EMAIL})
    body = json.dumps(batch).encode()

    response = post(client, "sendgrid", body, SendGridSigner().headers(body))

    assert response.status_code == 401
    assert stored() == 0


# --- Mailgun ----------------------------------------------------------------------------------

def mailgun_payload(name: str, header: str, email: str = EMAIL) -> dict:
    payload = fixture(name)
    payload["event-data"]["message"]["headers"]["message-id"] = header.strip("<>")
    payload["event-data"]["recipient"] = email
    return mailgun_signed(payload)


def test_mailgun_permanent_failure_suppresses_and_a_temporary_one_does_not(
        client, providers, message, shop):
    temporary = post(client, "mailgun", mailgun_payload("mailgun_failed_temporary.json", message[1]))
    assert temporary.status_code == 200 and suppressions() == {}

    permanent = post(client, "mailgun", mailgun_payload("mailgun_failed_permanent.json", message[1]))

    assert permanent.status_code == 200
    assert [kind for _, kind in events()] == ["soft_bounce", "hard_bounce"]
    assert suppressions() == {(shop.id, EMAIL): "hard_bounce"}


def test_mailgun_complaint_and_bad_signature(client, providers, message, shop):
    forged = mailgun_signed(mailgun_payload("mailgun_complained.json", message[1]),
                            key="another-signing-key")
    assert post(client, "mailgun", forged).status_code == 401
    assert stored() == 0

    assert post(client, "mailgun", mailgun_payload("mailgun_complained.json", message[1])).status_code == 200
    assert suppressions() == {(shop.id, EMAIL): "complaint"}


# --- Every provider ---------------------------------------------------------------------------

def test_a_report_about_another_stores_message_cannot_suppress_anyone(
        client, providers, message, shop, woo_store):
    # A message of the WooCommerce store, and a (validly signed) report naming it but with the
    # address of the Shopify store's recipient: the Message-ID names the store, the address
    # must be that message's own.
    with db.session() as session:
        theirs = outbox.queue_message(session, store_id=woo_store.id, email="someone@else.example",
                                      template="abandoned_checkout/email_1", marketing=True)
    with db.session() as session:
        from app.models import Message
        header = session.get(Message, theirs).message_id

    response = post(client, "mailgun", mailgun_payload("mailgun_complained.json", header, EMAIL))

    assert response.status_code == 404
    assert stored() == 0


def test_unknown_message_is_404_and_stores_nothing(client, providers, message):
    response = post(client, "mailgun", mailgun_payload(
        "mailgun_failed_permanent.json", "<not-ours@elsewhere.example>"))

    assert response.status_code == 404
    assert stored() == 0


def test_events_that_are_not_bounces_or_complaints_are_ignored(client, providers, message):
    payload = mailgun_payload("mailgun_complained.json", message[1])
    payload["event-data"]["event"] = "delivered"

    response = post(client, "mailgun", mailgun_signed(payload))

    assert response.status_code == 200 and response.json["status"] == "ignored"
    assert stored() == 0


def test_malformed_oversized_and_unconfigured(client, providers, app, monkeypatch, message):
    auth = basic("postmark", POSTMARK_PASSWORD)
    assert post(client, "postmark", b"{not json", auth).status_code == 400
    assert post(client, "postmark", b"[1, 2]", auth).status_code == 400
    huge = json.dumps({"RecordType": "Bounce", "Padding": "x" * (1024 * 1024)}).encode()
    assert post(client, "postmark", huge, auth).status_code == 413
    assert post(client, "nosuchprovider", {}).status_code == 404
    monkeypatch.setitem(app.config, "STOREFLOW", app.config["STOREFLOW"].replace(
        mailgun_webhook_signing_key=None))
    assert post(client, "mailgun", mailgun_payload("mailgun_complained.json", message[1])).status_code == 404
    assert stored() == 0


def test_message_ids_are_read_however_the_provider_spells_them():
    assert message_id_header("abc@storeflow.test") == "<abc@storeflow.test>"
    assert message_id_header(" <abc@storeflow.test> ") == "<abc@storeflow.test>"
    for junk in (None, 42, "", "<>", "no-at-sign", "<a b@c>", "<a@" + "x" * 300 + ">"):
        assert message_id_header(junk) is None


def test_malformed_payloads_are_refused_not_crashed_on():
    from app.mail.feedback import mailgun, postmark, ses

    with pytest.raises(Malformed):
        ses.reports({"Type": "Notification", "Message": json.dumps({"notificationType": "Bounce"})})
    with pytest.raises(Malformed):
        postmark.reports({"RecordType": "Bounce", "Type": "HardBounce"})
    with pytest.raises(Malformed):
        mailgun.reports({"event-data": {"event": "failed"}, "signature": {"token": "t"}})


# --- The overview -----------------------------------------------------------------------------

@pytest.fixture
def recorded_send(shop):
    """A sent abandoned-checkout email, as a row (no SMTP: `storeflow` rebinds the transport)."""
    from app.core import clock
    from app.models import Message

    with db.session() as session:
        row = Message(store_id=shop.id, email=EMAIL, flow="abandoned_checkout", step="email_1",
                      template="abandoned_checkout/email_1", context={}, marketing=True,
                      status="sent", message_id="<sent-1@storeflow.test>", sent_at=clock.now(),
                      created_at=clock.now(), updated_at=clock.now())
        session.add(row)
        session.flush()
        return row.id, row.message_id


def test_overview_shows_rates_per_flow_and_warns_above_gmails_complaint_line(
        client, providers, recorded_send, shop, storeflow):
    from datetime import timedelta as days

    from app.core import clock
    from app.models import Store
    from app.reports import report
    from tests.ui_helpers import sign_in

    # One abandoned-checkout email sent and reported as spam: 100 % > 0.3 %.
    complaint = mailgun_payload("mailgun_complained.json", recorded_send[1])
    assert post(client, "mailgun", complaint).status_code == 200
    with db.session() as session:
        stats = report.flow_stats(session, session.get(Store, shop.id), clock.now() - days(days=30))
    entry = stats["abandoned_checkout"]
    assert (entry.sent, entry.complained, entry.bounced) == (1, 1, 0)
    assert entry.over_complaint_line

    sign_in(client, storeflow, shop.id)
    page = client.get("/app/").get_data(as_text=True)

    assert "Spam complaints above Gmail's 0.3 % line" in page
    assert "1 of 1 sent, 100.0 %" in page and "100.0%" in page


def test_an_unsubscribe_counts_against_the_flow_that_last_mailed_the_address(message, shop):
    from datetime import timedelta as days

    from app.core import clock
    from app.models import Store
    from app.reports import report

    outbox.suppress(shop.id, EMAIL, "unsubscribed")
    with db.session() as session:
        stats = report.flow_stats(session, session.get(Store, shop.id), clock.now() - days(days=30))

    assert stats["abandoned_checkout"].unsubscribed == 1
    assert not stats["abandoned_checkout"].over_complaint_line


def test_below_the_line_there_is_no_warning():
    from app.reports.report import FlowStats

    assert not FlowStats("f", sent=1000, complained=3).over_complaint_line  # exactly 0.3 %
    assert FlowStats("f", sent=1000, complained=4).over_complaint_line
    assert not FlowStats("f").over_complaint_line


def test_provider_settings_are_checked_when_read():
    from app.core.config import ConfigError, load_config

    good = load_config({"SES_SNS_TOPIC_ARNS": f"{TOPIC}, arn:aws:sns:eu-west-1:123456789012:other",
                        "POSTMARK_WEBHOOK_PASSWORD": POSTMARK_PASSWORD,
                        "SENDGRID_WEBHOOK_PUBLIC_KEY": fixture("sendgrid_signed_sample.json")["public_key"],
                        "MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_KEY})
    assert good.ses_topic_arns == (TOPIC, "arn:aws:sns:eu-west-1:123456789012:other")
    for name, value in (("SES_SNS_TOPIC_ARNS", "storeflow-topic"),
                        ("POSTMARK_WEBHOOK_PASSWORD", "short"),
                        ("SENDGRID_WEBHOOK_PUBLIC_KEY", "not a key")):
        with pytest.raises(ConfigError, match=name):
            load_config({name: value})

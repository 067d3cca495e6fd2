"""The outbox sends each message once, checks suppression at send time, and sorts failures."""
from __future__ import annotations

from sqlalchemy import select

from app.db import db
from app.mail import outbox
from app.models import Suppression
from tests.mail_helpers import checkout_message, status


def test_a_message_is_valid_mime_with_html_text_and_headers(shop, webhooks, run_jobs, smtp_sink):
    # To the checkout customer's own address: their name goes to no other.
    message_id = checkout_message(shop, webhooks, run_jobs, email="john@example.com")

    assert outbox.deliver(message_id) == "sent"

    [mail] = smtp_sink.received
    for header in ("From", "To", "Subject", "Date", "Message-ID"):
        assert len(mail.get_all(header)) == 1, header
    assert mail["To"] == "john@example.com"
    assert mail["Message-ID"] == status(message_id).message_id
    assert mail["Subject"] == "John, your cart is saved"
    html = mail.get_body(("html",)).get_content()
    text = mail.get_body(("plain",)).get_content()
    assert "IPod Nano - 8GB" in html and "IPod Nano - 8GB" in text
    assert 'style="' in html  # CSS inlined for clients that drop <style>
    assert "checkouts/123123123/recover" in text
    assert status(message_id).status == "sent"


def test_the_same_step_queued_twice_is_one_message_and_delivering_twice_sends_once(
        shop, webhooks, run_jobs, smtp_sink):
    message_id = checkout_message(shop, webhooks, run_jobs)
    with db.session() as session:
        again = outbox.queue_message(session, store_id=shop.id, email="example@email.com",
                                     template="abandoned_checkout/email_1", marketing=True,
                                     run_id=1, step="email_1")
    assert again is None

    outbox.deliver(message_id)
    assert outbox.deliver(message_id) == "sent"

    assert len(smtp_sink.received) == 1


def test_an_unsubscribe_before_the_send_cancels_a_marketing_message(shop, webhooks, run_jobs,
                                                                     smtp_sink):
    message_id = checkout_message(shop, webhooks, run_jobs)
    outbox.suppress(shop.id, "example@email.com", "unsubscribed")

    assert outbox.deliver(message_id) == "cancelled"

    assert smtp_sink.received == []
    assert status(message_id).reason == "suppressed: unsubscribed"


def test_an_unsubscribe_does_not_stop_transactional_mail(shop, webhooks, run_jobs, smtp_sink):
    message_id = checkout_message(shop, webhooks, run_jobs, marketing=False)
    outbox.suppress(shop.id, "example@email.com", "unsubscribed")

    assert outbox.deliver(message_id) == "sent"


def test_a_permanent_refusal_fails_and_suppresses_the_address(shop, webhooks, run_jobs, smtp_sink):
    smtp_sink.refuse.add("example@email.com")
    message_id = checkout_message(shop, webhooks, run_jobs)

    assert outbox.deliver(message_id) == "failed"

    with db.session() as session:
        suppression = session.execute(select(Suppression)).scalar_one()
    assert (suppression.email, suppression.reason) == ("example@email.com", "hard_bounce")


def test_a_registered_guard_cancels_at_send_time(shop, webhooks, run_jobs, smtp_sink, monkeypatch):
    monkeypatch.setattr(outbox, "_guards", [lambda session, message: "customer ordered"])
    message_id = checkout_message(shop, webhooks, run_jobs)

    assert outbox.deliver(message_id) == "cancelled"
    assert status(message_id).reason == "customer ordered"
    assert smtp_sink.received == []


def test_over_the_transport_rate_a_message_waits_and_is_never_dropped(
        shop, webhooks, run_jobs, smtp_sink, config):
    from rq.registry import ScheduledJobRegistry

    from app.jobs import broker
    from app.mail.rate import send_rate

    send_rate.configure("2/minute", config.redis_url)
    try:
        ids = [checkout_message(shop, webhooks, run_jobs, run_id=None, step=None)
               for _ in range(3)]
        results = [outbox.deliver(message_id) for message_id in ids]
    finally:
        send_rate.configure(None, config.redis_url)

    assert results == ["sent", "sent", "deferred"]
    assert len(smtp_sink.received) == 2
    assert status(ids[2]).status == "queued"
    later = ScheduledJobRegistry(queue=broker.queue("mail")).get_job_ids()
    assert later == [f"mail-{ids[2]}-later"]
    # Once the window has passed, the scheduled job sends it.
    assert outbox.deliver(ids[2]) == "sent" and len(smtp_sink.received) == 3

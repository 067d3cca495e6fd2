"""Failing background jobs reach the merchant and the operator: on the overview in red, with a
count, the first error in words and what to do, and in `storeflow doctor`, which then fails;
and they leave both once the job succeeds. Jobs run in a real RQ worker, mail goes to a real
SMTP server on loopback."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.core import events
from app.core.db import db
from app.jobs import broker
from app.mail import outbox
from app.models import JobFailure, Message
from app.web.ui import auth
from tests.helpers import published, work
from tests.mail_helpers import checkout_message


def sign_in(client, store_id: int) -> None:
    """Sign in without `storeflow login-link`, which would bind this process's mail to the
    dev inbox in place of the test's SMTP server."""
    assert client.get(f"/app/login/{auth.login_token(store_id)}").status_code == 302


@pytest.fixture
def keep_transport():
    """The doctor binds this process to SMTP_URL like any command; put the test's back."""
    from app.mail.transport import transports

    previous = transports.current
    yield
    transports.current = previous


def queue_mail(shop, webhooks) -> int:
    """A transactional email about Shopify's published checkout, queued to ana@example.com."""
    message_id = checkout_message(shop, webhooks, work, marketing=False, email="ana@example.com")
    outbox.enqueue_delivery(message_id)
    return message_id


def test_a_mail_server_deferring_shows_on_the_overview_until_the_mail_goes(
        client, shop, webhooks, smtp_sink):
    smtp_sink.defer.add("ana@example.com")
    message_id = queue_mail(shop, webhooks)
    work("mail")

    sign_in(client, shop.id)
    page = client.get("/app/").get_data(as_text=True)
    assert "Sending email: 1 job failing since" in page
    assert ("the mail server did not take the message for now (TransientFailure); 1 still "
            "retrying on its own. What to do: it is retried; if it lasts, check the SMTP "
            "provider.") in page

    smtp_sink.defer.clear()
    # Sent in the end by another job than the one that failed, as mail deferred over the
    # sending rate is: the work succeeding is what clears it.
    broker.queue("mail").enqueue(outbox.deliver, message_id, None, job_id=f"mail-{message_id}-later")
    work("mail")
    with db.session() as session:
        assert session.get(Message, message_id).status == "sent"
        assert session.execute(select(JobFailure)).first() is None
    assert "job failing" not in client.get("/app/").get_data(as_text=True)


def test_an_ingest_that_keeps_failing_is_named_with_its_fix(client, shop, webhooks, monkeypatch):
    def overflowing(session, batch):
        raise OverflowError("date value out of range")  # a delay of 99999999999 hours did this

    monkeypatch.setattr(events, "publish", overflowing)
    webhooks.deliver("checkouts/create", published("shopify/checkouts_create.json"))
    work("ingest")

    sign_in(client, shop.id)
    page = client.get("/app/").get_data(as_text=True)
    assert ("Processing store events: 1 job failing since") in page
    assert ("a number too large to work with (OverflowError); 1 still retrying on its own. What "
            "to do: check the delays and other numbers on the Flows page.") in page
    assert "date value out of range" not in page  # the error's text is never kept


def test_doctor_lists_failing_jobs_and_fails(storeflow, shop, webhooks, smtp_sink, monkeypatch,
                                             keep_transport):
    monkeypatch.setenv("SMTP_URL", f"smtp://127.0.0.1:{smtp_sink.port}")
    smtp_sink.defer.add("ana@example.com")
    queue_mail(shop, webhooks)
    work("mail")

    result = storeflow("doctor", ok=False)
    assert result.exit_code == 1
    assert (f"[FAIL] store {shop.id} {shop.domain}: Sending email: 1 job(s) failing since "
            in result.output)
    assert "with TransientFailure (the mail server did not take the message for now), 1 still " \
           "retrying" in result.output
    assert "fix: it is retried; if it lasts, check the SMTP provider; failed jobs are on " \
           "BASE_URL/admin/jobs" in result.output


def test_another_stores_failures_stay_off_the_overview(client, shop, webhooks, woo_store,
                                                       smtp_sink):
    smtp_sink.defer.add("ana@example.com")
    queue_mail(shop, webhooks)
    work("mail")
    sign_in(client, woo_store.id)
    assert "job failing" not in client.get("/app/").get_data(as_text=True)
    with db.session() as session:
        assert session.execute(select(JobFailure.store_id)).scalar_one() == shop.id


def test_a_message_waiting_on_retries_shows_its_last_error_in_activity_and_on_its_page(
        client, shop, webhooks, smtp_sink):
    """The email stays Queued while the server defers it: Activity and the email's page say
    why in words, with what to do, and nothing of the server's reply or the address; once it
    goes, the error goes too."""
    smtp_sink.defer.add("ana@example.com")
    message_id = queue_mail(shop, webhooks)
    work("mail")

    sign_in(client, shop.id)
    listing = client.get("/app/activity").get_data(as_text=True)
    assert ("<div class=\"hint truncate hint-error\" data-last-error>Retrying: the mail server "
            "did not take the message for now</div>") in listing
    page = client.get(f"/app/activity/messages/{message_id}").get_data(as_text=True)
    said = page.split("<div data-last-error>")[1].split("</div>")[0]
    assert "Retrying: the mail server did not take the message for now (1 try, the last" in said
    assert "What to do: it is retried; if it lasts, check the SMTP provider." in said
    assert "ana@" not in said and "TransientFailure" not in said

    smtp_sink.defer.clear()
    broker.queue("mail").enqueue(outbox.deliver, message_id, None, job_id=f"mail-{message_id}-later")
    work("mail")
    assert "data-last-error" not in client.get("/app/activity").get_data(as_text=True)
    assert "data-last-error" not in client.get(
        f"/app/activity/messages/{message_id}").get_data(as_text=True)

"""A customer's consent, name and unsubscribe belong to their own address only, even when the
platform itself (a signed webhook) ties a checkout to them under another address: Shopify's
published checkout is John's (john@example.com) but typed with example@email.com."""
from __future__ import annotations

from urllib.parse import urlsplit

from sqlalchemy import select

from app.core.db import db
from app.mail import outbox
from app.models import Customer, Suppression
from tests.flow_helpers import (CHECKOUT_CUSTOMER, DAY, HOUR, MINUTE, SAMPLE_TIME, at,
                                checkout_sample, consent_update, enable, move_to)
from tests.mail_helpers import checkout_message

JOHN = "john@example.com"
TYPED = "example@email.com"  # the address the published checkout was typed with


def subscribe_john_and_abandon(webhooks, run_jobs) -> int:
    """John subscribes, then abandons a checkout typed with another address; his row id."""
    with at(SAMPLE_TIME + 5 * MINUTE):
        webhooks.deliver("customers_email_marketing_consent/update",
                         consent_update(CHECKOUT_CUSTOMER, JOHN))
        webhooks.deliver("checkouts/update", checkout_sample(SAMPLE_TIME, email=TYPED))
        run_jobs()
    with db.session() as session:  # his name, as his account at the shop has it
        customer = session.get(Customer, john().id)
        customer.first_name = customer.first_name or "John"
    return john().id


def john() -> Customer:
    with db.session() as session:
        return session.execute(select(Customer).where(Customer.email == JOHN)).scalar_one()


def test_johns_consent_sends_no_marketing_to_the_address_his_checkout_was_typed_with(
        shop, webhooks, run_jobs, smtp_sink):
    enable(shop.id, "abandoned_checkout")
    subscribe_john_and_abandon(webhooks, run_jobs)

    for later in (HOUR, DAY, 3 * DAY):
        move_to(SAMPLE_TIME + later, run_jobs)

    assert john().email_consent == "subscribed"
    assert smtp_sink.received == []


def test_mail_to_another_address_carries_nothing_of_johns(shop, webhooks, run_jobs, smtp_sink):
    john_id = subscribe_john_and_abandon(webhooks, run_jobs)
    message_id = checkout_message(shop, webhooks, run_jobs, email=TYPED, marketing=False,
                                  customer_id=john_id, run_id=None, step=None)

    assert outbox.deliver(message_id) == "sent"
    [mail] = smtp_sink.to(TYPED)
    body = mail.get_body(("plain",)).get_content() + mail.get_body(("html",)).get_content()
    assert john().first_name and john().first_name not in body + mail["Subject"]
    # The control: the same mail to John's own address greets him.
    own = checkout_message(shop, webhooks, run_jobs, email=JOHN, marketing=False,
                           customer_id=john_id, run_id=None, step=None)
    assert outbox.deliver(own) == "sent"
    [mine] = smtp_sink.to(JOHN)
    assert john().first_name in mine.get_body(("plain",)).get_content() + mine["Subject"]


def test_unsubscribing_from_mail_to_another_address_leaves_johns_consent(
        shop, webhooks, run_jobs, smtp_sink, client):
    john_id = subscribe_john_and_abandon(webhooks, run_jobs)
    with db.session() as session:
        session.get(Customer, john_id).email_consent = "subscribed"
    message_id = checkout_message(shop, webhooks, run_jobs, email=TYPED, marketing=True,
                                  customer_id=john_id, run_id=None, step=None)
    from app.mail import links

    with db.session() as session:
        url = links.unsubscribe_url(session.get(outbox.Message, message_id))

    assert client.post(urlsplit(url).path).status_code == 200

    assert john().email_consent == "subscribed"
    with db.session() as session:
        assert [s.email for s in session.execute(select(Suppression)).scalars()] == [TYPED]

"""The per-send consent ledger: each marketing email of a flow keeps the consent it was queued on
(state, source, time), shown on its page in the UI and in `storeflow customer export`; a
transactional one says it needed none; a store never sees another's ledger."""
from __future__ import annotations

import json

from sqlalchemy import select

from app.core.db import db
from app.ingest import consent
from app.mail import consent_ledger, outbox
from app.models import ConsentChange, Customer, Message, SendConsent
from tests.flow_helpers import (HOUR, MINUTE, SAMPLE_TIME, at, checkout_sample, consent_update,
                                enable, messages, move_to, order_sample)
from tests.mail_helpers import with_postal_address
from tests.ui_helpers import connect_rival, sign_in

JOHN = "john@example.com"  # the published checkout's and order's customer, at their own address
CHECKOUT_CUSTOMER = 603851970716743426
ORDER_CUSTOMER = 115310627314723954
CONSENTED = SAMPLE_TIME - 30 * 24 * HOUR


def ledger() -> list[SendConsent]:
    with db.session() as session:
        return list(session.execute(select(SendConsent).order_by(SendConsent.id)).scalars())


def export(storeflow, store_id: int, email: str = JOHN) -> dict:
    return json.loads(storeflow("customer", "export", "--store", str(store_id),
                                "--email", email).output)


def test_a_marketing_email_keeps_the_consent_it_was_queued_on(shop, webhooks, run_jobs,
                                                               client, storeflow):
    enable(shop.id, "abandoned_checkout")
    with at(SAMPLE_TIME + 5 * MINUTE):
        webhooks.deliver("customers_email_marketing_consent/update",
                         consent_update(CHECKOUT_CUSTOMER, JOHN, updated=CONSENTED))
        webhooks.deliver("checkouts/update", checkout_sample(SAMPLE_TIME))
        run_jobs()
    move_to(SAMPLE_TIME + HOUR, run_jobs)

    [message] = messages("abandoned_checkout")
    assert message.status == "sent"
    [entry] = ledger()
    with db.session() as session:
        change = session.execute(select(ConsentChange)).scalar_one()
    assert (entry.message_id, entry.customer_id, entry.consent_change_id) == (
        message.id, message.customer_id, change.id)
    assert (entry.state, entry.opt_in_level, entry.source, entry.consented_at) == (
        "subscribed", "single_opt_in", "shopify:customers_email_marketing_consent/update",
        CONSENTED)
    assert entry.judged_at == SAMPLE_TIME + HOUR

    sign_in(client, storeflow, shop.id)
    page = client.get(f"/app/activity/messages/{message.id}").get_data(as_text=True)
    assert "subscribed to marketing email, as Shopify reported" in page
    assert CONSENTED.date().isoformat() in page
    [exported] = export(storeflow, shop.id)["messages"]
    assert exported["consent_basis"]["ledger"]["source"] == entry.source
    assert exported["consent_basis"]["ledger"]["consent_change_id"] == change.id
    assert exported["consent_basis"]["in_words"].startswith("subscribed to marketing email")


def test_a_transactional_email_records_no_consent_and_says_so(shop, webhooks, run_jobs,
                                                               client, storeflow):
    enable(shop.id, "order_updates")
    with at(SAMPLE_TIME + MINUTE):  # never subscribed: order updates go all the same
        webhooks.deliver("orders/create", order_sample(SAMPLE_TIME))
        run_jobs()
    move_to(SAMPLE_TIME + 24 * HOUR, run_jobs)

    [message] = [m for m in messages("order_updates") if m.status == "sent"]
    assert not message.marketing and ledger() == []
    sign_in(client, storeflow, shop.id)
    page = client.get(f"/app/activity/messages/{message.id}").get_data(as_text=True)
    assert "transactional: sent whatever their marketing consent" in page
    [exported] = export(storeflow, shop.id)["messages"]
    assert exported["consent_basis"] == {
        "in_words": "transactional: sent whatever their marketing consent", "ledger": None}


def test_consent_withdrawn_at_the_store_after_queueing_stops_the_send(shop, webhooks, run_jobs,
                                                                       smtp_sink):
    """Shopify reports the unsubscribe (no link of ours, so no suppression): the email queued on
    the subscription does not leave."""
    with_postal_address(shop.id)
    with at(SAMPLE_TIME):
        webhooks.deliver("customers_email_marketing_consent/update",
                         consent_update(ORDER_CUSTOMER, JOHN))
        run_jobs()
    with db.session() as session:
        customer_id = session.execute(select(Customer.id)).scalar_one()
        message_id = outbox.queue_message(
            session, store_id=shop.id, email=JOHN, template="win_back/email_1", marketing=True,
            customer_id=customer_id, flow="win_back", run_id=77, step="email_1")
    with at(SAMPLE_TIME + MINUTE):
        webhooks.deliver("customers_email_marketing_consent/update", consent_update(
            ORDER_CUSTOMER, JOHN, state="unsubscribed", updated=SAMPLE_TIME + MINUTE))
        run_jobs()

    assert outbox.deliver(message_id) == "cancelled"
    with db.session() as session:
        assert session.get(Message, message_id).reason == "marketing consent withdrawn"
    assert smtp_sink.received == []
    [entry] = ledger()
    assert entry.state == "subscribed"  # what it was queued on, kept as it was


def test_a_store_never_sees_another_stores_ledger(shop, storeflow, client):
    """The same address is a subscribed customer of both stores, mailed by both: each store's
    export, ledger and pages hold its own consent and message only."""
    rival = connect_rival()
    queued = {}
    for store, source in ((rival, "shopify:rival-only"), (shop, "shopify:customers/update")):
        with_postal_address(store.id)
        with db.session() as session:
            customer = Customer(store_id=store.id, platform_id=5, email=JOHN, tags=[])
            session.add(customer)
            session.flush()
            consent.record(session, store.id, customer.id, "subscribed", source=source,
                           occurred_at=CONSENTED)
            queued[store.id] = outbox.queue_message(
                session, store_id=store.id, email=JOHN, template="win_back/email_1",
                marketing=True, customer_id=customer.id, flow="win_back",
                run_id=100 + store.id, step="email_1")

    exported = export(storeflow, shop.id)
    [message] = exported["messages"]
    assert message["id"] == queued[shop.id]
    assert message["consent_basis"]["ledger"]["source"] == "shopify:customers/update"
    assert "rival" not in json.dumps(exported).lower()
    with db.session() as session:
        assert consent_ledger.of_messages(session, shop.id, list(queued.values())).keys() == {
            queued[shop.id]}
    sign_in(client, storeflow, shop.id)
    assert client.get(f"/app/activity/messages/{queued[rival.id]}").status_code == 404

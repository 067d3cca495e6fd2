"""An unsubscribe (or a confirmed opt-in) that reaches Storeflow is written to the customer's own
consent record in Shopify, so the merchant's other tools honour it too: against the Admin API
stub answering with the published mutation payload. (A flow's tag reaching Shopify is part of
the first/repeat purchase test in test_flow_lifecycle.py.)"""
from __future__ import annotations

import logging
from urllib.parse import urlsplit

import pytest
from rq.registry import ScheduledJobRegistry
from sqlalchemy import select

from app.core import clock
from app.core.db import db
from app.ingest import consent
from app.jobs import broker
from app.mail import links
from app.models import Customer, Store, StoreNotice, Suppression
from app.sync import writeback
from tests.helpers import SHOP
from tests.mail_helpers import sent_message, status

# The published checkout's customer: mail to their own address is what acts on their consent.
OWN = "john@example.com"


def unsubscribe(client, message_id: int) -> None:
    path = urlsplit(links.unsubscribe_url(status(message_id))).path
    assert client.post(path, data={"List-Unsubscribe": "One-Click"}).status_code == 200


def customer_of(message_id: int) -> Customer:
    with db.session() as session:
        return session.get(Customer, status(message_id).customer_id)


def test_an_unsubscribe_is_written_to_the_customers_consent_in_shopify_once(
        shop, webhooks, run_jobs, client, smtp_sink, shopify):
    message_id = sent_message(shop, webhooks, run_jobs, email=OWN)
    unsubscribe(client, message_id)
    unsubscribe(client, message_id)  # a second click changes nothing, here or there
    run_jobs()

    customer = customer_of(message_id)
    assert customer.platform_id is not None
    assert shopify.consent_updates[SHOP] == [{
        "customerId": f"gid://shopify/Customer/{customer.platform_id}",
        "emailMarketingConsent": {
            "marketingState": "UNSUBSCRIBED",
            "consentUpdatedAt": customer.email_consent_updated_at.isoformat()},
    }]


def test_a_confirmed_double_opt_in_is_written_as_confirmed(shop, webhooks, run_jobs, smtp_sink,
                                                           shopify):
    customer = customer_of(sent_message(shop, webhooks, run_jobs, email=OWN))
    with db.session() as session:
        consent.confirm(session, shop.id, customer.id, clock.now())
    run_jobs()

    [written] = shopify.consent_updates[SHOP]
    assert written["emailMarketingConsent"]["marketingState"] == "SUBSCRIBED"
    assert written["emailMarketingConsent"]["marketingOptInLevel"] == "CONFIRMED_OPT_IN"


def test_a_shopify_outage_retries_the_write_later_and_loses_it_not(
        shop, webhooks, run_jobs, client, smtp_sink, shopify):
    message_id = sent_message(shop, webhooks, run_jobs, email=OWN)
    shopify.failures[SHOP] = 3  # every quick retry of the first attempt meets a 503
    unsubscribe(client, message_id)
    run_jobs()
    assert shopify.consent_updates[SHOP] == []
    sync = broker.queue("sync")
    [retry] = ScheduledJobRegistry(queue=sync).get_job_ids()

    sync.enqueue_job(sync.fetch_job(retry))  # its time has come
    run_jobs()
    [written] = shopify.consent_updates[SHOP]
    assert written["emailMarketingConsent"]["marketingState"] == "UNSUBSCRIBED"


def test_without_write_customers_the_unsubscribe_holds_and_the_merchant_is_told_once(
        shop, webhooks, run_jobs, client, smtp_sink, shopify):
    shopify.missing_scopes[SHOP].add("write_customers")
    message_id = sent_message(shop, webhooks, run_jobs, email=OWN)
    with db.session() as session:
        other = Customer(store_id=shop.id, platform_id=4242, email="other@example.com",
                         email_consent="subscribed")
        session.add(other)
    unsubscribe(client, message_id)
    with db.session() as session:  # another customer unsubscribes the same day
        consent.withdraw(session, shop.id, other.id, clock.now())
    run_jobs()

    assert shopify.calls.count((SHOP, "customerEmailMarketingConsentUpdate")) == 2
    assert shopify.consent_updates[SHOP] == []
    assert ScheduledJobRegistry(queue=broker.queue("sync")).get_job_ids() == []  # no retrying
    with db.session() as session:
        suppressed = session.execute(select(Suppression.email)).scalars().all()
        notices = session.execute(select(StoreNotice).where(
            StoreNotice.kind == writeback.REFUSED)).scalars().all()
    assert status(message_id).email in suppressed  # Storeflow still honours it
    [notice] = notices
    assert notice.count == 2 and "write_customers" in notice.detail
    assert "@" not in notice.detail


def test_input_shopify_refuses_for_one_customer_is_logged_not_put_to_the_merchant(
        shop, webhooks, run_jobs, client, smtp_sink, shopify, caplog):
    # The mutation's documented error codes (CustomerEmailMarketingConsentUpdateUserErrorCode);
    # the customer must have an email address at Shopify.
    shopify.consent_user_errors[SHOP] = [{"field": ["input", "customerId"], "code": "INVALID",
                                          "message": "Customer must have an email address"}]
    message_id = sent_message(shop, webhooks, run_jobs, email=OWN)
    unsubscribe(client, message_id)
    run_jobs()

    assert "consent write-back refused: Customer must have an email address" in caplog.text
    sync = broker.queue("sync")
    assert sync.failed_job_registry.get_job_ids() == []
    assert ScheduledJobRegistry(queue=sync).get_job_ids() == []
    with db.session() as session:
        assert session.execute(select(StoreNotice)).scalars().all() == []


def test_a_rolled_back_unsubscribe_writes_nothing_back(shop, webhooks, run_jobs, smtp_sink,
                                                        shopify):
    customer = customer_of(sent_message(shop, webhooks, run_jobs, email=OWN))
    with pytest.raises(RuntimeError), db.session() as session:
        consent.withdraw(session, shop.id, customer.id, clock.now())
        raise RuntimeError("the request failed after recording it")
    assert broker.queue("sync").count == 0
    run_jobs()

    assert shopify.consent_updates[SHOP] == []
    assert (SHOP, "customerEmailMarketingConsentUpdate") not in shopify.calls


def test_a_state_shopify_sets_itself_is_never_sent(shop, webhooks, run_jobs, client, smtp_sink,
                                                     shopify):
    message_id = sent_message(shop, webhooks, run_jobs, email=OWN)
    unsubscribe(client, message_id)
    run_jobs("ingest")  # the unsubscribe is recorded and its write-back queued
    with db.session() as session:  # before that job runs, Shopify redacts the customer
        session.get(Customer, status(message_id).customer_id).email_consent = "redacted"
    run_jobs()

    assert (SHOP, "customerEmailMarketingConsentUpdate") not in shopify.calls
    sync = broker.queue("sync")
    assert sync.failed_job_registry.get_job_ids() == []
    assert ScheduledJobRegistry(queue=sync).get_job_ids() == []


def test_a_store_connected_without_api_access_is_not_written_to(shop, webhooks, run_jobs,
                                                                 client, smtp_sink, shopify):
    message_id = sent_message(shop, webhooks, run_jobs, email=OWN)
    with db.session() as session:  # like the demo store: webhooks, no Admin API token
        session.get(Store, shop.id).access_token = None
    unsubscribe(client, message_id)
    run_jobs()

    assert (SHOP, "customerEmailMarketingConsentUpdate") not in shopify.calls
    with db.session() as session:
        assert session.execute(select(StoreNotice)).scalars().all() == []


def test_a_woocommerce_unsubscribe_stays_here_and_the_job_ends_cleanly(woo_store, run_jobs,
                                                                         caplog):
    caplog.set_level(logging.INFO, logger=writeback.log.name)
    with db.session() as session:
        customer = Customer(store_id=woo_store.id, platform_id=25, email="john.doe@example.com",
                            email_consent="subscribed")
        session.add(customer)
    with db.session() as session:
        consent.withdraw(session, woo_store.id, customer.id, clock.now())
    run_jobs()

    sync = broker.queue("sync")
    assert sync.failed_job_registry.get_job_ids() == []
    assert ScheduledJobRegistry(queue=sync).get_job_ids() == []
    assert "consent kept here only: woocommerce" in caplog.text
    assert "john.doe" not in caplog.text

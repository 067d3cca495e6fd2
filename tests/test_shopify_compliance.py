"""Shopify's mandatory privacy webhooks and app/uninstalled, through signed deliveries and a
real worker: erase a customer everywhere, erase a shop, answer a data request, stop at once."""
from __future__ import annotations

import copy
import logging
from datetime import datetime, timezone

import pytest
from sqlalchemy import select, text

from app.core import stores
from app.core.db import Base, db
from app.mail.outbox import queue_message, suppress
from app.models import DataRequest, Message, ProductView, Store, Visitor, WebhookEvent
from tests.flow_helpers import consent_update
from tests.helpers import API_SECRET, SHOP, published

COMPLIANCE = ("customers/redact", "shop/redact", "customers/data_request")
REDACTED_ID, EMAIL, PHONE = 191167, "john@example.com", "555-625-1199"  # customers_redact.json
OTHER_SHOP = "other-shop.myshopify.com"
REFUSED = "unknown shop or invalid signature"


def deliver(webhooks, topic, payload, shop=SHOP, **kwargs):
    return webhooks.deliver(topic, payload, secret=API_SECRET, shop=shop, **kwargs)


def a_customer_with_history(webhooks, run_jobs, store_id: int, shop: str = SHOP) -> None:
    """The redacted customer, known to `shop` through every kind of row we keep."""
    person = copy.deepcopy(published("shopify/customers_create.json"))
    person.update(id=REDACTED_ID, email=EMAIL, phone=PHONE)
    order = copy.deepcopy(published("shopify/orders_create.json"))
    order.update(id=299938, email=EMAIL, customer={**order["customer"], "id": REDACTED_ID})
    checkout = copy.deepcopy(published("shopify/checkouts_create.json"))
    checkout["customer"]["id"] = REDACTED_ID
    for topic, payload in [("customers/create", person), ("orders/create", order),
                           ("checkouts/update", checkout),
                           ("customers_email_marketing_consent/update",
                            consent_update(REDACTED_ID, EMAIL))]:
        assert deliver(webhooks, topic, payload, shop=shop).status_code == 200
    run_jobs()
    with db.session() as session:
        customer_id = session.execute(text(
            "SELECT id FROM customers WHERE store_id = :s AND platform_id = :p"),
            {"s": store_id, "p": REDACTED_ID}).scalar()
        session.add(Visitor(store_id=store_id, visitor_id="v-redacted", customer_id=customer_id))
        session.add(ProductView(store_id=store_id, visitor_id="v-redacted", customer_id=None,
                                product_id=788032119674292922, title="Example T-Shirt",
                                viewed_at=datetime(2026, 1, 1, tzinfo=timezone.utc)))
        queue_message(session, store_id=store_id, email=EMAIL, template="welcome/welcome",
                      marketing=True, customer_id=customer_id)
    suppress(store_id, EMAIL, "unsubscribed")


def rows_mentioning(store_id: int, *needles: str) -> dict[str, int]:
    """Every table's rows of this store whose text contains any of the needles."""
    found = {}
    with db.session() as session:
        for table in Base.metadata.sorted_tables:
            column = "id" if table.name == "stores" else "store_id"
            rows = session.execute(text(
                f"SELECT t::text FROM {table.name} t WHERE {column} = :s"), {"s": store_id}).scalars()
            hits = [row for row in rows if any(needle in row.lower() for needle in needles)]
            if hits:
                found[table.name] = len(hits)
    return found


@pytest.fixture
def other_store(installed_shop, shopify):
    with db.session() as session:
        store, _ = stores.connect(session, "shopify", OTHER_SHOP,
                                  access_token=shopify.issue_token(OTHER_SHOP), webhook_secret=None)
    return store


def test_customers_redact_leaves_no_personal_data_in_any_table(installed_shop, other_store,
                                                                 webhooks, run_jobs):
    a_customer_with_history(webhooks, run_jobs, installed_shop.id)
    a_customer_with_history(webhooks, run_jobs, other_store.id, shop=OTHER_SHOP)
    deliver(webhooks, "customers/data_request", published("shopify/customers_data_request.json"))
    run_jobs()
    needles = (EMAIL, PHONE, str(REDACTED_ID), "example@email.com", "299938")
    assert {"customers", "orders", "checkouts", "messages", "suppressions",
            "data_requests"} <= set(rows_mentioning(installed_shop.id, *needles))

    assert deliver(webhooks, "customers/redact",
                   published("shopify/customers_redact.json")).status_code == 200
    run_jobs()

    assert rows_mentioning(installed_shop.id, *needles) == {}
    with db.session() as session:
        [message] = session.execute(select(Message).where(Message.store_id == installed_shop.id)).scalars()
        assert (message.status, message.reason, message.email) == ("cancelled", "redacted", "redacted")
        assert session.execute(select(Visitor).where(Visitor.store_id == installed_shop.id)).first() is None
        assert session.execute(select(ProductView).where(ProductView.store_id == installed_shop.id)).first() is None
    # Another shop's customer with the same address is theirs, not this request's.
    assert "customers" in rows_mentioning(other_store.id, EMAIL)


def test_shop_redact_erases_an_uninstalled_shop_and_nothing_else(installed_shop, other_store,
                                                                 webhooks, run_jobs):
    a_customer_with_history(webhooks, run_jobs, installed_shop.id)
    a_customer_with_history(webhooks, run_jobs, other_store.id, shop=OTHER_SHOP)
    run_jobs()
    deliver(webhooks, "shop/redact", published("shopify/shop_redact.json"))
    run_jobs()
    with db.session() as session:
        assert session.get(Store, installed_shop.id).installed  # an installed shop keeps its data

    deliver(webhooks, "app/uninstalled", published("shopify/app_uninstalled.json"))
    deliver(webhooks, "shop/redact", published("shopify/shop_redact.json"))
    run_jobs()

    assert rows_mentioning(installed_shop.id, "") == {}
    assert rows_mentioning(other_store.id, EMAIL)
    # Once purged, a repeated request finds nothing held and is still answered 200.
    assert deliver(webhooks, "shop/redact", published("shopify/shop_redact.json")).status_code == 200


def test_a_data_request_keeps_the_export_for_the_merchant_and_logs_no_personal_data(
        installed_shop, webhooks, run_jobs, caplog):
    a_customer_with_history(webhooks, run_jobs, installed_shop.id)
    run_jobs()
    caplog.set_level(logging.INFO)
    deliver(webhooks, "customers/data_request", published("shopify/customers_data_request.json"))
    run_jobs()

    with db.session() as session:
        request = session.execute(select(DataRequest)).scalar_one()
        assert (request.request_id, request.customer_platform_id) == (9999, REDACTED_ID)
        assert [o["platform_id"] for o in request.export["orders"]] == [299938]
        assert request.export["customers"][0]["phone"] == PHONE
        inbox = session.execute(text(
            "SELECT body FROM webhook_events WHERE topic = 'customers/data_request'")).scalar()
        assert EMAIL.encode() not in bytes(inbox)
    assert EMAIL not in caplog.text and PHONE not in caplog.text


@pytest.mark.parametrize("topic", COMPLIANCE)
def test_compliance_webhooks_with_a_bad_signature_get_401(installed_shop, webhooks, topic):
    payload = published(f"shopify/{topic.replace('/', '_')}.json")
    assert deliver(webhooks, topic, payload, signature="forged").status_code == 401
    assert webhooks.deliver(topic, payload, secret="not-our-secret").status_code == 401
    # Also for a shop we never knew: it is the app's secret that must sign.
    unknown = "never-installed.myshopify.com"
    assert deliver(webhooks, topic, payload, shop=unknown, signature="forged").status_code == 401
    assert deliver(webhooks, topic, payload, shop=unknown).status_code == 200


def test_app_uninstalled_stops_every_send_at_once(installed_shop, webhooks, run_jobs, smtp_sink):
    with db.session() as session:
        message_id = queue_message(session, store_id=installed_shop.id, email=EMAIL,
                                   template="welcome/welcome", marketing=False)

    deliver(webhooks, "app/uninstalled", published("shopify/app_uninstalled.json"))
    run_jobs()

    with db.session() as session:
        store = session.get(Store, installed_shop.id)
        assert store.uninstalled_at is not None and not store.installed
        assert store.access_token is None and store.refresh_token is None
        message = session.get(Message, message_id)
        assert (message.status, message.reason) == ("cancelled", "store uninstalled")
    assert smtp_sink.received == []


def inbox_rows() -> int:
    with db.session() as session:
        return session.query(WebhookEvent).count()


@pytest.mark.parametrize("topic", COMPLIANCE)
def test_a_privacy_request_for_a_shop_we_never_knew_is_answered_and_stores_nothing(
        shopify, webhooks, topic):
    """Signed with the app's secret it is answered 200, so Shopify stops asking; otherwise it
    is refused like any unsigned delivery."""
    unknown = "never-installed.myshopify.com"
    payload = published(f"shopify/{topic.replace('/', '_')}.json", shop=unknown)

    answered = deliver(webhooks, topic, payload, shop=unknown)
    forged = webhooks.deliver(topic, payload, shop=unknown, secret="not-our-secret")

    assert (answered.status_code, answered.json) == (200, {"status": "nothing held"})
    assert (forged.status_code, forged.json) == (401, {"error": REFUSED})
    assert inbox_rows() == 0


def test_without_the_public_apps_secret_no_privacy_request_for_an_unknown_shop_is_accepted(
        webhooks):
    """A deployment of custom apps only has no app-wide secret: an empty key signs nothing."""
    unknown = "never-installed.myshopify.com"
    payload = published("shopify/shop_redact.json", shop=unknown)

    response = webhooks.deliver("shop/redact", payload, shop=unknown, secret="")

    assert (response.status_code, response.json) == (401, {"error": REFUSED})
    assert inbox_rows() == 0


def test_a_privacy_request_whose_body_names_another_shop_is_refused(installed_shop, other_store,
                                                                    webhooks):
    """A public app's shops share one signing secret: a body about one shop, delivered in
    another's name, must not erase anything there."""
    payload = published("shopify/customers_redact.json")  # about SHOP

    response = deliver(webhooks, "customers/redact", payload, shop=OTHER_SHOP)

    assert (response.status_code, response.json) == (
        401, {"error": "the body was signed for another shop"})
    assert inbox_rows() == 0

"""Mutated published payloads never crash ingest and never write half a record: each one is
either stored whole or refused with a clear error on its inbox row."""
from __future__ import annotations

import copy
import json
import re

from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import func, select

from app.core.db import db
from app.ingest import inbox
from app.ingest.pipeline import ingest
from app.models import (Checkout, CheckoutLine, ConsentChange, Customer, Fulfillment, Order,
                        OrderLine, Product, WebhookEvent)
from tests.helpers import published


def _with(payload: dict, **fields) -> dict:
    return {**payload, **fields}


FULFILLMENT = published("shopify/fulfillments_create.json")
CONSENT = published("shopify/customers_email_marketing_consent_update.json")
ORDER = published("shopify/orders_create.json")
SAMPLES = {
    # Published bodies, with the published pieces the samples leave empty put in (a shipment in
    # the order, consent on the customers) so that their parsing is fuzzed too.
    "orders/create": _with(ORDER, fulfillments=[FULFILLMENT], customer=_with(
        ORDER["customer"], email_marketing_consent=CONSENT["email_marketing_consent"])),
    "checkouts/update": _with(published("shopify/checkouts_update.json"), buyer_accepts_marketing=True),
    "customers/update": _with(published("shopify/customers_update.json"),
                              email_marketing_consent=CONSENT["email_marketing_consent"]),
    "customers_email_marketing_consent/update": CONSENT,
    "fulfillments/update": FULFILLMENT,
    "products/update": published("shopify/products_update.json"),
    "products/delete": published("shopify/products_delete.json"),
}
# WooCommerce's published REST resources, which its webhooks deliver as they are.
WOO_SAMPLES = {
    "order.updated": published("woocommerce/order.json"),
    "customer.updated": published("woocommerce/customer.json"),
    "product.updated": published("woocommerce/product.json"),
}
TABLES = (Order, OrderLine, Checkout, CheckoutLine, Customer, ConsentChange, Fulfillment, Product)
WEIRD = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-2**70, max_value=2**70),
    st.floats(allow_nan=True), st.text(max_size=50), st.text(min_size=5000, max_size=6000),
    st.just("nul\x00byte"),  # PostgreSQL refuses NUL in text and jsonb
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3),
)


def paths(value, prefix=()):
    """Every key path in a JSON document."""
    if isinstance(value, dict):
        for key, child in value.items():
            yield prefix + (key,)
            yield from paths(child, prefix + (key,))
    elif isinstance(value, list):
        for index, child in enumerate(value[:2]):
            yield prefix + (index,)
            yield from paths(child, prefix + (index,))


def mutate(payload, path, action, replacement):
    payload = copy.deepcopy(payload)
    parent = payload
    for key in path[:-1]:
        parent = parent[key]
    if action == "delete" and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = replacement
    return payload


def rows() -> tuple[int, ...]:
    with db.session() as session:
        return tuple(session.execute(select(func.count()).select_from(model)).scalar_one()
                     for model in TABLES)


def _fuzz_one(store, platform: str, samples: dict, data) -> None:
    """Mutate one published sample at one path and ingest it: stored whole, or refused with a
    reason that names a field and writes nothing."""
    topic = data.draw(st.sampled_from(sorted(samples)))
    sample = samples[topic]
    path = data.draw(st.sampled_from(list(paths(sample))))
    payload = mutate(sample, path, data.draw(st.sampled_from(["delete", "replace"])), data.draw(WEIRD))
    body = json.dumps(payload).encode()
    before = rows()
    with db.session() as session:
        event_id = inbox.accept(session, store.id, platform, topic,
                                f"fuzz-{id(payload)}-{hash(body)}", body)
    if event_id is None:
        return

    ingest(event_id)  # must not raise

    with db.session() as session:
        event = session.get(WebhookEvent, event_id)
    assert event.processed_at is not None
    if event.error:
        assert rows() == before, "a refused payload wrote something"
        assert "@" not in event.error  # the reason names a field, never personal data
        assert re.search(r"'[\w.]+'", event.error), event.error


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_payloads_are_stored_whole_or_refused_clearly(shop, data):
    _fuzz_one(shop, "shopify", SAMPLES, data)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_woocommerce_payloads_are_stored_whole_or_refused_clearly(woo_store, data):
    _fuzz_one(woo_store, "woocommerce", WOO_SAMPLES, data)

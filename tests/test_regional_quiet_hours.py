"""Quiet hours in the recipient's region where their country spans several time zones: the state
or province of their address (Shopify's default_address.province_code, WooCommerce's
billing.state), its zone from iso3166-2's subdivisions and timezonefinder's boundaries; an
unknown one falls back to the store's zone as before."""
from __future__ import annotations

import copy
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from app.core.db import db
from app.models import Customer, Store
from flows.localtime import recipient_zone
from tests.flow_helpers import (CHECKOUT_CUSTOMER, HOUR, MINUTE, Person, enable, move_to,
                                shopper_abandons)
from tests.helpers import published

UTC = timezone.utc
CHICAGO = "America/Chicago"
# 03:00 UTC: 22:00 the evening before in New York, 21:00 in Chicago, 19:00 in Los Angeles.
DUE = datetime(2022, 1, 10, 3, 0, tzinfo=UTC)


@pytest.mark.parametrize("country, region, zone", [
    ("US", "CA", "America/Los_Angeles"), ("US", "NY", "America/New_York"),
    ("US", "ny", "America/New_York"), ("CA", "BC", "America/Vancouver"),
    ("CA", "ON", "America/Toronto"), ("AU", "WA", "Australia/Perth"),
    ("AU", "NSW", "Australia/Sydney"), ("BR", "AM", "America/Manaus"),
    ("RU", "KGD", "Europe/Kaliningrad"), ("MX", "ROO", "America/Cancun"),
    # A country of one zone needs no region; an unknown or missing region is the store's zone.
    ("JP", "13", "Asia/Tokyo"), ("US", "ZZ", CHICAGO), ("US", None, CHICAGO),
    ("US", "", CHICAGO), (None, "CA", CHICAGO),
])
def test_a_region_of_a_country_of_several_zones_has_its_own(country, region, zone):
    assert recipient_zone(country, CHICAGO, region) == ZoneInfo(zone)


@pytest.mark.parametrize("region, goes", [
    ("CA", DUE),  # 19:00 in California: it goes at once
    ("NY", datetime(2022, 1, 10, 13, 0, tzinfo=UTC)),  # 08:00 in New York
    (None, datetime(2022, 1, 10, 14, 0, tzinfo=UTC)),  # no state: 08:00 in the store's Chicago
], ids=["California", "New York", "no state"])
def test_shoppers_in_california_and_new_york_have_their_own_quiet_hours(
        region, goes, shop, webhooks, run_jobs, smtp_sink):
    """A Chicago store; the published customer, living in a US state (or naming none)."""
    with db.session() as session:
        session.get(Store, shop.id).settings = {"timezone": CHICAGO}
    enable(shop.id, "abandoned_checkout", quiet_hours="21:00-08:00")
    shopper = Person(CHECKOUT_CUSTOMER, "John", "Smith", "john@example.com", region=region)
    shopper_abandons(webhooks, run_jobs, shopper, DUE - HOUR)
    with db.session() as session:
        stored = session.execute(select(Customer.country_code, Customer.province_code)).one()
    assert tuple(stored) == ("US", region)

    move_to(DUE, run_jobs)
    assert len(smtp_sink.received) == (1 if goes == DUE else 0)
    move_to(goes - MINUTE, run_jobs)
    assert len(smtp_sink.received) == (1 if goes == DUE else 0)
    move_to(goes, run_jobs)
    assert len(smtp_sink.received) == 1


def test_woocommerce_keeps_the_billing_state(woo_store, woo_webhooks, run_jobs):
    payload = copy.deepcopy(published("woocommerce/customer.json"))
    woo_webhooks.deliver(woo_store.id, "customer.created", payload)
    payload.update(id=26, email="jane.roe@example.com", date_modified_gmt="2017-03-21T19:10:00")
    payload["billing"].update(state="NY", email="jane.roe@example.com")
    woo_webhooks.deliver(woo_store.id, "customer.created", payload)
    run_jobs()

    with db.session() as session:
        rows = session.execute(select(Customer.platform_id, Customer.country_code,
                                      Customer.province_code).order_by(Customer.platform_id)).all()
    assert [tuple(r) for r in rows] == [(25, "US", "CA"), (26, "US", "NY")]
    zones = {r.platform_id: recipient_zone(r.country_code, CHICAGO, r.province_code) for r in rows}
    assert zones == {25: ZoneInfo("America/Los_Angeles"), 26: ZoneInfo("America/New_York")}

"""A campaign's discount codes when things go wrong (issue 21): a pause or cancel while a chunk's
codes are being made stops the asking after the slice in flight; a code the platform refuses for
its record three times skips its recipient (the reason in the report) and the campaign finishes;
the check list will not send a campaign whose store cannot make codes; two draws of one code
never reach two recipients; a spent Shopify budget leaves the rest of a slice unasked."""
from __future__ import annotations

import itertools
from datetime import timedelta

import pytest

from app.campaigns import campaigns, codes, readiness, sending
from app.core.db import db
from app.models import Campaign, Store
from app.sync import discounts
from connectors.base import CodeOffer, CodeRefused
from connectors.shopify import ShopifyConnector
from connectors.woocommerce.coupons import batch_answers
from tests.campaign_helpers import NOW, recipients, report
from tests.helpers import SHOP, published
from tests.test_campaign_codes import PEOPLE, codes_mailed, design
from tests.test_campaign_codes import offer_shop  # noqa: F401 (a fixture)
from tests.ui_helpers import sign_in

ASKED = (SHOP, "discountCodeBasicCreate")
# Shopify's userErrors shape (field, code, message) for a customer it will not give a code to.
INVALID_CUSTOMER = [{"field": ["basicCodeDiscount", "context", "customers", "add"],
                     "code": "INVALID", "message": "Customer is invalid"}]


def asked(shopify) -> int:
    return shopify.calls.count(ASKED)


@pytest.mark.parametrize("command", ["pause", "cancel"])
def test_a_campaign_stopped_mid_slice_asks_for_no_more_codes(
        offer_shop, storeflow, run_jobs, smtp_sink, shopify, monkeypatch, command):
    monkeypatch.setattr(ShopifyConnector, "code_batch", 2)  # five recipients: slices of 2, 2, 1
    storeflow("campaigns", "send", "--store", offer_shop.domain, "Thanks")
    create = ShopifyConnector.create_discount

    def stopped_meanwhile(self, *args, **kwargs):  # the merchant stops it as the first code goes
        create(self, *args, **kwargs)
        if asked(shopify) == 1:
            storeflow("campaigns", command, "--store", offer_shop.domain, "Thanks")

    monkeypatch.setattr(ShopifyConnector, "create_discount", stopped_meanwhile)
    run_jobs()
    assert asked(shopify) == 2  # the slice in flight, and not one code more
    assert smtp_sink.received == [] and [r.discount_made for r in recipients()].count(True) == 2
    sending.sweep_campaigns()
    run_jobs()
    assert asked(shopify) == 2

    if command == "pause":  # resumed: the rest are made, and each gets one email
        storeflow("campaigns", "resume", "--store", offer_shop.domain, "Thanks")
        run_jobs()
        assert asked(shopify) == 5 and len(set(codes_mailed(smtp_sink).values())) == 5


def test_a_code_refused_three_times_skips_its_recipient_and_the_campaign_finishes(
        offer_shop, storeflow, run_jobs, smtp_sink, shopify):
    refused = PEOPLE[0]
    shopify.discount_user_errors[SHOP][f"gid://shopify/Customer/{refused.id}"] = INVALID_CUSTOMER
    storeflow("campaigns", "send", "--store", offer_shop.domain, "Thanks")
    run_jobs()
    figures = report(storeflow, offer_shop, "Thanks")
    assert (figures["status"], figures["sent"], figures["waiting_for_code"]) == ("sending", 4, 1)

    for _ in range(codes.REFUSALS - 1):  # the sweep asks again, until the third refusal
        assert sending.sweep_campaigns() == 1
        run_jobs()
    assert asked(shopify) == 4 + codes.REFUSALS
    assert sending.sweep_campaigns() == 0 and asked(shopify) == 4 + codes.REFUSALS
    figures = report(storeflow, offer_shop, "Thanks")
    assert (figures["status"], figures["sent"], figures["pending"]) == ("sent", 4, 0)
    assert figures["skipped_code_refused"] == {"discount code refused: Customer is invalid": 1}
    assert refused.email not in codes_mailed(smtp_sink)


def test_send_waits_for_a_store_that_can_make_codes(offer_shop, client, storeflow):
    csrf = sign_in(client, storeflow, offer_shop.id)
    with db.session() as session:
        campaign_id = campaigns.named(session, offer_shop.id, "Thanks").id
        store = session.get(Store, offer_shop.id)
        store.settings = {**store.settings, "from_email": "hello@teashop.example"}
        store.scopes = "read_customers,read_orders"  # an OAuth grant without write_discounts
    page = f"/app/campaigns/{campaign_id}"
    assert 'data-check="Discount codes" data-ok="no"' in client.get(page).get_data(as_text=True)
    refused = client.post(f"{page}/send", data={"csrf_token": csrf}, follow_redirects=True)
    assert "fix the check list first: Discount codes." in refused.get_data(as_text=True)

    with db.session() as session:
        assert session.get(Campaign, campaign_id).status == "draft" and recipients() == []
        session.get(Store, offer_shop.id).scopes = "read_customers,read_orders,write_discounts"
    assert 'data-check="Discount codes" data-ok="yes"' in client.get(page).get_data(as_text=True)
    client.post(f"{page}/send", data={"csrf_token": csrf})
    with db.session() as session:
        assert session.get(Campaign, campaign_id).status == "sending"


def test_a_woocommerce_store_without_keys_cannot_make_codes(woo_store):
    with db.session() as session:
        store = session.get(Store, woo_store.id)
        assert [c.ok for c in readiness.checks(store, design()) if c.label == "Discount codes"] \
            == [True]
        store.api_key = None
        [check] = [c for c in readiness.checks(store, design()) if c.label == "Discount codes"]
        assert not check.ok and "REST API keys" in check.fix
        without_block = {"format": 1, "blocks": [{"type": "footer"}]}
        assert "Discount codes" not in [c.label for c in readiness.checks(store, without_block)]


def test_two_draws_of_one_code_reach_two_recipients_with_distinct_codes(
        offer_shop, storeflow, run_jobs, smtp_sink, shopify, monkeypatch):
    drawer = discounts.new_code
    repeated = itertools.chain(["SF-0000000000AA"] * 2, iter(drawer, None))
    monkeypatch.setattr(discounts, "new_code", lambda: next(repeated))
    storeflow("campaigns", "send", "--store", offer_shop.domain, "Thanks")
    run_jobs()

    mailed = codes_mailed(smtp_sink)
    assert len(mailed) == 5 and len(set(mailed.values())) == 5
    assert sorted(mailed.values()) == sorted(d["code"] for d in shopify.discounts[SHOP])
    assert asked(shopify) == 5  # no "already exists" taken for another recipient's code


def test_a_spent_shopify_budget_leaves_the_rest_of_the_slice_unasked(shop, shopify):
    shopify.throttle[SHOP] = 10  # each code would wait for the bucket, then give up
    offers = [CodeOffer(f"SF-00000000000{n}", f"c{n}@example.com", None, NOW + timedelta(days=7))
              for n in range(5)]
    answers = discounts.create_codes(shop, offers, 10)
    assert shopify.calls.count((SHOP, "throttled")) == 2 and asked(shopify) == 0
    assert len(answers) == 5 and all("throttled" in why for why in answers.values())


def test_woocommerce_refusing_a_coupon_is_a_refusal_of_that_code_alone():
    made = published("woocommerce/coupons_batch.json")["create"][0]
    refused = {"id": 0, "error": {"code": "woocommerce_rest_invalid_email",
                                  "message": "Invalid email", "data": {"status": 400}}}
    answers = batch_answers(["SF-1", "SF-2", "SF-3"], {"create": [made, refused]})
    assert isinstance(answers["SF-2"], CodeRefused)
    assert not isinstance(answers["SF-3"], CodeRefused)  # no answer: asked again, not counted


# Per-item errors that say nothing against the coupon's record, shaped as WC_REST_Controller's
# batch_items writes a WP_Error (code, message, data): wp_insert_post's database error carries
# $wpdb->last_error as its data, no status; a permission error carries 401 or 403.
NOT_THE_RECORD = [
    {"code": "db_insert_error", "message": "Could not insert post into the database.",
     "data": "Deadlock found when trying to get lock"},
    {"code": "woocommerce_rest_cannot_create", "message": "Sorry, you are not allowed to create "
     "resources.", "data": {"status": 401}},
    {"code": "woocommerce_rest_cannot_create", "message": "Sorry, you cannot create resources.",
     "data": {"status": 403}},
    {"code": "internal_server_error", "message": "There has been a critical error.",
     "data": {"status": 500}},
]


@pytest.mark.parametrize("error", NOT_THE_RECORD, ids=lambda e: f"{e['code']}-{e['data']}")
def test_a_passing_or_access_error_in_a_woocommerce_batch_is_not_counted_as_a_refusal(error):
    answers = batch_answers(["SF-1"], {"create": [{"id": 0, "error": error}]})
    assert answers["SF-1"] == error["message"] and not isinstance(answers["SF-1"], CodeRefused)

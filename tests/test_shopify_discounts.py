"""Discount codes from the abandoned-checkout flow, made on the stub through
discountCodeBasicCreate: unique, single use, this customer only, ending when the flow says."""
from __future__ import annotations

from datetime import datetime

from tests.flow_helpers import (CHECKOUT_CUSTOMER, DAY, HOUR, MINUTE, SAMPLE_TIME, at,
                                checkout_sample, consent_update, enable, messages, move_to,
                                timeline)
from tests.helpers import API_SECRET, SHOP


def test_the_third_reminder_carries_a_code_made_for_this_customer(installed_shop, shopify,
                                                                  webhooks, run_jobs, smtp_sink):
    enable(installed_shop.id, "abandoned_checkout", discount_percent=15, discount_valid_days=7)
    with at(SAMPLE_TIME + 5 * MINUTE):
        webhooks.deliver("customers_email_marketing_consent/update",
                         consent_update(CHECKOUT_CUSTOMER, "john@example.com"), secret=API_SECRET)
        webhooks.deliver("checkouts/update", checkout_sample(), secret=API_SECRET)
        run_jobs()
    for hours in (1, 24, 72):
        move_to(SAMPLE_TIME + hours * HOUR, run_jobs)

    [discount] = shopify.discounts[SHOP]
    code = discount["code"]
    email_3 = [m for m in messages() if m.step == "email_3"][0]
    assert email_3.status == "sent"
    body = smtp_sink.to("john@example.com")[-1].get_body(("plain",)).get_content()
    assert code in body
    assert discount["customerGets"]["value"] == {"percentage": 0.15}
    assert discount["context"] == {"customers": {"add": [f"gid://shopify/Customer/{CHECKOUT_CUSTOMER}"]}}
    assert (discount["usageLimit"], discount["appliesOncePerCustomer"]) == (1, True)
    ends = datetime.fromisoformat(discount["endsAt"]) - datetime.fromisoformat(discount["startsAt"])
    assert ends == 7 * DAY


def test_without_the_discount_scope_the_email_goes_without_a_code(shop, shopify, webhooks,
                                                                  run_jobs, smtp_sink):
    # A custom app installed with read scopes only: Shopify denies the mutation.
    shopify.missing_scopes[SHOP].add("write_discounts")
    enable(shop.id, "abandoned_checkout")
    with at(SAMPLE_TIME + 5 * MINUTE):
        webhooks.deliver("customers_email_marketing_consent/update",
                         consent_update(CHECKOUT_CUSTOMER, "john@example.com"))
        webhooks.deliver("checkouts/update", checkout_sample())
        run_jobs()
    for hours in (1, 24, 72):
        move_to(SAMPLE_TIME + hours * HOUR, run_jobs)

    assert [(m.step, m.status) for m in messages()] == [
        ("email_1", "sent"), ("email_2", "sent"), ("email_3", "sent")]
    assert shopify.discounts[SHOP] == []
    [(step, detail)] = [(step, detail) for kind, step, detail in timeline(shop.id, "john@example.com")
                        if kind == "skipped"]
    assert step == "discount" and detail.startswith("the store refused the code")

"""The operator's flow commands: list, switch, set, move time, read a timeline."""
from __future__ import annotations

import json

from tests.flow_helpers import (CHECKOUT_CUSTOMER, HOUR, MINUTE, SAMPLE_TIME, at,
                                checkout_sample, consent_update)


def test_flows_list_enable_set_and_disable(storeflow, shop):
    listed = json.loads(storeflow("flows", "list", "--store", str(shop.id), "--json").output)
    assert [flow["name"] for flow in listed] == [
        "abandoned_checkout", "abandoned_cart", "browse_abandonment", "order_updates",
        "post_purchase", "first_repeat_purchase", "win_back", "welcome", "birthday"]
    assert not any(flow["enabled"] for flow in listed)

    storeflow("settings", "set", "--store", shop.domain, "postal_address=12 Orchard Lane")
    storeflow("flows", "enable", "--store", shop.domain, "abandoned_checkout")
    storeflow("flows", "set", "--store", shop.domain, "abandoned_checkout",
              "discount_percent=15", "holdout_percent=10", "email_1_delay_hours=2")
    listed = json.loads(storeflow("flows", "list", "--store", str(shop.id), "--json").output)
    checkout = listed[0]
    assert checkout["enabled"] is True
    assert (checkout["settings"]["discount_percent"], checkout["settings"]["holdout_percent"],
            checkout["settings"]["email_1_delay_hours"]) == (15, 10, 2)

    storeflow("flows", "disable", "--store", shop.domain, "abandoned_checkout")
    listed = json.loads(storeflow("flows", "list", "--store", str(shop.id), "--json").output)
    assert listed[0]["enabled"] is False and listed[0]["settings"]["discount_percent"] == 15


def test_a_bad_flow_or_setting_is_a_clear_error(storeflow, shop):
    unknown = storeflow("flows", "enable", "--store", shop.domain, "nope", ok=False)
    assert unknown.exit_code != 0 and "no flow 'nope'" in unknown.output
    bad = storeflow("flows", "set", "--store", shop.domain, "win_back", "lapse_days=soon", ok=False)
    assert bad.exit_code != 0 and "lapse_days" in bad.output


def test_tick_at_sync_sends_what_is_due_then_and_the_timeline_explains_it(
        storeflow, shop, webhooks, run_jobs, smtp_sink, monkeypatch):
    monkeypatch.setenv("SMTP_URL", f"smtp://127.0.0.1:{smtp_sink.port}")
    storeflow("settings", "set", "--store", shop.domain, "quiet_hours=off",
              "postal_address=12 Orchard Lane, Portland")
    storeflow("flows", "enable", "--store", shop.domain, "abandoned_checkout")
    with at(SAMPLE_TIME + MINUTE):
        webhooks.deliver("customers_email_marketing_consent/update",
                         consent_update(CHECKOUT_CUSTOMER, "john@example.com"))
        webhooks.deliver("checkouts/update", checkout_sample())
        run_jobs()

    early = storeflow("tick", "--at", (SAMPLE_TIME + 30 * MINUTE).isoformat(), "--sync")
    assert "queued 0" in early.output and smtp_sink.received == []
    storeflow("tick", "--at", (SAMPLE_TIME + HOUR).isoformat(), "--sync")

    assert len(smtp_sink.to("john@example.com")) == 1
    lines = storeflow("timeline", "--store", shop.domain, "--email", "john@example.com").output
    assert "abandoned_checkout: enrolled" in lines
    assert "abandoned_checkout email_1: sent" in lines
    entries = json.loads(storeflow("timeline", "--store", shop.domain, "--email",
                                   "john@example.com", "--json").output)
    assert [e["kind"] for e in entries] == ["enrolled", "sent"]
    assert entries[1]["at"] == (SAMPLE_TIME + HOUR).isoformat()

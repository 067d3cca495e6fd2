"""A campaign's holdout: a fixed share of its recipients, drawn by hash, is never sent, and the
report compares their orders with the orders of those who got it (real orders by webhook)."""
from __future__ import annotations

import hashlib
from datetime import timedelta
from decimal import Decimal

import pytest
from scipy import stats

from tests.campaign_engine_helpers import buys, by_status, everyone, people
from tests.campaign_helpers import NOW, recipients, report
from tests.flow_helpers import HOUR, at

PEOPLE = people(8)
CREATE = ("--segment", "Everyone", "--subject", "Spring teas", "--body", "Fresh.")


@pytest.fixture
def leaf_shop(shop, webhooks, run_jobs, storeflow, smtp_sink, monkeypatch):
    monkeypatch.setenv("SMTP_URL", f"smtp://127.0.0.1:{smtp_sink.port}")
    everyone(shop, webhooks, run_jobs, storeflow, NOW, PEOPLE)
    return shop


def test_the_held_out_share_is_never_sent_and_the_report_says_what_the_campaign_added(
        leaf_shop, storeflow, webhooks, run_jobs, smtp_sink):
    with at(NOW):
        storeflow("campaigns", "create", "--store", leaf_shop.domain, "Spring", *CREATE,
                  "--holdout", "50")
        storeflow("campaigns", "send", "--store", leaf_shop.domain, "Spring")
        run_jobs()
    groups = by_status()
    held, sent = groups["held_out"], groups["queued"]
    # The four lowest hashes of (campaign, customer): the same draw on every run.
    drawn = sorted(recipients(), key=lambda r: hashlib.md5(
        f"holdout:{r.campaign_id}:{r.customer_id}".encode()).hexdigest())
    assert held == sorted(r.email for r in drawn[:4]) and len(sent) == 4
    assert sorted(mail["To"] for mail in smtp_sink.received) == sent
    person = {p.email: p for p in PEOPLE}
    buys(webhooks, run_jobs, person[sent[0]], NOW + HOUR, "30.00", 7001)
    buys(webhooks, run_jobs, person[sent[1]], NOW + 2 * HOUR, "10.00", 7002)
    buys(webhooks, run_jobs, person[held[0]], NOW + 3 * HOUR, "20.00", 7003)
    # Outside the window counted from the start (5 days): neither before nor after counts.
    buys(webhooks, run_jobs, person[held[1]], NOW - HOUR, "500.00", 7004)
    buys(webhooks, run_jobs, person[sent[2]], NOW + timedelta(days=5, hours=1), "900.00", 7005)

    figures = report(storeflow, leaf_shop, "Spring")
    assert (figures["recipients"], figures["held_out"], figures["sent"]) == (8, 4, 4)
    # (10 per recipient sent - 5 per held-out customer) x 4 sent; Welch's 95 % interval.
    interval = stats.ttest_ind([30, 10, 0, 0], [20, 0, 0, 0], equal_var=False
                               ).confidence_interval(0.95)
    cents = Decimal("0.01")
    assert figures["incremental_revenue"] == {
        "amount": "20", "significant": False,
        "low": format(Decimal(str(interval.low * 4)).quantize(cents).normalize(), "f"),
        "high": format(Decimal(str(interval.high * 4)).quantize(cents).normalize(), "f")}


def test_without_a_holdout_everyone_is_sent_and_there_is_no_lift(
        leaf_shop, storeflow, run_jobs, smtp_sink):
    with at(NOW):
        storeflow("campaigns", "create", "--store", leaf_shop.domain, "Plain", *CREATE)
        storeflow("campaigns", "send", "--store", leaf_shop.domain, "Plain")
        run_jobs()
    figures = report(storeflow, leaf_shop, "Plain")
    assert (figures["held_out"], figures["sent"], figures["incremental_revenue"]) == (0, 8, None)


@pytest.mark.parametrize("value", ["51", "-1"])
def test_the_holdout_is_a_percent_from_0_to_50(leaf_shop, storeflow, value):
    refused = storeflow("campaigns", "create", "--store", leaf_shop.domain, "Spring", *CREATE,
                        "--holdout", value, ok=False)
    assert refused.exit_code == 1
    assert refused.output.strip() == (
        f"Error: --holdout: a whole number from 0 to 50 (percent), not {value}")

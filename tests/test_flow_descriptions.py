"""What each flow's card says it does agrees with its settings: descriptions name settings
rather than copy their numbers, so a merchant who changes a delay reads the new delay."""
from __future__ import annotations

import re

import pytest

from flows import choices
from flows.catalog import FLOWS
from flows.describe import duration


@pytest.mark.parametrize("name", sorted(FLOWS))
def test_every_number_in_a_description_comes_from_a_setting(name):
    flow = FLOWS[name]
    assert not re.search(r"\d", re.sub(r"\{[^}]*\}", "", flow.description)), flow.description
    described = flow.describe(choices.defaults(flow))
    assert "{" not in described and described[0].isupper()


def test_a_changed_setting_changes_what_the_card_says(client, storeflow, shop):
    from tests.ui_helpers import sign_in

    storeflow("flows", "set", "--store", str(shop.id), "win_back", "second_reminder_days=10",
              "last_notice_days=20")
    sign_in(client, storeflow, shop.id)
    page = client.get("/app/flows").get_data(as_text=True)
    assert "another 10 days later, a last notice 20 days after that" in page
    listed = storeflow("flows", "list", "--store", str(shop.id), "--json").output
    assert "a last notice 20 days after that" in listed


def test_double_opt_in_promises_only_the_reminders_it_sends():
    from pathlib import Path

    welcome = FLOWS["welcome"]
    sent = [p.step.template for p in welcome.planned if getattr(p.step, "template", None)]
    reminders = [t for t in sent if t.startswith("confirm_reminder")]
    body = (Path(__file__).parents[1] / "flows/templates/welcome/confirm/design.json").read_text()
    assert len(reminders) == 2 and "remind you at most twice" in body
    assert "won't write again" not in body


@pytest.mark.parametrize("amount, unit, said", [
    (1, "hour", "an hour"), (2, "hour", "two hours"), (24, "hour", "a day"),
    (72, "hour", "three days"), (36, "hour", "36 hours"), (1, "day", "a day"),
    (30, "day", "30 days"),
])
def test_durations_read_as_a_merchant_says_them(amount, unit, said):
    assert duration(amount, unit) == said

"""The Segments page in a real browser (headless chromium): a rule built row by row with an
and/or group, the live count following each change, pasted JsonLogic taken into the rows, a
refusal naming the part, and the saved segment's members."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from app.core.db import db
from app.models import Segment
from tests.test_ui_browser import expect
from tests.test_ui_segments import spender
from tests.ui_helpers import login_path


@pytest.fixture
def signed_in(browser, app_server, shop, storeflow):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    tab.goto(app_server + login_path(storeflow, shop.id))
    yield tab
    context.close()


def test_build_a_rule_with_rows_and_a_group_and_watch_the_count(signed_in, app_server, shop):
    spender(shop.id, "ann@example.com", "Ann", 400, orders=3)
    spender(shop.id, "bob@example.com", "Bob", 150, orders=1)
    spender(shop.id, "cy@example.com", "Cy", 20, orders=2)
    signed_in.goto(f"{app_server}/app/segments/new")
    count = signed_in.locator("#rule-count")
    expect(count).to_have_text("3 customers match now")  # the starting rule: at least one order

    row = signed_in.locator(".rule-row").first
    row.locator("input[aria-label=Value]").fill("2")
    expect(count).to_have_text("2 customers match now")
    signed_in.locator("button:has-text('Add group')").click()
    group = signed_in.locator(".rule-group .rule-group")
    group.locator("select[aria-label=Field]").select_option("customer.total_spent")
    group.locator("select[aria-label=Operator]").select_option(">")
    group.locator("input[aria-label=Value]").fill("100")
    expect(count).to_have_text("1 customer matches now")
    assert json.loads(signed_in.locator("#rule").input_value()) == {"and": [
        {">=": [{"var": "customer.orders_count"}, 2]},
        {"or": [{">": [{"var": "customer.total_spent"}, 100]}]}]}

    signed_in.locator("select[aria-label=Match]").first.select_option("or")
    expect(count).to_have_text("3 customers match now")

    signed_in.locator("#rule").fill('{"in": ["vip", {"var": "customer.tag"}]}')
    expect(count).to_have_text("rule /in/1: unknown variable 'customer.tag'")
    signed_in.locator("#rule").fill('{"==": [{"var": "customer.orders_count"}, 1]}')
    expect(signed_in.locator(".rule-row select[aria-label=Field]")).to_have_value("customer.orders_count")
    expect(count).to_have_text("1 customer matches now")

    signed_in.locator("input[name=name]").fill("One order")
    signed_in.locator("button:has-text('Save segment')").click()
    expect(signed_in.locator(".toast")).to_contain_text("saved")
    expect(signed_in.locator("[data-member]")).to_have_attribute("data-member", "bob@example.com")
    with db.session() as session:
        assert session.execute(select(Segment.name)).scalars().all() == ["One order"]


def test_copy_a_builtin_and_find_it_on_the_customer_page(signed_in, app_server, shop):
    spender(shop.id, "ann@example.com", "Ann", 400, orders=3)
    signed_in.goto(f"{app_server}/app/segments")
    signed_in.locator("[data-builtin=repeat] a:has-text('Copy')").click()
    expect(signed_in.locator("input[name=name]")).to_have_value("Repeat buyers")
    expect(signed_in.locator("#rule-count")).to_have_text("1 customer matches now")
    signed_in.locator("button:has-text('Save segment')").click()
    expect(signed_in.locator(".toast")).to_contain_text("saved")
    signed_in.goto(f"{app_server}/app/activity?email=ann@example.com")
    expect(signed_in.locator("[data-in-segment]")).to_have_text("Repeat buyers")

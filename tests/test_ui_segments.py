"""The Segments pages through the app's own routes: saving with the CSRF token, refusals that
name the bad part, the live count's JSON, members by page and as CSV, the customer page's
segments; and another store's segments, a viewer and a forged form getting nowhere."""
from __future__ import annotations

import csv
import io
import json
import re

import pytest
from sqlalchemy import select

from app.audiences import segments
from app.core.db import db
from app.models import CustomerMetrics, Segment
from tests.ui_helpers import add_customer, connect_rival, sign_in, sign_in_viewer

BIG_SPENDERS = '{">=": [{"var": "customer.total_spent"}, 100]}'


@pytest.fixture
def owner(client, storeflow, shop):
    """A client signed in to the shop as its owner; its CSRF token."""
    return sign_in(client, storeflow, shop.id)


def spender(store_id: int, email: str, first_name: str, spent: int, orders: int = 1) -> int:
    """A customer whose metrics say they spent `spent` over `orders` orders."""
    customer_id = add_customer(store_id, email, None, first_name)
    with db.session() as session:  # its row exists from the moment the customer was stored
        metrics = session.get(CustomerMetrics, customer_id)
        metrics.orders_count, metrics.total_spent = orders, spent
    return customer_id


def saved(store_id: int, name: str, rule: str = BIG_SPENDERS) -> int:
    with db.session() as session:
        return segments.create(session, store_id, name, rule, "a test").id


def count(client, csrf: str | None, rule: str):
    headers = {"X-CSRF-Token": csrf} if csrf else {}
    return client.post("/app/segments/count", json={"rule": rule}, headers=headers)


def test_create_see_members_export_and_delete(client, owner, shop):
    spender(shop.id, "ann@example.com", "Ann", 400)
    spender(shop.id, "=cmd@example.com", "=HYPERLINK(1)", 150)
    spender(shop.id, "bob@example.com", "Bob", 20)
    answer = client.post("/app/segments", data={"name": "Big spenders", "rule": BIG_SPENDERS,
                                                "csrf_token": owner})
    assert answer.status_code == 302
    segment_path = answer.location

    listed = client.get("/app/segments").get_data(as_text=True)
    assert re.search(r'data-segment="Big spenders".*?data-count>2<', listed, re.S)
    page = client.get(segment_path).get_data(as_text=True)
    assert re.findall(r'data-member="([^"]+)"', page) == ["ann@example.com", "=cmd@example.com"]

    exported = client.get(f"{segment_path}/members.csv")
    assert exported.headers["Content-Disposition"] == 'attachment; filename="Big-spenders.csv"'
    rows = list(csv.reader(io.StringIO(exported.get_data(as_text=True))))
    assert rows[0] == list(segments.CSV_COLUMNS)
    assert [row[:2] for row in rows[1:]] == [["ann@example.com", "Ann"],
                                            ["'=cmd@example.com", "'=HYPERLINK(1)"]]

    customer_page = client.get("/app/activity?email=ann@example.com").get_data(as_text=True)
    assert 'data-in-segment="Big spenders"' in customer_page
    assert 'data-in-segment' not in client.get("/app/activity?email=bob@example.com").get_data(
        as_text=True)

    assert client.post(f"{segment_path}/delete", data={"csrf_token": owner}).status_code == 302
    with db.session() as session:
        assert session.execute(select(Segment)).all() == []


def test_members_page_by_page_sorted_by_spend_or_last_order(client, owner, shop, monkeypatch):
    monkeypatch.setattr(segments, "PAGE_SIZE", 2)
    for n, spent in enumerate((300, 100, 200)):
        spender(shop.id, f"c{n}@example.com", f"C{n}", spent)
    segment_id = saved(shop.id, "All buyers", '{">": [{"var": "customer.orders_count"}, 0]}')

    def members(**args) -> list[str]:
        query = "&".join(f"{k}={v}" for k, v in args.items())
        page = client.get(f"/app/segments/{segment_id}?{query}").get_data(as_text=True)
        return re.findall(r'data-member="([^"]+)"', page)

    assert members(sort="spend") == ["c0@example.com", "c2@example.com"]
    assert members(sort="spend", page=2) == ["c1@example.com"]
    assert members(sort="last_order", page="x") == members(sort="last_order", page=1)


def test_bad_names_and_rules_are_shown_with_the_part_to_fix(client, owner, shop):
    bad = client.post("/app/segments", data={
        "name": "Spenders", "rule": '{"and": [{">": [{"var": "customer.spent"}, 1]}]}',
        "csrf_token": owner})
    assert bad.status_code == 400
    assert "rule /and/0/&gt;/0: unknown variable &#39;customer.spent&#39;" in bad.get_data(as_text=True)
    unnamed = client.post("/app/segments", data={"name": "<script>", "rule": "true",
                                                 "csrf_token": owner})
    assert unnamed.status_code == 400 and segments.NAME_RULE in unnamed.get_data(as_text=True)
    assert "<script>" not in unnamed.get_data(as_text=True)
    not_json = client.post("/app/segments", data={"name": "X", "rule": "{", "csrf_token": owner})
    assert not_json.status_code == 400 and "rule /: not JSON" in not_json.get_data(as_text=True)


def test_the_live_count_answers_json_for_this_store_only(client, owner, shop):
    spender(shop.id, "ann@example.com", "Ann", 400)
    rival = connect_rival()
    spender(rival.id, "ann@example.com", "Ann", 900)
    spender(rival.id, "zed@example.com", "Zed", 900)
    assert count(client, owner, BIG_SPENDERS).get_json() == {"count": 1}
    refused = count(client, owner, '{"==": [{"var": "customer.email; DROP TABLE customers"}, 1]}')
    assert refused.status_code == 400
    assert refused.get_json() == {
        "error": "rule /==/0: unknown variable 'customer.email; DROP TABLE customers'"}
    quoted = count(client, owner, json.dumps({"==": [{"var": "customer.email"}, "' OR 1=1 --"]}))
    assert quoted.get_json() == {"count": 0}
    assert count(client, None, BIG_SPENDERS).status_code == 400  # no CSRF token
    assert client.post("/app/segments/count", data="rule", headers={
        "X-CSRF-Token": owner}).status_code == 400


def test_the_live_count_is_rate_limited_per_store(client, owner, shop):
    answers = [count(client, owner, "true").status_code for _ in range(61)]
    assert answers[:60] == [200] * 60 and answers[60] == 429


def test_another_stores_segment_is_a_404_everywhere(client, owner, shop):
    rival = connect_rival()
    theirs = saved(rival.id, "Theirs")
    assert client.get(f"/app/segments/{theirs}").status_code == 404
    assert client.get(f"/app/segments/{theirs}/edit").status_code == 404
    assert client.get(f"/app/segments/{theirs}/members.csv").status_code == 404
    assert client.post(f"/app/segments/{theirs}", data={
        "name": "Mine now", "rule": "true", "csrf_token": owner}).status_code == 404
    assert client.post(f"/app/segments/{theirs}/delete", data={
        "csrf_token": owner}).status_code == 404
    assert "Theirs" not in client.get("/app/segments").get_data(as_text=True)
    with db.session() as session:
        assert session.get(Segment, theirs).name == "Theirs"


def test_forms_without_the_csrf_token_change_nothing(client, owner, shop):
    mine = saved(shop.id, "Mine")
    assert client.post("/app/segments", data={"name": "New", "rule": "true"}).status_code == 400
    assert client.post(f"/app/segments/{mine}", data={"name": "Mine", "rule": "false",
                                                      "csrf_token": "forged"}).status_code == 400
    assert client.post(f"/app/segments/{mine}/delete").status_code == 400
    with db.session() as session:
        assert [(s.name, s.rule) for s in session.execute(select(Segment)).scalars()] == [
            ("Mine", json.loads(BIG_SPENDERS))]


def test_a_viewer_can_neither_see_nor_change_segments(app, client, owner, shop):
    mine = saved(shop.id, "Mine")
    viewer, csrf = sign_in_viewer(app, shop.id)
    for answer in (viewer.get("/app/segments"), viewer.get(f"/app/segments/{mine}"),
                   viewer.post("/app/segments", data={"name": "X", "rule": "true", "csrf_token": csrf}),
                   viewer.post(f"/app/segments/{mine}/delete", data={"csrf_token": csrf}),
                   count(viewer, csrf, "true")):
        assert answer.status_code == 403
    with db.session() as session:
        assert [s.name for s in session.execute(select(Segment)).scalars()] == ["Mine"]

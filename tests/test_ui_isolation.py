"""Two stores on one Storeflow, sharing customer addresses, order numbers and names: signed in
to one, no page or JSON answer of the settings UI shows any trace of the other.

The other store is seeded first (its rows have the lower ids) and an hour later (its rows are the
newest), so a query that lost its store filter would pick the other store's rows first, whether
it orders by id or by time."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from app.audiences import segments
from app.campaigns import campaigns
from app.core.db import db
from app.mail.design import store as designs
from app.mail.transport import transports
from app.models import (Campaign, Customer, Message, Order, Segment, Store, StoreNotice,
                        TimelineEntry)
from app.web.ui import previews, staff
from flows import document, library
from flows.catalog import FLOWS
from tests.test_flow_built import EXAMPLE, FLOW
from tests.ui_helpers import ANA, connect_rival, seed_history, sign_in

TRACES = ("Rival Supply Co", "rival-store", "Otherstore", "RIVAL-ONLY")


@pytest.fixture
def two_stores(app, shop):
    """`shop` (signed in to below) and a rival with the same customers, orders and mail."""
    rival = connect_rival()
    seed_history(rival)
    later = timedelta(hours=1)
    with db.session() as session:
        store = session.get(Store, rival.id)
        store.name = "Rival Supply Co"
        store.settings = {**store.settings, "from_name": "Rival Supply Co",
                          "from_email": "hi@rival-store.example"}
        session.execute(update(Customer).where(Customer.store_id == rival.id)
                        .values(first_name=Customer.first_name + "Otherstore",
                                last_name="Otherstore"))
        session.execute(update(Message).where(Message.store_id == rival.id).values(
            subject="RIVAL-ONLY " + Message.subject, created_at=Message.created_at + later,
            sent_at=Message.sent_at + later))
        session.execute(update(Order).where(Order.store_id == rival.id)
                        .values(placed_at=Order.placed_at + later))
        session.execute(update(TimelineEntry).where(TimelineEntry.store_id == rival.id)
                        .values(detail="RIVAL-ONLY " + TimelineEntry.detail))
        session.execute(update(StoreNotice).where(StoreNotice.store_id == rival.id)
                        .values(detail="RIVAL-ONLY " + StoreNotice.detail))
        staff.invite(session, rival.id, "ops@rival-store.example", staff.VIEWER, "RIVAL-ONLY")
        staff.invite(session, shop.id, "jo@fernhill.example", staff.VIEWER, "the owner")
    seed_history(shop)
    with db.session() as session:
        for store_id, name in ((rival.id, "RIVAL-ONLY everyone"), (shop.id, "Everyone")):
            segments.create(session, store_id, name, "true", "the owner")
        for store_id, segment, subject in ((rival.id, "RIVAL-ONLY everyone", "RIVAL-ONLY news"),
                                           (shop.id, "Everyone", "News")):
            campaigns.create(session, store_id, "Spring", subject=subject, included=(segment,),
                             actor="the owner")
        for store_id, title in ((rival.id, "RIVAL-ONLY thanks"), (shop.id, EXAMPLE["title"])):
            library.save(session, store_id, document.check({**EXAMPLE, "title": title}),
                         "the owner")
        designs.save(session, rival.id, "abandoned_checkout", "email_1", {
            "format": 1, "blocks": [{"type": "heading", "text": "RIVAL-ONLY sale"}]}, "the owner",
            [("abandoned_checkout", "email_1")])
    return shop, rival


def keep_in_dev_inbox() -> None:
    """Every store's mail as kept .eml files, the rival's saying so in its body (after signing
    in: `storeflow login-link` binds this process's transport again)."""
    with db.session() as session:
        rows = session.execute(select(Message.message_id, Message.subject)).all()
    for row in rows:
        path = transports.current.path(row.message_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(f"Message-ID: {row.message_id}\r\nSubject: {row.subject}\r\n"
                         f"Content-Type: text/plain\r\n\r\n{row.subject}\r\n".encode())


def ids(model, store_id: int, limit: int = 3) -> list[int]:
    with db.session() as session:
        return list(session.execute(select(model.id).where(model.store_id == store_id)
                                    .order_by(model.id.desc()).limit(limit)).scalars())


def pages(store_id: int) -> dict[str, list[str]]:
    """Every GET page of the UI (by route) and the addresses that show it for this store."""
    messages, customers = ids(Message, store_id), ids(Customer, store_id)
    segment_ids, campaign_ids = ids(Segment, store_id), ids(Campaign, store_id)
    return {
        "/app/": ["/app/"],
        "/app/activity": ["/app/activity", "/app/activity?status=sent",
                          f"/app/activity?email={ANA}", "/app/activity?email=Ben1@Example.com"],
        "/app/activity/messages/<id:message_id>": [f"/app/activity/messages/{i}" for i in messages],
        "/app/dev-inbox": ["/app/dev-inbox"],
        "/app/dev-inbox/<id:message_id>": [f"/app/dev-inbox/{i}" for i in messages],
        "/app/flows": ["/app/flows"],
        "/app/flows/<name>/dry-run": [f"/app/flows/{name}/dry-run" for name in [*FLOWS, FLOW]],
        "/app/flows/new": ["/app/flows/new"],
        "/app/flows/<name>/build": [f"/app/flows/{FLOW}/build"],
        "/app/preview": ["/app/preview", f"/app/preview?email={ANA}",
                         *(f"/app/preview?customer_id={i}" for i in customers)],
        "/app/emails/<flow>/<step>/design": [
            *(f"/app/emails/{s.template}/design" for s in previews.steps()),
            f"/app/emails/{FLOW}/thanks/design",
            f"/app/emails/abandoned_checkout/email_1/design?email={ANA}",
            *(f"/app/emails/abandoned_checkout/email_1/design?customer_id={i}" for i in customers)],
        "/app/settings": ["/app/settings"],
        "/app/staff": ["/app/staff"],
        "/app/audit": ["/app/audit", "/app/audit?page=2"],
        "/app/segments": ["/app/segments"],
        "/app/segments/new": ["/app/segments/new", "/app/segments/new?from=vip"],
        "/app/segments/<id:segment_id>": [
            *(f"/app/segments/{i}?sort={s}" for i in segment_ids for s in ("spend", "last_order"))],
        "/app/segments/<id:segment_id>/edit": [f"/app/segments/{i}/edit" for i in segment_ids],
        "/app/segments/<id:segment_id>/members.csv": [
            f"/app/segments/{i}/members.csv" for i in segment_ids],
        "/app/campaigns": ["/app/campaigns"],
        "/app/campaigns/<id:campaign_id>": [
            *(f"/app/campaigns/{i}" for i in campaign_ids),
            *(f"/app/campaigns/{campaign_ids[0]}?{q}" for q in (
                f"email={ANA}", *(f"customer_id={i}" for i in customers)))],
        "/app/campaigns/<id:campaign_id>/recipients": [
            f"/app/campaigns/{i}/recipients" for i in campaign_ids],
    }


def test_every_page_covers_every_ui_route(app, two_stores):
    routes = {rule.rule for rule in app.url_map.iter_rules()
              if rule.rule.startswith("/app") and "GET" in rule.methods
              and rule.endpoint not in ("ui.login", "ui.sign_in_form")}  # show no store
    assert routes == set(pages(two_stores[0].id))  # a new page belongs in this test


def test_no_page_shows_anything_of_the_other_store(client, storeflow, two_stores):
    shop, rival = two_stores
    sign_in(client, storeflow, shop.id)
    keep_in_dev_inbox()

    for route, urls in pages(shop.id).items():
        for url in urls:
            response = client.get(url)
            assert response.status_code in (200, 202), url  # 202: a dry run not run yet
            body = response.get_data(as_text=True)
            assert not [t for t in TRACES if t in body], url
            # An email kept in the dev inbox, a CSV of customers or a campaign's count is not a
            # page of the store.
            assert ("Fernhill Goods" in body or route.startswith("/app/dev-inbox/")
                    or route.endswith((".csv", "/recipients"))), url
    for accept_json in (f"/app/preview?email={ANA}", "/app/preview"):
        answer = client.get(accept_json, headers={"Accept": "application/json"})
        assert answer.status_code == 200 and not [t for t in TRACES if t in answer.text]


def test_the_other_stores_rows_are_not_found_by_id(client, storeflow, two_stores):
    shop, rival = two_stores
    sign_in(client, storeflow, shop.id)
    keep_in_dev_inbox()

    for message_id in ids(Message, rival.id):
        assert client.get(f"/app/activity/messages/{message_id}").status_code == 404
        assert client.get(f"/app/dev-inbox/{message_id}").status_code == 404
    for customer_id in ids(Customer, rival.id):
        assert client.get(f"/app/preview?customer_id={customer_id}").status_code == 404
    for segment_id in ids(Segment, rival.id):
        for path in ("", "/edit", "/members.csv"):
            assert client.get(f"/app/segments/{segment_id}{path}").status_code == 404
    for campaign_id in ids(Campaign, rival.id):
        for path in ("", "/recipients"):
            assert client.get(f"/app/campaigns/{campaign_id}{path}").status_code == 404

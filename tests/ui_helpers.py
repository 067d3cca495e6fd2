"""Helpers for UI tests: signing in through a login link, and a month of believable store
history (emails, opens, clicks, orders credited to flows, a control group) to look at."""
from __future__ import annotations

import random
import re
import time
from datetime import timedelta
from decimal import Decimal

from app.core import clock, stores
from app.core.db import db
from app.models import (Attribution, Customer, FlowRun, Message, Order, Store, StoreNotice,
                        SyncProgress, TimelineEntry, WebhookEvent)
from app.web.ui import staff
from app.web.ui.auth import login_token
from flows import catalog, choices

ANA = "ana@example.com"
RIVAL = "rival-store.myshopify.com"


def login_path(storeflow, store_id: int) -> str:
    """The path of a fresh link printed by `storeflow login-link`."""
    output = storeflow("login-link", "--store", str(store_id)).output.strip()
    return re.search(r"https?://[^/]+(/app/login/\S+)$", output).group(1)


def sign_in(client, storeflow, store_id: int) -> str:
    """Sign a test client in; returns its CSRF token."""
    client.get(login_path(storeflow, store_id))
    with client.session_transaction() as session:
        return session["csrf_token"]


def sign_in_viewer(app, store_id: int):
    """A new client signed in as a viewer of the store (jo@example.com); it and its CSRF token."""
    with db.session() as session:
        member_id = staff.invite(session, store_id, "jo@example.com", staff.VIEWER, "the owner").id
    viewer = app.test_client()
    viewer.get(f"/app/login/{login_token(store_id, member='jo@example.com', staff_id=member_id)}")
    with viewer.session_transaction() as session:
        return viewer, session["csrf_token"]


def connect_rival() -> Store:
    """A second Shopify store on the same Storeflow, to show that pages never mix stores."""
    with db.session() as session:
        store, _ = stores.connect(session, "shopify", RIVAL, access_token="shpat_rival",
                                  webhook_secret="shpss_rival")
    return store


def add_customer(store_id: int, email: str | None, platform_id: int | None,
                 first_name: str) -> int:
    """A customer of the store; its id."""
    with db.session() as session:
        row = Customer(store_id=store_id, email=email, platform_id=platform_id,
                       first_name=first_name, tags=[])
        session.add(row)
        session.flush()
        return row.id


def customers_sharing(store_id: int, address: str) -> int:
    """Three customers with one address: typed at the shop front ("Typed"), a Shopify customer
    ("Newer"), and an older Shopify customer who changed their address to it ("Older"); the
    older one's id, whom the pages show for that address."""
    add_customer(store_id, address, None, "Typed")
    older = add_customer(store_id, f"old.{address}", 11, "Older")
    add_customer(store_id, address, 12, "Newer")
    with db.session() as session:
        session.get(Customer, older).email = address
    return older


def _message(store_id, customer, flow, step, sent_at, rng, n) -> Message:
    opened = rng.random() < 0.55
    clicked = opened and rng.random() < 0.3
    return Message(
        store_id=store_id, customer_id=customer.id, email=customer.email, flow=flow, step=step,
        run_id=None, template=f"{flow}/{step}", context={}, marketing=flow != "order_updates",
        status="sent", message_id=f"<seed-{store_id}-{n}@storeflow.test>", sent_at=sent_at,
        subject=f"{customer.first_name}, you left something behind" if flow == "abandoned_checkout"
        else "Your order is on its way", created_at=sent_at, updated_at=sent_at,
        first_opened_at=sent_at + timedelta(hours=1) if opened else None,
        first_clicked_at=sent_at + timedelta(hours=2) if clicked else None)


def seed_history(shop, days: int = 30) -> None:
    """A month of a small shop using three flows, with a control group on abandoned checkout,
    its history imported and kept in sync."""
    rng = random.Random(7)
    now = clock.now()
    names = ["Ana", "Ben", "Chloe", "Dev", "Elif", "Femi", "Greta", "Hugo", "Ines", "Jonas"]
    with db.session() as session:
        store = session.get(Store, shop.id)
        store.name = "Fernhill Goods"
        store.settings = {"from_name": "Fernhill Goods", "from_email": "hello@fernhill.example",
                          "postal_address": "12 Orchard Lane, Portland, OR 97201",
                          "brand_color": "#2f5d50", "timezone": "America/Los_Angeles"}
        for name in ("abandoned_checkout", "order_updates", "welcome", "post_purchase"):
            choices.save(session, shop.id, catalog.FLOWS[name], actor="test", enabled=True)
        customers = [Customer(store_id=shop.id, platform_id=9000 + i,
                              email=ANA if i == 0 else f"{names[i % 10].lower()}{i}@example.com",
                              first_name=names[i % 10], last_name="Ruiz" if i == 0 else "Smith",
                              email_consent="subscribed", tags=[]) for i in range(60)]
        session.add_all(customers)
        session.flush()
        n = 0
        for day in range(days):
            moment = now - timedelta(days=days - day, hours=rng.randint(0, 12))
            for flow, step, count in (("abandoned_checkout", "email_1", rng.randint(4, 12)),
                                      ("order_updates", "shipped", rng.randint(3, 8)),
                                      ("post_purchase", "thank_you", rng.randint(1, 5))):
                for _ in range(count):
                    n += 1
                    customer = rng.choice(customers)
                    message = _message(shop.id, customer, flow, step, moment, rng, n)
                    session.add(message)
                    if message.first_clicked_at and rng.random() < 0.5:
                        session.flush()
                        total = Decimal(rng.randint(3500, 16000)) / 100
                        order = Order(store_id=shop.id, platform_id=50000 + n, customer_id=customer.id,
                                      email=customer.email, name=f"#{1000 + n}", currency="USD",
                                      total_price=total, discount_codes=[],
                                      placed_at=moment + timedelta(hours=3),
                                      source_updated_at=moment + timedelta(hours=3))
                        session.add(order)
                        session.flush()
                        session.add(Attribution(store_id=shop.id, order_id=order.id,
                                                message_id=message.id, flow=flow, step=step,
                                                revenue=total, currency="USD", method="click",
                                                attributed_at=order.placed_at))
        for i, customer in enumerate(customers):
            at = now - timedelta(days=rng.randint(1, 25))
            session.add(FlowRun(store_id=shop.id, flow="abandoned_checkout", version=1,
                                customer_id=customer.id, subject="checkout", subject_id=700 + i,
                                status="completed", step=7, triggered_at=at, anchor_at=at,
                                settings={}, data={}, holdout=i % 3 == 0, started_at=at))
        ana = customers[0]
        start = now - timedelta(days=2, hours=5)
        for offset, kind, step, detail in (
                (0, "enrolled", None, "checkout 700"), (1, "deferred", "email_1",
                 "quiet hours until 08:00"), (9, "sent", "email_1", "message queued"),
                (33, "sent", "email_2", "message queued"), (40, "exited", None, "ordered")):
            session.add(TimelineEntry(store_id=shop.id, customer_id=ana.id, run_id=1,
                                      flow="abandoned_checkout", step=step, kind=kind,
                                      detail=detail, at=start + timedelta(hours=offset)))
        session.add(WebhookEvent(store_id=shop.id, platform="shopify", topic="orders/create",
                                 delivery_key="seed-1", body=b"{}",
                                 received_at=now - timedelta(minutes=12), processed_at=now))
        _seed_sync(session, shop.id, now, days)


def _seed_sync(session, store_id: int, now, days: int) -> None:
    """The history imported when the shop connected, the hourly check for missed updates, and
    a webhook subscription it had to re-create."""
    imported = now - timedelta(days=days)
    for resource, count in (("customers", 60), ("products", 24), ("orders", 96), ("checkouts", 7)):
        session.add(SyncProgress(store_id=store_id, job="backfill", resource=resource,
                                 status="done", count=count, started_at=imported,
                                 finished_at=imported + timedelta(minutes=3)))
    checked = now - timedelta(minutes=40)
    session.add(SyncProgress(store_id=store_id, job="reconcile", resource="all", status="done",
                             count=2, watermark=checked, started_at=checked, finished_at=checked))
    session.add(StoreNotice(store_id=store_id, kind="webhooks_repaired", count=1,
                            created_at=now - timedelta(days=3),
                            detail="Storeflow re-created webhook subscriptions missing from "
                                   "Shopify: orders/updated"))


def session_token(secret: str, lifetime: int = 60) -> str:
    """A Shopify session token for the test shop, as App Bridge would hand it, signed with
    `secret` (the app's API secret, or a forger's)."""
    import jwt

    from tests.helpers import API_KEY, SHOP

    now = int(time.time())
    return jwt.encode({"iss": f"https://{SHOP}/admin", "dest": f"https://{SHOP}", "aud": API_KEY,
                       "sub": "42", "exp": now + lifetime, "nbf": now - 5, "iat": now - 5},
                      secret, algorithm="HS256")

"""The demo shop: Juniper & Oak, a small homeware store on Shopify, its catalogue and its people."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.core import stores
from app.demo.payloads import Item, Person
from app.models import Store
from flows import catalog, choices

DOMAIN = "juniper-and-oak-demo.myshopify.com"
NAME = "Juniper & Oak (demo)"
# The demo signs its deliveries with this, as Shopify signs with a custom app's secret.
WEBHOOK_SECRET = "storeflow-demo-webhook-secret"

SETTINGS = {
    "timezone": "America/New_York", "from_name": "Juniper & Oak",
    "from_email": "hello@juniper-and-oak.example", "brand_color": "#3f6b4f",
    "postal_address": "12 Orchard Lane, Hudson, NY 12534, USA",
}

# (id, handle, title, price); the pictures are static/demo/<handle>.png (PNG: Gmail and Outlook
# do not show SVG).
CATALOGUE = (
    (9100000000001, "stoneware-mug", "Stoneware Mug", "18.00"),
    (9100000000002, "linen-tea-towel", "Linen Tea Towel", "14.00"),
    (9100000000003, "beeswax-candle", "Beeswax Candle", "22.00"),
    (9100000000004, "canvas-tote", "Canvas Tote", "26.00"),
    (9100000000005, "breakfast-tea", "Breakfast Tea, Loose Leaf", "12.00"),
    (9100000000006, "walnut-board", "Walnut Serving Board", "48.00"),
)


def catalogue(base_url: str) -> dict[str, Item]:
    """Every product by handle, its picture served by this Storeflow."""
    return {handle: Item(id, handle, title, Decimal(price), f"{base_url}/static/demo/{handle}.png")
            for id, handle, title, price in CATALOGUE}


def people(start: datetime) -> dict[str, Person]:
    """The shoppers of the demo day, by first name (lower case)."""
    def person(n: int, first: str, last: str, birthday: date | None = None) -> Person:
        return Person(9200000000000 + n, first, last, f"{first.lower()}@example.com",
                      birthday=birthday)
    # Iris's birthday falls the day after the demo day: the birthday flow greets her then.
    tomorrow = (start + timedelta(days=1)).date()
    return {p.first_name.lower(): p for p in (
        person(1, "Ava", "Morales"), person(2, "Ben", "Okafor"), person(3, "Chloe", "Lindqvist"),
        person(4, "Dan", "Whitaker"), person(5, "Emma", "Castillo"), person(6, "Finn", "Doyle"),
        person(7, "Grace", "Liu"), person(8, "Hugo", "Brandt"),
        person(9, "Iris", "Novak", birthday=tomorrow.replace(year=1991)),
        person(10, "Jack", "Mensah"), person(11, "Kate", "Ferreira"),
    )}


def has_stores(session: Session) -> bool:
    return session.execute(select(func.count(Store.id))).scalar_one() > 0


def open_shop(session: Session) -> Store:
    """Connect the demo store (or reconnect it), its flows as the merchant left them.

    It has no Admin API token: there is no Shopify behind it, so flows that offer a discount
    code send their email without one, as they do when a real store refuses to make codes."""
    store, _ = stores.connect(session, "shopify", DOMAIN, access_token=None,
                              webhook_secret=WEBHOOK_SECRET)
    store.name = NAME
    store.settings = {**store.settings, **SETTINGS}
    return store


def switch_on_flows(session: Session, store_id: int) -> None:
    """Every prebuilt flow on, with its defaults."""
    for flow in catalog.FLOWS.values():
        choices.save(session, store_id, flow, actor="the demo", enabled=True)

"""Subscribers for the campaign engine's tests (holdout, A/B subject, schedule): any number of
people subscribed through real Shopify webhooks, a segment of them all, and their orders."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from app.core.db import db
from app.demo.payloads import Person, consent_update, customer
from app.models import CampaignRecipient
from tests.flow_helpers import at, enable
from tests.helpers import published
from tests.test_audience_metrics import shopify_order


def people(count: int, **where) -> list[Person]:
    return [Person(9300 + n, f"Bea{n}", "Leaf", f"leaf{n}@example.com", **where)
            for n in range(count)]


def everyone(shop, webhooks, run_jobs, storeflow, instant: datetime, persons: list[Person],
             **settings) -> None:
    """`persons` subscribed a day before `instant`; the segment "Everyone" holds them all."""
    enable(shop.id, **settings)
    with at(instant - timedelta(days=1)):
        for person in persons:
            webhooks.deliver("customers/create", customer(person, instant - timedelta(days=2)))
            webhooks.deliver("customers_email_marketing_consent/update",
                             consent_update(person.id, person.email))
        run_jobs()
    storeflow("segments", "create", "--store", shop.domain, "Everyone", "--rule", "true")


def buys(webhooks, run_jobs, person: Person, placed: datetime, total: str, number: int) -> None:
    """`person` places a paid order of `total` at `placed` (Shopify's published order)."""
    with at(placed):
        buyer = published("shopify/orders_create.json")["customer"] | {
            "id": person.id, "email": person.email}
        webhooks.deliver("orders/create", shopify_order(number, placed, total, customer=buyer,
                                                        email=person.email))
        run_jobs()


def by_status() -> dict[str, list[str]]:
    """Recipients' addresses per status."""
    grouped: dict[str, list[str]] = {}
    with db.session() as session:
        for email, status in session.execute(select(
                CampaignRecipient.email, CampaignRecipient.status).order_by(
                CampaignRecipient.email)).all():
            grouped.setdefault(status, []).append(email)
    return grouped

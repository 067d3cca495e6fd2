"""Subscribers for the campaign engine's tests (holdout, A/B subject, schedule): any number of
people subscribed through real Shopify webhooks, a segment of them all, and their orders."""
from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import urlsplit

from rq.job import Job
from rq.registry import ScheduledJobRegistry
from sqlalchemy import select

from app.core import clock
from app.core.db import db
from app.jobs import broker
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


def scheduled(queue: str) -> dict[str, datetime]:
    """Jobs RQ's scheduler holds for later on this queue: id -> when."""
    registry = ScheduledJobRegistry(queue=broker.queue(queue))
    return {job_id: registry.get_scheduled_time(job_id) for job_id in registry.get_job_ids()}


def scheduler_hands_over(queue: str) -> int:
    """What RQ's scheduler does when the clock reaches a job's time, as of the clock's now: the
    due jobs go to their queue; how many."""
    registry = ScheduledJobRegistry(queue=broker.queue(queue))
    due = [job_id for job_id, when in scheduled(queue).items() if when <= clock.now()]
    for job in Job.fetch_many(due, connection=broker.connection):
        registry.remove(job)
        broker.queue(queue).enqueue_job(job)
    return len(due)


def clicks(client, mail) -> None:
    """Follow the email's first tracked link, as the recipient's mail client would."""
    html = mail.get_body(("html",)).get_content()
    link = next(part for part in html.split('"') if "/c/" in part)
    assert client.get(urlsplit(link).path).status_code == 302

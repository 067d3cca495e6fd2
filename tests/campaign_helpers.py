"""A store with subscribers (real Shopify customer and consent webhooks), segments made with the
`storeflow segments` command, and what a campaign left in the outbox."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from app.core.db import db
from app.demo.payloads import Person, consent_update, customer
from app.mail import outbox
from app.models import CampaignRecipient, Message
from tests.flow_helpers import at, enable

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
PEOPLE = [Person(9100 + n, f"Ann{n}", "Tea", f"tea{n}@example.com") for n in range(6)]
# Members of "Tea lovers" who get it: subscribed, not in "Staff", not suppressed.
REACHED = [p.email for p in PEOPLE[:3]]
STAFF, UNSUBSCRIBED, SUPPRESSED = PEOPLE[3], PEOPLE[4], PEOPLE[5]
CREATE = ("--segment", "Tea lovers", "--exclude", "Staff", "--subject",
          "New spring teas, {{ first_name }}", "--body", "Our first flush is in.",
          "--button-text", "See the teas")


def subscribers(shop, webhooks, run_jobs, storeflow, instant: datetime) -> None:
    """Six customers: four subscribed (one in Staff), one unsubscribed, one suppressed; the
    segments "Tea lovers" (everyone) and "Staff"."""
    enable(shop.id)
    with at(instant - timedelta(days=1)):
        for person in PEOPLE:
            webhooks.deliver("customers/create", customer(person, instant - timedelta(days=2)))
        for person in PEOPLE:
            state = "unsubscribed" if person is UNSUBSCRIBED else "subscribed"
            webhooks.deliver("customers_email_marketing_consent/update",
                             consent_update(person.id, person.email, state=state))
        run_jobs()
        outbox.suppress(shop.id, SUPPRESSED.email, "hard_bounce")
    storeflow("segments", "create", "--store", shop.domain, "Tea lovers", "--rule", "true")
    storeflow("segments", "create", "--store", shop.domain, "Staff", "--rule",
              json.dumps({"==": [{"var": "customer.email"}, STAFF.email]}))


def campaign_messages(name_key: str | None = None) -> list[Message]:
    with db.session() as session:
        query = select(Message).where(Message.flow.like("campaign:%")).order_by(Message.id)
        if name_key:
            query = query.where(Message.flow == name_key)
        return session.execute(query).scalars().all()


def recipients() -> list[CampaignRecipient]:
    with db.session() as session:
        return session.execute(select(CampaignRecipient).order_by(CampaignRecipient.id)).scalars().all()


def report(storeflow, shop, name: str) -> dict:
    output = storeflow("campaigns", "report", "--store", shop.domain, name, "--json").output
    # The last line: the loopback SMTP server's own log lines may come first.
    return json.loads(output.strip().splitlines()[-1])


def listed(storeflow, shop) -> list[str]:
    """The last line of `campaigns list`, split: status and name."""
    output = storeflow("campaigns", "list", "--store", shop.domain).output
    return output.strip().splitlines()[-1].split()

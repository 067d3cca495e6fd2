"""A store with subscribers (real Shopify customer and consent webhooks), segments made with the
`storeflow segments` command, and what a campaign left in the outbox."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from sqlalchemy import select, text

from app.audiences import segments
from app.campaigns import campaigns, sending
from app.core.db import db
from app.demo.payloads import Person, consent_update, customer
from app.mail import outbox
from app.models import CampaignRecipient, Message, Store
from tests.flow_helpers import POSTAL_ADDRESS, at, enable

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


# Subscribed customers written in one statement (platform ids clear of the seeded checkouts'),
# each with the consent history row their subscription rests on (what the ledger copies).
MANY = text("""
WITH c AS (
  INSERT INTO customers (store_id, platform_id, email, first_name, tags, email_consent,
                         email_consent_opt_in_level, email_consent_updated_at, created_at,
                         updated_at)
  SELECT :store, 10000000 + n, 'subscriber' || n || '@example.com', 'Ann' || n, '[]',
         'subscribed', 'single_opt_in', now(), now(), now()
  FROM generate_series(1, :count) AS n
  RETURNING id
)
INSERT INTO consent_changes (store_id, customer_id, state, opt_in_level, source, occurred_at,
                             recorded_at)
SELECT :store, id, 'subscribed', 'single_opt_in', 'shopify:customers/create', now(), now()
FROM c
""")


def many_subscribers(store_id: int, count: int) -> None:
    """`count` subscribed customers, in one statement."""
    with db.engine.begin() as connection:
        connection.execute(MANY, {"store": store_id, "count": count})


def campaign_to_everyone(store_id: int, name: str = "Spring teas") -> None:
    """A segment of every customer and a draft campaign to it; the store has a postal address."""
    with db.session() as session:
        store = session.get(Store, store_id)
        store.settings = {"postal_address": POSTAL_ADDRESS, **store.settings}
        segments.create(session, store_id, "Everyone", "true", actor="test")
        campaigns.create(session, store_id, name, subject="New spring teas, {{ first_name }}",
                         body="Our first flush is in.", included=("Everyone",),
                         button_text="See the teas", actor="test")


def send(store_id: int, name: str = "Spring teas") -> int:
    """Send a draft (resolve, then queue its chunk jobs, as `campaigns send`); its id."""
    with db.session() as session:
        campaigns.send(session, store_id, name, actor="test")
        campaign_id = campaigns.named(session, store_id, name).id
    sending.enqueue_chunks(campaign_id)
    return campaign_id

"""Helpers for flow tests: the published samples' moment, consent, flow switches, and moving
time the way `storeflow tick --at` does."""
from __future__ import annotations

import copy
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from app import clock
from app.db import db
from app.models import FlowRun, Message, Store
from flows import catalog, config, engine
from flows.timeline import for_email
from tests.helpers import published

# Shopify's published checkout and order samples were last updated at this instant.
SAMPLE_TIME = datetime(2022, 1, 1, 0, 0, tzinfo=timezone.utc)
CHECKOUT_CUSTOMER = 603851970716743426  # the customer embedded in checkouts_create.json
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
DAY = timedelta(days=1)


@contextmanager
def at(instant: datetime):
    """Deliver webhooks and run jobs as if it were `instant`."""
    with clock.frozen_at(instant):
        yield instant


def enable(store_id: int, *names: str, quiet_hours: str = "off", **settings) -> None:
    """Switch flows on with these settings; quiet hours are off unless a test is about them."""
    with db.session() as session:
        store = session.get(Store, store_id)
        store.settings = {**store.settings, "quiet_hours": quiet_hours}
        for name in names:
            flow = catalog.FLOWS[name]
            known = {k: v for k, v in settings.items() if k in config.defaults(flow)}
            config.save(session, store_id, flow, enabled=True, changes=config.validate(flow, known))


def consent_update(customer_id: int, email: str, state: str = "subscribed",
                   level: str | None = "single_opt_in", updated: datetime = SAMPLE_TIME) -> dict:
    """Shopify's published customers_email_marketing_consent/update sample, for this customer."""
    payload = copy.deepcopy(published("shopify/customers_email_marketing_consent_update.json"))
    payload.update(customer_id=customer_id, email_address=email)
    payload["email_marketing_consent"].update(
        state=state, opt_in_level=level, consent_updated_at=updated.isoformat())
    return payload


def checkout_sample(updated: datetime = SAMPLE_TIME, **changes) -> dict:
    """Shopify's published checkout sample, last touched at `updated`."""
    payload = copy.deepcopy(published("shopify/checkouts_create.json"))
    payload.update(updated_at=updated.isoformat(), created_at=updated.isoformat(), **changes)
    return payload


def order_sample(placed: datetime, **changes) -> dict:
    """Shopify's published order sample, placed at `placed` (and, unlike the sample, not
    cancelled: the sample is an order cancelled at the moment it was placed)."""
    payload = copy.deepcopy(published("shopify/orders_create.json"))
    payload.update(created_at=placed.isoformat(), processed_at=placed.isoformat(),
                   updated_at=placed.isoformat(), cancelled_at=None, cancel_reason=None,
                   **changes)
    return payload


def move_to(instant: datetime, run_jobs) -> None:
    """One tick at `instant`, then a burst worker, all as of `instant`."""
    with clock.frozen_at(instant):
        engine.enroll_audiences(instant)
        engine.tick(instant)
        run_jobs()


def runs(flow: str | None = None) -> list[FlowRun]:
    with db.session() as session:
        query = select(FlowRun).order_by(FlowRun.id)
        if flow:
            query = query.where(FlowRun.flow == flow)
        return list(session.execute(query).scalars())


def messages(flow: str | None = None) -> list[Message]:
    with db.session() as session:
        query = select(Message).order_by(Message.id)
        if flow:
            query = query.where(Message.flow == flow)
        return list(session.execute(query).scalars())


def timeline(store_id: int, email: str) -> list[tuple[str, str | None, str]]:
    with db.session() as session:
        return [(e["kind"], e["step"], e["detail"]) for e in for_email(session, store_id, email)]

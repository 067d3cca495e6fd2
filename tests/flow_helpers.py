"""Helpers for flow tests: the published samples' moment, consent, flow switches, and moving
time the way `storeflow tick --at` does."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy import select

from app.core import clock
from app.core.db import db
from app.demo.payloads import (SAMPLE_TIME, Person, checkout_sample,  # noqa: F401
                               consent_update, customer,
                               order_sample)
from app.models import FlowRun, Message, Store
from flows import catalog, choices, engine
from flows.context import RunContext
from flows.timeline import for_email

CHECKOUT_CUSTOMER = 603851970716743426  # the customer embedded in checkouts_create.json
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
DAY = timedelta(days=1)


@contextmanager
def at(instant: datetime):
    """Deliver webhooks and run jobs as if it were `instant`."""
    with clock.frozen_at(instant):
        yield instant


POSTAL_ADDRESS = "12 Orchard Lane, Portland, OR 97201"


def enable(store_id: int, *names: str, quiet_hours: str = "off", **settings) -> None:
    """Switch flows on with these settings; quiet hours are off unless a test is about them.
    The store has the postal address marketing flows need."""
    with db.session() as session:
        store = session.get(Store, store_id)
        store.settings = {"postal_address": POSTAL_ADDRESS, **store.settings,
                          "quiet_hours": quiet_hours}
        for name in names:
            flow = catalog.FLOWS[name]
            known = {k: v for k, v in settings.items() if k in choices.defaults(flow)}
            choices.save(session, store_id, flow, actor="test", enabled=True,
                        changes=choices.validate(flow, known))


def shopper_abandons(webhooks, run_jobs, shopper: Person, updated: datetime) -> None:
    """`shopper` (the checkout sample's customer, with their own address) subscribes and leaves
    the sample checkout at `updated`; delivered a minute later."""
    with at(updated + MINUTE):
        webhooks.deliver("customers/update", customer(shopper, updated))
        webhooks.deliver("customers_email_marketing_consent/update",
                         consent_update(CHECKOUT_CUSTOMER, shopper.email))
        webhooks.deliver("checkouts/update", checkout_sample(updated))
        run_jobs()


def move_to(instant: datetime, run_jobs) -> None:
    """One tick at `instant`, then a burst worker, all as of `instant`."""
    with clock.frozen_at(instant):
        engine.enroll_audiences(instant)
        engine.tick(instant)
        run_jobs()


@contextmanager
def run_context(run: FlowRun, **changes):
    """What a rule or condition sees of `run` now, with `changes` made to the run in memory
    only (`settings`, a `subject_id` whose row is gone...): the rule is asked directly."""
    with db.session() as session:
        row = session.get(FlowRun, run.id)
        session.expunge(row)  # never written back
        for name, value in changes.items():
            setattr(row, name, value)
        yield RunContext(session, session.get(Store, row.store_id), row, clock.now())


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

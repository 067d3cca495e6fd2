"""Who entered and who left each segment: `segment_entered` / `segment_left` domain events.

`segment_members` holds what the last check found for each (segment, customer). Two things check:

- `on_event`, a listener of ingest's events (new or changed orders, refunds and cancellations,
  a customer's tags or details, consent): it rechecks that one customer against the store's
  segments in Python (conditions.evaluate over the metrics just kept), and publishes the
  changes in ingest's transaction, where every domain event is published. It listens to
  ingest rather than hooking the metrics upkeep, because the upkeep also runs for history (a
  backfill), which must never start anything, and for tag or consent changes there is no
  upkeep at all.
- `refresh_all`, the daily pass: what time alone changes (days since the last order, the
  30-day window, the store's top-spend bar) and what no event announces (mail opened or
  clicked, a flow's score or tag) is found by asking each segment's rule of the whole store in
  SQL and comparing with the table. Its events are published in its own transaction.

Saving a segment (`reset`) records its members silently: editing a rule moves no one.
"""
from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import bindparam, delete, insert, literal, select
from sqlalchemy.dialects.postgresql import insert as upsert
from sqlalchemy.orm import Session

from app.audiences import conditions, metrics, sql
from app.audiences.catalogue import facts
from app.core import clock, events
from app.core.db import db, execute_core
from app.models import Customer, CustomerMetrics, Segment, SegmentMember, Store

log = logging.getLogger(__name__)
# Ingest's events after which a customer's segments may differ.
CHANGES = (events.ORDER_PLACED, events.ORDER_UPDATED, events.ORDER_PAID,
           events.ORDER_CANCELLED, events.CUSTOMER_CREATED, events.CUSTOMER_UPDATED,
           events.CONSENT_CHANGED)


def reset(session: Session, segment: Segment, now: datetime) -> None:
    """Record the segment's members as they are now, publishing nothing."""
    session.execute(delete(SegmentMember).where(SegmentMember.segment_id == segment.id))
    found = sql.matching(segment.store_id, segment.rule, now).subquery()
    session.execute(insert(SegmentMember).from_select(
        ["segment_id", "customer_id", "store_id", "entered_at"],
        select(literal(segment.id), found.c.id, literal(segment.store_id), literal(now))))


def on_event(session: Session, event: events.DomainEvent) -> None:
    """Recheck the customer(s) an order or customer event is about (ingest's transaction)."""
    if event.subject == "order":
        customer_ids = metrics.order_owners(session, event.store_id, event.subject_id)
    elif event.subject == "customer":
        customer_ids = [event.subject_id]
    else:
        return
    events.publish(session, recheck(session, event.store_id, customer_ids, event.occurred_at))


# Built once: every customer event ingested reads it.
_RULES = select(Segment.id, Segment.rule).where(Segment.store_id == bindparam("store_id"))


def recheck(session: Session, store_id: int, customer_ids: list[int],
            now: datetime) -> list[events.DomainEvent]:
    """Evaluate the store's segments for these customers and record what changed; the events."""
    # Read for every event, never from a batch's memo: a rule the merchant changes resets its
    # members at once, and a delivery after that must not add one by the old rule.
    # Their ids and rules as plain rows: every customer event asks, and the ORM's handling of
    # the entities cost more than the query (bench/RESULTS.md).
    segments = execute_core(session, _RULES, {"store_id": store_id}).all()
    if not segments or not customer_ids:
        return []
    held = set(session.execute(select(SegmentMember.segment_id, SegmentMember.customer_id).where(
        SegmentMember.store_id == store_id, SegmentMember.customer_id.in_(customer_ids))).all())
    # As the statements of this transaction left them (upserts and the metrics upkeep write
    # with SQL, behind any copy the session already holds).
    fresh = {"populate_existing": True}
    session.execute(select(CustomerMetrics).where(
        CustomerMetrics.customer_id.in_(customer_ids)).execution_options(**fresh)).all()
    customers = session.execute(select(Customer).where(
        Customer.store_id == store_id, Customer.id.in_(customer_ids)).execution_options(**fresh)
    ).scalars().all()
    entered, left = [], []
    for customer in customers:
        known = facts(session, customer, now)
        for segment in segments:
            inside = conditions.evaluate(segment.rule, known)
            if inside != ((segment.id, customer.id) in held):
                (entered if inside else left).append((segment.id, customer.id))
    return _record(session, store_id, entered, left, now)


def _record(session: Session, store_id: int, entered: list[tuple[int, int]],
            left: list[tuple[int, int]], now: datetime) -> list[events.DomainEvent]:
    if entered:
        session.execute(upsert(SegmentMember).values([
            {"segment_id": s, "customer_id": c, "store_id": store_id, "entered_at": now}
            for s, c in entered]).on_conflict_do_nothing())
    for segment_id, customer_id in left:
        session.execute(delete(SegmentMember).where(
            SegmentMember.segment_id == segment_id, SegmentMember.customer_id == customer_id))
    return [events.DomainEvent(name, store_id, "customer", customer_id, now, segment_id)
            for name, pairs in ((events.SEGMENT_ENTERED, entered), (events.SEGMENT_LEFT, left))
            for segment_id, customer_id in pairs]


def refresh(session: Session, segment: Segment, now: datetime) -> list[events.DomainEvent]:
    """Compare one segment's rule, asked of the whole store, with its recorded members."""
    found = sql.matching(segment.store_id, segment.rule, now).subquery()
    recorded = select(SegmentMember.customer_id).where(SegmentMember.segment_id == segment.id)
    entered = session.execute(select(found.c.id).where(found.c.id.not_in(recorded))).scalars().all()
    left = session.execute(recorded.where(
        SegmentMember.customer_id.not_in(select(found.c.id)))).scalars().all()
    return _record(session, segment.store_id, [(segment.id, c) for c in entered],
                   [(segment.id, c) for c in left], now)


def refresh_all() -> int:
    """Daily: every segment of every store checked against the clock; how many changes."""
    now, changes = clock.now(), 0
    with db.session() as session:
        store_ids = session.execute(select(Store.id).order_by(Store.id)).scalars().all()
    for store_id in store_ids:
        with db.session() as session:
            for segment in session.execute(select(Segment).where(
                    Segment.store_id == store_id).order_by(Segment.id)).scalars().all():
                emitted = refresh(session, segment, now)
                events.publish(session, emitted)
                changes += len(emitted)
    log.info("segment memberships refreshed: %d change(s)", changes)
    return changes

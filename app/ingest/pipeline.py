"""The ingest job: inbox row -> connector.normalize -> upsert -> domain events, published here
and nowhere else. A row of history (a backfill page) is stored without publishing: history must
never start a flow."""
from __future__ import annotations

import json
import logging
from typing import NamedTuple

from sqlalchemy import Row, bindparam, select, update
from sqlalchemy.orm import Session

import connectors
from app.core import clock, events, memo
from app.core.db import db, execute_core
from app.ingest import compliance, consent, identity, inbox, link_actions, orders, products, upsert
from app.ingest.storefront import store as storefront_store
from app.models import WebhookEvent
from connectors.base import (CHECKOUT, CheckoutRecord, ConsentRecord, CustomerRecord,
                             CustomerRedaction, DataRequest, FulfillmentRecord, OrderDeletion,
                             OrderRecord, PayloadError, ProductDeletion, ProductRecord, Record,
                             ShopRedaction, Uninstalled)
from connectors.storefront import StorefrontRecord

log = logging.getLogger(__name__)
# The source consent found in history is recorded under.
BACKFILL = "backfill"


def ingest(event_id: int) -> list[events.DomainEvent]:
    """Process one inbox row exactly once; a repeat run finds it processed and does nothing.

    A malformed payload is recorded on the row and not retried (it would fail the same way).
    Anything else (the database went away) raises, so RQ retries the job.
    """
    _count_attempt(event_id)
    with db.session() as session:
        # The row lock serialises two jobs for the same row (a sweep racing the first enqueue).
        event = execute_core(session, FRESH, {"id": event_id}).one_or_none()
        if event is None:  # processed already, or gone with its store
            return []
        return ingest_row(session, event).events


class Ingested(NamedTuple):
    events: list[events.DomainEvent]
    # A shop redaction purged the store with its inbox, this row included.
    store_purged: bool = False


# The columns of an inbox row its ingest reads.
ROW = (WebhookEvent.id, WebhookEvent.store_id, WebhookEvent.platform, WebhookEvent.topic,
       WebhookEvent.body)
# Built once: the inbox row `:id` if it is still to be processed, locked.
FRESH = (select(*ROW).where(WebhookEvent.id == bindparam("id"),
                            WebhookEvent.processed_at.is_(None)).with_for_update())


def ingest_row(session: Session, event: Row) -> Ingested:
    """Process one unprocessed inbox row (ROW's columns) the caller has locked, in the caller's
    transaction, and mark it processed there. Read and written as plain rows: the ORM's load
    and flush of the row cost more than the two statements."""
    context = {"store_id": event.store_id, "event_id": event.id, "topic": event.topic}
    history = inbox.history_of(event.topic)
    try:
        records = _normalize(event) if history is None else _history(event, history, context)
    except PayloadError as error:
        _processed(session, event.id, error=str(error))
        log.warning("ingest rejected payload: %s", error, extra=context)
        return Ingested([])
    emitted = store_records(session, event.store_id, records, event.platform,
                            event.topic if history is None else BACKFILL)
    if history is None:
        events.publish(session, emitted)
    else:
        emitted = []  # stored, and news to nobody
    if any(isinstance(record, ShopRedaction) for record in records) and not _exists(session, event):
        log.info("ingested a shop redaction", extra=context)  # the purge took this row with it
        return Ingested(emitted, store_purged=True)
    # The request itself names the customer: its body goes.
    _processed(session, event.id, forget_body=any(
        isinstance(record, (CustomerRedaction, DataRequest)) for record in records))
    log.info("ingested %d record(s), %d event(s)", len(records), len(emitted), extra=context)
    return Ingested(emitted)


def _processed(session: Session, event_id: int, error: str | None = None,
               forget_body: bool = False) -> None:
    execute_core(session, _PROCESSED[forget_body], {
        "row_id": event_id, "done_at": clock.now(), "why": error})


_INBOX = WebhookEvent.__table__
# Built once, by whether the body goes: the row's outcome. No parameter is named as a column.
_PROCESSED = {forget: update(_INBOX).where(_INBOX.c.id == bindparam("row_id")).values(
    processed_at=bindparam("done_at"), error=bindparam("why"),
    **({"body": b"{}"} if forget else {})) for forget in (False, True)}


def _normalize(event: Row) -> list[Record | link_actions.LinkAction]:
    if event.platform == link_actions.PLATFORM:  # a link in one of our own emails
        return link_actions.normalize(event.topic, json.loads(event.body))
    return connectors.get(event.platform).normalize(event.topic, json.loads(event.body))


def _history(event: Row, topic: str, context: dict) -> list[Record]:
    """A backfill page's records; a malformed object is skipped, not the page."""
    page = json.loads(event.body)
    if not isinstance(page, list):
        raise PayloadError("a history page is not a list")
    connector, records, skipped = connectors.get(event.platform), [], 0
    for item in page:
        try:
            records += connector.normalize(topic, item)
        except PayloadError:
            skipped += 1
    if skipped:
        log.warning("history page: %d malformed object(s) skipped", skipped, extra=context)
    return records


def _exists(session: Session, event: Row) -> bool:
    return session.execute(select(WebhookEvent.id).where(WebhookEvent.id == event.id)).scalar() is not None


def _count_attempt(event_id: int) -> None:
    # Committed on its own, so a run that fails still counts and the sweeper can give up.
    with db.session() as session:
        session.execute(
            update(WebhookEvent)
            .where(WebhookEvent.id == event_id, WebhookEvent.processed_at.is_(None))
            .values(attempts=WebhookEvent.attempts + 1)
        )


def store_records(session: Session, store_id: int, records: list[Record], platform: str,
                  topic: str) -> list[events.DomainEvent]:
    """Upsert records in order; the domain events they mean."""
    return [e for record in records for e in store_record(session, store_id, record, platform, topic)]


def store_record(session: Session, store_id: int, record: Record, platform: str,
                 topic: str) -> list[events.DomainEvent]:
    """Upsert one record and name what happened; a stale record changes nothing and says so."""
    if isinstance(record, StorefrontRecord):
        return storefront_store.store(session, store_id, record)
    if isinstance(record, OrderRecord):
        return orders.store_order(session, store_id, record)
    if isinstance(record, OrderDeletion):
        return orders.store_order_deletion(session, store_id, record.platform_id)
    if isinstance(record, FulfillmentRecord):
        return orders.store_fulfillment(session, store_id, record)
    if isinstance(record, (ProductRecord, ProductDeletion)):
        return products.store(session, store_id, record)
    if isinstance(record, ConsentRecord):
        return _consent(session, store_id, record, platform, topic)
    if isinstance(record, link_actions.LinkAction):
        return link_actions.apply(session, store_id, record)
    if isinstance(record, (Uninstalled, CustomerRedaction, ShopRedaction, DataRequest)):
        return _comply(session, store_id, record)
    now = clock.now()
    if isinstance(record, CheckoutRecord):
        result = upsert.checkout(session, store_id, record)
        name = events.CHECKOUT_COMPLETED if record.completed_at else events.CHECKOUT_UPDATED
        subject = "checkout"
    elif isinstance(record, CustomerRecord):
        result = upsert.customer(session, store_id, record)
        name = events.CUSTOMER_CREATED if result.created else events.CUSTOMER_UPDATED
        subject = "customer"
    else:
        raise TypeError(f"no upsert for {type(record).__name__}")
    if not result.changed:
        return []
    changed = [events.DomainEvent(name, store_id, subject, result.id, now)]
    if subject == "customer" and not result.created:
        # Tags the store gave a customer we knew: the tags of their first record are history.
        had = set(result.before["tags"] or ())
        changed += [events.DomainEvent(events.TAG_ADDED, store_id, subject, result.id, now,
                                       label=tag) for tag in record.tags if tag not in had]
    return changed


def _consent(session: Session, store_id: int, record: ConsentRecord, platform: str,
             topic: str) -> list[events.DomainEvent]:
    # Consent may arrive before the customer it is about: it creates them.
    customer_id = identity.resolve(session, store_id, email=record.email,
                                   platform_id=record.customer_platform_id)
    return consent.record(
        session, store_id, customer_id, record.state,
        source=f"{platform}:{record.origin or topic}", opt_in_level=record.opt_in_level,
        occurred_at=record.updated_at, undoes_withdrawal=record.origin != CHECKOUT,
    )


def _comply(session: Session, store_id: int, record: Record) -> list[events.DomainEvent]:
    """Lifecycle and privacy requests: they change what we hold, and start no flow. What the
    drain's batch read of the store is read again by the deliveries after it, and customers
    identified before it are identified again."""
    memo.forget(session)
    identity.forget(session)
    if isinstance(record, Uninstalled):
        compliance.uninstall(session, store_id)
    elif isinstance(record, CustomerRedaction):
        compliance.redact_customer(session, store_id, record)
    elif isinstance(record, ShopRedaction):
        compliance.purge_shop(session, store_id)
    else:
        compliance.answer_data_request(session, store_id, record)
    return []

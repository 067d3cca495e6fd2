"""The per-send consent ledger: every marketing email of a flow keeps the consent it was queued on
(its state, source and time), written with the message; the message page and the customer export
show it. A transactional email needs none, and a test send goes to staff on nobody's consent.
"""
from __future__ import annotations

from typing import Any, Mapping

from sqlalchemy import (BigInteger, ColumnElement, DateTime, Insert, Integer, Selectable,
                        bindparam, func, insert, select, true)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from app.core import clock
from app.ingest import consent
from app.models import ConsentChange, Customer, Message, SendConsent


def record(session: Session, store_id: int, sent: list[tuple[int, int]]) -> None:
    """Copy each customer's consent as it stands now into the ledger row of their message, in
    one INSERT ... SELECT: `sent` is (message id, customer id) pairs of one store."""
    if not sent:
        return
    written = len(session.execute(_RECORD, {
        "store_id": store_id, "judged_at": clock.now(),
        "message_ids": [message for message, _ in sent],
        "customer_ids": [customer for _, customer in sent]}).all())
    if written != len(sent):
        raise missing(store_id, len(sent) - written)


def missing(store_id: int, count: int) -> LookupError:
    """The error of a ledger entry written for no customer of the store."""
    return LookupError(f"{count} message(s) for no customer of store {store_id}")


def entries(sent: Selectable, message_id: ColumnElement, customer_id: ColumnElement) -> Insert:
    """The ledger rows of the messages in `sent` (its columns `message_id` and `customer_id`)
    of `:store_id`, judged at `:judged_at`: one INSERT ... SELECT, returning the messages' ids.
    A message whose customer is not the store's gets none (the caller counts and refuses)."""
    # The history row that set what the customer holds (the newest of that state: a merged
    # customer's history may end with the other profile's changes).
    store_id = bindparam("store_id", type_=Integer)
    change = select(ConsentChange.id, ConsentChange.source).where(
        ConsentChange.store_id == store_id, ConsentChange.customer_id == Customer.id,
        ConsentChange.state == Customer.email_consent,
    ).order_by(ConsentChange.id.desc()).limit(1).lateral("change")
    chosen = select(
        store_id, message_id, Customer.id, change.c.id, Customer.email_consent,
        Customer.email_consent_opt_in_level, change.c.source, Customer.email_consent_updated_at,
        bindparam("judged_at", type_=DateTime(timezone=True)),
    ).select_from(sent).join(Customer, (Customer.store_id == store_id)
                             & (Customer.id == customer_id)).outerjoin(change, true())
    ledger = SendConsent.__table__
    return insert(ledger).from_select(
        ["store_id", "message_id", "customer_id", "consent_change_id", "state", "opt_in_level",
         "source", "consented_at", "judged_at"], chosen).returning(ledger.c.message_id)


# Built once, as every statement a step runs: building it cost more than running it.
_SENT = func.unnest(bindparam("message_ids", type_=ARRAY(BigInteger)),
                    bindparam("customer_ids", type_=ARRAY(BigInteger))
                    ).table_valued("message_id", "customer_id").render_derived()
_RECORD = entries(_SENT, _SENT.c.message_id, _SENT.c.customer_id)


# For the send guard below: whether the message was queued on a subscription its customer (still
# in the store) no longer holds; NULL with no ledger entry (a transactional email, a test send).
WITHDRAWN = select(
    (SendConsent.state == consent.SUBSCRIBED) & SendConsent.customer_id.is_not(None)
    & Customer.email_consent.is_distinct_from(consent.SUBSCRIBED)
).select_from(SendConsent).outerjoin(
    Customer, (Customer.store_id == SendConsent.store_id)
    & (Customer.id == SendConsent.customer_id),
).where(
    SendConsent.store_id == bindparam("store_id"),
    SendConsent.message_id == bindparam("message_id"),
).scalar_subquery().label("consent_withdrawn")


def consent_still_given(session: Session, message: Message, read: Mapping[str, Any]) -> str | None:
    """A send guard (registered by app.wiring with what it reads, WITHDRAWN): a marketing email
    queued on a subscription the customer has withdrawn since (at their store, not through our
    link) does not leave."""
    return "marketing consent withdrawn" if read["consent_withdrawn"] else None


def of_messages(session: Session, store_id: int, message_ids: list[int]) -> dict[int, SendConsent]:
    """The ledger rows of these messages of one store, by message id."""
    rows = session.execute(select(SendConsent).where(
        SendConsent.store_id == store_id, SendConsent.message_id.in_(message_ids))).scalars()
    return {row.message_id: row for row in rows}


def in_words(message: Message, entry: SendConsent | None) -> str:
    """The consent a message was sent on, as a merchant reads it."""
    if not message.marketing:
        return "transactional: sent whatever their marketing consent"
    if entry is None:
        return ("a test send to staff, on nobody's consent" if message.run_id is None
                else "not recorded (queued before the ledger was kept)")
    words = consent.in_words(entry) if entry.source else (
        consent.STATE_WORDS.get(entry.state or "", "consent never reported") + ", source not kept")
    given = entry.consented_at.date().isoformat() if entry.consented_at else "date not reported"
    return f"{words} ({given})"

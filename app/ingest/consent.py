"""Email-marketing consent: what each customer agreed to and since when, with the history that
justifies every marketing send.

Rules: news older than what we hold never overwrites it; undated news only fills a gap (we knew
nothing); a box ticked on a checkout never undoes an unsubscribe (a checkout updated later still
carries the box ticked before it; only the platform's own consent record can resubscribe).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

import connectors
from app.core import clock, events
from app.core.db import execute_core
from app.models import ConsentChange, Customer, SendConsent
from app.sync import writeback

SUBSCRIBED = "subscribed"
PENDING = "pending"
UNSUBSCRIBED = "unsubscribed"
CONFIRMED, SINGLE = "confirmed_opt_in", "single_opt_in"
WITHDRAWN = frozenset({"unsubscribed", "redacted", "invalid"})
# A change of consent as the customer's timeline says it: the state, then where it came from.
STATE_WORDS = {SUBSCRIBED: "subscribed to marketing email",
               PENDING: "signed up, waiting for them to confirm",
               UNSUBSCRIBED: "unsubscribed from marketing email",
               "not_subscribed": "not subscribed to marketing email",
               "redacted": "their data was erased", "invalid": "the address was found invalid"}
# The sources of the changes made through our own links.
OUR_UNSUBSCRIBE, DOUBLE_OPT_IN = "storeflow:unsubscribe", "storeflow:double_opt_in"
PREFERENCE_PAGE = "storeflow:preference_page"
SOURCE_WORDS = {OUR_UNSUBSCRIBE: "with the unsubscribe link in an email",
                DOUBLE_OPT_IN: "with the confirmation link in our email",
                PREFERENCE_PAGE: "on the preference page behind the unsubscribe link",
                "checkout": "ticked the box at {platform} checkout"}


def own_address(customer: Customer | None, email: str | None) -> bool:
    """Whether `email` is the customer's own address: their consent, name and history go with
    mail to it and to no other (a checkout or a storefront event can carry any address)."""
    return customer is not None and email is not None and customer.email == email


def allows_marketing(customer: Customer) -> bool:
    """True only for a subscribed customer: unknown, pending or withdrawn consent is a no."""
    return customer.email_consent == SUBSCRIBED


def confirmed(customer: Customer) -> bool:
    """Subscribed with a confirmed (double) opt-in, here or at the platform."""
    return allows_marketing(customer) and customer.email_consent_opt_in_level == CONFIRMED


def subscribing(customer: Customer) -> bool:
    """Subscribed, or waiting to confirm: someone the welcome flow should greet."""
    return customer.email_consent in (SUBSCRIBED, PENDING)


def in_words(change: ConsentChange | SendConsent) -> str:
    """One change of consent (or the ledger's copy of one) as a merchant reads it: "subscribed to marketing email (double
    opt-in), as Shopify reported"."""
    state = STATE_WORDS.get(change.state, change.state.replace("_", " "))
    if change.state == SUBSCRIBED and change.opt_in_level == CONFIRMED:
        state += ", confirmed (double opt-in)"
    platform, _, topic = change.source.partition(":")
    connector = connectors.get(platform)
    name = connector.title if connector else platform
    how = SOURCE_WORDS.get(change.source) or SOURCE_WORDS.get(topic, "as {platform} reported")
    return f"{state}, {how.format(platform=name)}"


def confirm(session: Session, store_id: int, customer_id: int,
            occurred_at: datetime) -> list[events.DomainEvent]:
    """The subscriber clicked our double opt-in link: record it and tell the store; the events
    for the flows, which the caller (ingest) publishes."""
    return _ours(session, store_id, customer_id, SUBSCRIBED, CONFIRMED, DOUBLE_OPT_IN, occurred_at)


def withdraw(session: Session, store_id: int, customer_id: int,
             occurred_at: datetime) -> list[events.DomainEvent]:
    """The customer unsubscribed through one of our links: record it and tell the store; the
    events for the flows, which the caller (ingest) publishes."""
    return _ours(session, store_id, customer_id, UNSUBSCRIBED, None, OUR_UNSUBSCRIBE, occurred_at)


def resubscribe(session: Session, store_id: int, customer_id: int,
                occurred_at: datetime) -> list[events.DomainEvent]:
    """The customer resubscribed on the preference page behind our unsubscribe link: this undoes
    only an unsubscribe made through our own link (one told to the store, or a bounce, is
    undone only where it was made). Recorded and told to the store as an unsubscribe is."""
    if last_source(session, store_id, customer_id) != OUR_UNSUBSCRIBE:
        return []
    # Single opt-in: the page proves a click on a link we sent, not a fresh double opt-in (the
    # welcome flow does not greet them again: rules.subscribing reads the source).
    return _ours(session, store_id, customer_id, SUBSCRIBED, SINGLE, PREFERENCE_PAGE, occurred_at)


def last_source(session: Session, store_id: int, customer_id: int) -> str | None:
    """Where the customer's newest change of consent came from (None before any)."""
    return session.execute(select(ConsentChange.source).where(
        ConsentChange.store_id == store_id, ConsentChange.customer_id == customer_id,
    ).order_by(ConsentChange.id.desc()).limit(1)).scalar_one_or_none()


def _ours(session: Session, store_id: int, customer_id: int, state: str,
          opt_in_level: str | None, source: str, occurred_at: datetime) -> list[events.DomainEvent]:
    """Record a change of consent made through one of our links and tell the store of it."""
    emitted = record(session, store_id, customer_id, state, opt_in_level=opt_in_level,
                     source=source, occurred_at=occurred_at)
    if emitted:
        writeback.after_commit(session, writeback.consent, store_id, customer_id)
    return emitted


def record(session: Session, store_id: int, customer_id: int, state: str, *, source: str,
           opt_in_level: str | None = None, occurred_at: datetime | None = None,
           undoes_withdrawal: bool = True) -> list[events.DomainEvent]:
    """Apply one report of a customer's consent unless what we hold is newer, and keep it in
    the history; CONSENT_CHANGED when the state or its opt-in level changed."""
    customer = session.execute(_LOCKED, {"store_id": store_id, "id": customer_id}).scalar_one()
    _hold(session, customer)
    held = (customer.email_consent, customer.email_consent_opt_in_level,
            customer.email_consent_updated_at)
    if held == (state, opt_in_level, occurred_at) or not _is_news(customer, occurred_at):
        return []
    if customer.email_consent in WITHDRAWN and not undoes_withdrawal:
        return []
    previous = held[:2]
    now = clock.now()
    # The customer's consent and its history row in one statement, not a flush's two.
    execute_core(session, _CHANGE, {"of_store": store_id, "customer": customer.id,
                                    "state": state, "level": opt_in_level, "at": occurred_at,
                                    "source": source, "now": now})
    for key, value in (("email_consent", state), ("email_consent_opt_in_level", opt_in_level),
                       ("email_consent_updated_at", occurred_at), ("updated_at", now)):
        set_committed_value(customer, key, value)
    # A confirmed opt-in is news too: the welcome flow waits for it.
    if (state, opt_in_level) == previous:
        return []
    return [events.DomainEvent(events.CONSENT_CHANGED, store_id, "customer", customer.id,
                               clock.now())]


def _hold(session: Session, customer: Customer) -> None:
    """Keep the customer just read (locked, fresh) in the session until its transaction ends:
    the session holds a row only while something refers to it, and the listeners of the events
    this delivery publishes read the same customer again (a query each, three a shopper).
    A write of customers in SQL behind the session expires its copy (app.ingest.upsert)."""
    session.info.setdefault(HELD, []).append(customer)


# The session.info key of the rows `_hold` keeps.
HELD = "held_customers"
# Built once: every delivery carrying consent runs it.
_LOCKED = (select(Customer).where(Customer.store_id == bindparam("store_id"),
                                  Customer.id == bindparam("id"))
           .with_for_update().execution_options(populate_existing=True))


# Built once, with no parameter named as a column of customers (an UPDATE would set it too).
_CHANGED = (update(Customer.__table__)
            .where(Customer.__table__.c.store_id == bindparam("of_store"),
                   Customer.__table__.c.id == bindparam("customer"))
            .values(email_consent=bindparam("state"), email_consent_opt_in_level=bindparam("level"),
                    email_consent_updated_at=bindparam("at"), updated_at=bindparam("now"))
            .returning(Customer.__table__.c.id).cte("changed"))
_CHANGE = insert(ConsentChange.__table__).add_cte(_CHANGED).from_select(
    ["store_id", "customer_id", "state", "opt_in_level", "source", "occurred_at", "recorded_at"],
    select(bindparam("of_store"), _CHANGED.c.id, bindparam("state"), bindparam("level"),
           bindparam("source"), bindparam("at"), bindparam("now")))


def _is_news(customer: Customer, occurred_at: datetime | None) -> bool:
    if customer.email_consent is None:
        return True
    if occurred_at is None:
        return False
    held_at = customer.email_consent_updated_at
    return held_at is None or occurred_at >= held_at

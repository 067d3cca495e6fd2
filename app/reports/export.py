"""Everything we hold about one customer of one store, as JSON-ready data: their profile(s),
consent history, orders, checkouts, storefront visits and views, the messages sent to them (with
opens, clicks, bounces, and the consent each was sent on), their place in each flow and its
timeline, and any suppression or pause of mail to their address.

Used by `storeflow customer export` and by the GDPR data request.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from app.mail import consent_ledger
from app.models import (Checkout, ConsentChange, Customer, FlowRun, MailPause, Message,
                        MessageEvent, Order, ProductView, SendConsent, Suppression, TimelineEntry,
                        Visitor)
from connectors.values import normalize_email


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _row(row, *exclude: str) -> dict[str, Any]:
    skip = {"store_id", *exclude}
    return {c.key: _plain(getattr(row, c.key)) for c in row.__table__.columns if c.key not in skip}


def _basis(message: Message, entry: SendConsent | None) -> dict[str, Any]:
    """The consent a message was sent on: the ledger's copy, and in words."""
    copied = _row(entry, "id", "message_id") if entry is not None else None
    return {"in_words": consent_ledger.in_words(message, entry), "ledger": copied}


def export_customer(session: Session, store_id: int, email: str) -> dict[str, Any]:
    """Everything held for `email` in `store_id` (see the module's docstring)."""
    address = normalize_email(email)
    if address is None:  # else `email == None` would match every row without an address
        raise ValueError(f"{email!r} is not an email address")
    customers = session.execute(
        select(Customer).where(Customer.store_id == store_id, Customer.email == address)
    ).scalars().all()
    customer_ids = [c.id for c in customers]

    def theirs(model, *, by_email: bool = False):
        """The store's rows of `model` that are this person's: by customer (and address)."""
        mine = model.customer_id.in_(customer_ids)
        return select(model).where(model.store_id == store_id,
                                   or_(model.email == address, mine) if by_email else mine
                                   ).order_by(model.id)

    def rows(query, *exclude: str) -> list[dict[str, Any]]:
        return [_row(row, *exclude) for row in session.execute(query).scalars()]

    orders = session.execute(theirs(Order, by_email=True).options(selectinload(Order.lines))
                             ).scalars().all()
    checkouts = session.execute(theirs(Checkout, by_email=True)
                                .options(selectinload(Checkout.lines))).scalars().all()
    visitors = session.execute(theirs(Visitor)).scalars().all()
    messages = session.execute(theirs(Message, by_email=True)).scalars().all()
    events = session.execute(select(MessageEvent).where(
        MessageEvent.message_id.in_([m.id for m in messages])).order_by(MessageEvent.id)
    ).scalars().all()
    ledger = consent_ledger.of_messages(session, store_id, [m.id for m in messages])
    return {
        "email": address,
        "customers": [_row(c) for c in customers],
        "consent_history": rows(theirs(ConsentChange)),
        "orders": [{**_row(o), "lines": [_row(l, "order_id") for l in o.lines]} for o in orders],
        "checkouts": [{**_row(c), "lines": [_row(l, "checkout_id") for l in c.lines]}
                      for c in checkouts],
        "storefront_visitors": [_row(v) for v in visitors],
        "product_views": rows(select(ProductView).where(
            ProductView.store_id == store_id,
            or_(ProductView.customer_id.in_(customer_ids),
                ProductView.visitor_id.in_([v.visitor_id for v in visitors])))
            .order_by(ProductView.id)),
        "messages": [{**_row(m), "events": [_row(e, "message_id") for e in events
                                            if e.message_id == m.id],
                      "consent_basis": _basis(m, ledger.get(m.id))} for m in messages],
        "flow_runs": rows(theirs(FlowRun)),
        "timeline": rows(theirs(TimelineEntry)),
        "suppressions": rows(select(Suppression).where(Suppression.store_id == store_id,
                                                       Suppression.email == address)),
        "pauses": rows(select(MailPause).where(MailPause.store_id == store_id,
                                               MailPause.email == address)),
    }

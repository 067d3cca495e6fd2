"""What the platform's privacy and lifecycle webhooks oblige us to do: stop at uninstall, erase a
customer, erase a shop, and answer a customer's data request."""
from __future__ import annotations

import logging

from sqlalchemy import delete, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app.core import clock
from app.models import (Checkout, Customer, DataRequest, Fulfillment, MailPause, Message,
                        MessageEvent, Order, ProductView, Store, Suppression, Visitor,
                        WebhookEvent)
from app.reports.export import export_customer
from connectors.base import CustomerRedaction, DataRequest as DataRequestRecord

log = logging.getLogger(__name__)

# What an erased message's address becomes: the row stays for the flow's counts, not the person.
REDACTED = "redacted"


def uninstall(session: Session, store_id: int) -> None:
    """Stop everything for the store now: no step runs and no queued mail leaves once
    `uninstalled_at` is set. The platform revoked the tokens; we drop our copies."""
    store = session.get(Store, store_id)
    store.uninstalled_at = clock.now()
    store.access_token = store.refresh_token = None
    store.access_token_expires_at = store.refresh_token_expires_at = None
    cancelled = session.execute(update(Message).where(
        Message.store_id == store_id, Message.status == "queued",
    ).values(status="cancelled", reason="store uninstalled", updated_at=clock.now())).rowcount
    log.info("store uninstalled; %d queued message(s) cancelled", cancelled,
             extra={"store_id": store_id})


def redact_customer(session: Session, store_id: int, request: CustomerRedaction) -> None:
    """Erase one customer's personal data from every table of this store."""
    matches = []
    if request.customer_platform_id:
        matches.append(Customer.platform_id == request.customer_platform_id)
    if request.email:
        matches.append(Customer.email == request.email)
    customer_ids = session.execute(select(Customer.id).where(
        Customer.store_id == store_id, or_(*matches))).scalars().all() if matches else []
    by_person = _owned_by(customer_ids, request.email)

    session.execute(delete(Fulfillment).where(
        Fulfillment.store_id == store_id, Fulfillment.order_platform_id.in_(request.order_platform_ids)))
    session.execute(delete(Order).where(Order.store_id == store_id, or_(
        Order.platform_id.in_(request.order_platform_ids), *by_person(Order))))
    session.execute(delete(Checkout).where(Checkout.store_id == store_id, or_(*by_person(Checkout))))
    visitor_ids = session.execute(delete(Visitor).where(
        Visitor.store_id == store_id, Visitor.customer_id.in_(customer_ids),
    ).returning(Visitor.visitor_id)).scalars().all()
    session.execute(delete(ProductView).where(ProductView.store_id == store_id, or_(
        ProductView.customer_id.in_(customer_ids), ProductView.visitor_id.in_(visitor_ids))))
    _erase_messages(session, store_id, by_person(Message))
    if request.email:
        session.execute(delete(Suppression).where(Suppression.store_id == store_id,
                                                  Suppression.email == request.email))
        session.execute(delete(MailPause).where(MailPause.store_id == store_id,
                                                MailPause.email == request.email))
    session.execute(delete(DataRequest).where(DataRequest.store_id == store_id, or_(
        DataRequest.customer_platform_id == request.customer_platform_id,
        DataRequest.email == request.email)))
    # Consent history, flow runs and the timeline go with the customer (ON DELETE CASCADE).
    session.execute(delete(Customer).where(Customer.id.in_(customer_ids)))
    _forget_deliveries(session, store_id, request)
    log.info("customer redacted: %d profile(s)", len(customer_ids), extra={"store_id": store_id})


def _owned_by(customer_ids: list[int], email: str | None):
    """Conditions matching a model's rows of this person: by customer, or by address."""
    def conditions(model) -> list:
        found = [model.customer_id.in_(customer_ids)]
        return [*found, model.email == email] if email else found
    return conditions


def _erase_messages(session: Session, store_id: int, conditions: list) -> None:
    """Queued mail is cancelled; every message keeps its counts but loses the person."""
    where = (Message.store_id == store_id, or_(*conditions))
    session.execute(update(Message).where(*where, Message.status == "queued")
                    .values(status="cancelled", reason="redacted"))
    ids = session.execute(update(Message).where(*where).values(
        email=REDACTED, subject=None, context={}, customer_id=None, updated_at=clock.now(),
    ).returning(Message.id)).scalars().all()
    # A clicked link can carry the recipient's identity token.
    session.execute(update(MessageEvent).where(MessageEvent.message_id.in_(ids)).values(url=None))


def _forget_deliveries(session: Session, store_id: int, request: CustomerRedaction) -> None:
    """Processed webhook bodies that name the customer (the raw copies of what we erased)."""
    needles = [str(n).lower() for n in (request.email, request.phone, request.customer_platform_id,
                                        *request.order_platform_ids) if n]
    for needle in needles:
        session.execute(delete(WebhookEvent).where(
            WebhookEvent.store_id == store_id, WebhookEvent.processed_at.is_not(None),
            text("position(:needle in lower(convert_from(webhook_events.body, 'UTF8'))) > 0")
            .bindparams(needle=needle)))


def purge_shop(session: Session, store_id: int) -> bool:
    """Erase the store and everything it owns (every tenant table cascades from it). Only an
    uninstalled store: a shop that came back since must keep its data."""
    store = session.get(Store, store_id)
    if store is None or store.installed:
        log.warning("shop redaction ignored: the store is installed", extra={"store_id": store_id})
        return False
    session.execute(delete(Store).where(Store.id == store_id))
    log.info("shop redacted", extra={"store_id": store_id})
    return True


def answer_data_request(session: Session, store_id: int, request: DataRequestRecord) -> None:
    """Keep the export of everything we hold about the customer (table `data_requests`) for the
    merchant to send on; the log line names the request, not the person."""
    export = export_customer(session, store_id, request.email) if request.email else {}
    session.execute(insert(DataRequest).values(
        store_id=store_id, request_id=request.request_id,
        customer_platform_id=request.customer_platform_id, email=request.email, export=export,
        received_at=clock.now(),
    ).on_conflict_do_nothing(index_elements=["store_id", "request_id"]))
    log.info("data request %d answered", request.request_id, extra={"store_id": store_id})

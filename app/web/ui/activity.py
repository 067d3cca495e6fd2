"""Activity: the store's emails page by page with their status, one email's story, and a
customer found by address or name with their timeline and the segments they are in."""
from __future__ import annotations

from dataclasses import dataclass

from flask import g, render_template, request
from jinja2 import UndefinedError
from sqlalchemy import func, or_, select, true, tuple_
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.orm import Session

from app.audiences import segments
from app.core.db import db
from app.jobs import failures as job_failures
from app.mail import compose, consent_ledger
from app.mail.render import render
from app.models import Customer, Message, MessageEvent, Order
from app.web import ids
from app.web.ui import bp, owned_or_404, shows_email
from connectors.values import normalize_email
from flows.catalog import FLOWS
from flows.timeline import story, upcoming

RECENT = 50
STATUSES = ("sent", "queued", "cancelled", "failed")
# Newest first, and stable among emails queued in one moment (the later queued on top).
POSITION = tuple_(Message.created_at, Message.id)


@dataclass(frozen=True)
class Page:
    """One page of emails, newest first, and the ids to page on from (None: nothing beyond)."""
    messages: list[Message]
    newer: int | None
    older: int | None


def _page(session: Session, status: str | None, newer_than: int | None,
          older_than: int | None) -> Page:
    """The 50 emails just older than `older_than` (or newer than `newer_than`, or the newest),
    keyed on (queued at, id) so a page stays put while new mail arrives."""
    query = select(Message).where(Message.store_id == g.store.id)
    if status in STATUSES:
        query = query.where(Message.status == status)
    cursor = session.execute(select(Message.created_at, Message.id).where(
        Message.store_id == g.store.id, Message.id == (newer_than or older_than))).first()
    if cursor and newer_than:
        messages = list(session.execute(query.where(POSITION > tuple_(*cursor)).order_by(
            Message.created_at, Message.id).limit(RECENT)).scalars())[::-1]
    else:
        messages = list(session.execute(query.where(
            POSITION < tuple_(*cursor) if cursor else true()).order_by(
            Message.created_at.desc(), Message.id.desc()).limit(RECENT)).scalars())
    if not messages:
        return Page(messages, None, None)

    def beyond(row: Message, newer: bool) -> int | None:
        edge = tuple_(row.created_at, row.id)
        found = session.execute(select(query.where(
            POSITION > edge if newer else POSITION < edge).exists())).scalar()
        return row.id if found else None

    return Page(messages, beyond(messages[0], True), beyond(messages[-1], False))


def _matches(session: Session, text: str) -> list[Customer]:
    """Customers (one per address) whose address or name contains `text`, in any case; the `%`
    and `_` a merchant types are plain characters."""
    name = func.concat_ws(" ", Customer.first_name, Customer.last_name)
    return list(session.execute(
        select(Customer).ext(distinct_on(Customer.email)).where(
            Customer.store_id == g.store.id, Customer.email.is_not(None),
            or_(Customer.email.icontains(text, autoescape=True),
                name.icontains(text, autoescape=True)))
        .order_by(Customer.email, Customer.platform_id.is_(None), Customer.id).limit(RECENT)
    ).scalars())


def _customer_view(session: Session, address: str | None) -> dict | None:
    """The customer with this address, their timeline, emails and orders; None if unknown."""
    customer = address and session.execute(select(Customer).where(
        Customer.store_id == g.store.id, Customer.email == address,
    ).order_by(Customer.platform_id.is_(None), Customer.id).limit(1)).scalar_one_or_none()
    if not customer:
        return None
    messages = session.execute(select(Message).where(
        Message.store_id == g.store.id, Message.email == address,
    ).order_by(Message.created_at.desc()).limit(RECENT)).scalars().all()
    orders = session.execute(select(Order).where(
        Order.store_id == g.store.id, Order.customer_id == customer.id,
    ).order_by(Order.placed_at.desc()).limit(10)).scalars().all()
    timeline = list(reversed(story(session, g.store.id, address)))
    return {"customer": customer, "messages": messages, "orders": orders, "timeline": timeline,
            "upcoming": upcoming(session, g.store.id, customer.id),
            "segments": segments.of_customer(session, customer)}


@bp.get("/activity")
def activity():
    """The store's emails a page at a time; or, when something is searched, the customer with
    that address, else the customers whose address or name contains it."""
    search = request.args.get("email", "").strip()
    status = request.args.get("status")
    status = status if status in STATUSES else None
    found, matches, page = None, [], Page([], None, None)
    with db.session() as session:
        if search:
            found = _customer_view(session, normalize_email(search))
            matches = [] if found else _matches(session, search)
        else:
            page = _page(session, status, ids.parse(request.args.get("newer_than", "")),
                         ids.parse(request.args.get("older_than", "")))
        shown = found["messages"] if found else page.messages
        errors = job_failures.of_messages(session, g.store.id,
                                          [m.id for m in shown if m.status == "queued"])
    return render_template("ui/activity.html", email=search, found=found, matches=matches,
                           page=page, errors=errors, status=status, statuses=STATUSES,
                           flows=FLOWS)


@bp.get("/activity/messages/<id:message_id>")
@shows_email
def message(message_id: int):
    """One email: who, when, on what consent, what happened to it, why it has not left, and how
    it renders today."""
    with db.session() as session:
        row = owned_or_404(session, Message, message_id)
        events = session.execute(select(MessageEvent).where(
            MessageEvent.store_id == g.store.id, MessageEvent.message_id == row.id,
        ).order_by(MessageEvent.occurred_at)).scalars().all()
        error = (job_failures.of_messages(session, g.store.id, [row.id]).get(row.id)
                 if row.status == "queued" else None)
        basis = consent_ledger.in_words(
            row, consent_ledger.of_messages(session, g.store.id, [row.id]).get(row.id))
        try:
            rendered = render(row.template, compose.context_for(session, g.store, row))
        except UndefinedError:  # the cart or order it was about has since been deleted
            rendered = None
    return render_template("ui/message.html", message=row, events=events, rendered=rendered,
                           error=error, basis=basis, flows=FLOWS)

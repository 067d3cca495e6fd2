"""Activity: recent emails with their status, one email's story, and a customer's timeline."""
from __future__ import annotations

from flask import g, render_template, request
from jinja2 import UndefinedError
from sqlalchemy import select

from app.db import db
from app.mail import compose
from app.mail.render import render
from app.models import Customer, Message, MessageEvent, Order
from app.web.ui import bp, owned_or_404, shows_email
from connectors.base import normalize_email
from flows.catalog import FLOWS
from flows.timeline import for_email, upcoming

RECENT = 50
STATUSES = ("sent", "queued", "cancelled", "failed")


def _recent(session, status: str | None) -> list[Message]:
    query = select(Message).where(Message.store_id == g.store.id)
    if status in STATUSES:
        query = query.where(Message.status == status)
    return list(session.execute(query.order_by(Message.created_at.desc(), Message.id.desc())
                                .limit(RECENT)).scalars())


def _customer_view(session, email: str) -> dict | None:
    """The customer with this address, their timeline, emails and orders; None if unknown."""
    address = normalize_email(email)
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
    timeline = list(reversed(for_email(session, g.store.id, address)))
    return {"customer": customer, "messages": messages, "orders": orders, "timeline": timeline,
            "upcoming": upcoming(session, g.store.id, customer.id)}


@bp.get("/activity")
def activity():
    """Recent messages, or one customer's story when an email is searched."""
    email = request.args.get("email", "").strip()
    status = request.args.get("status")
    with db.session() as session:
        found = _customer_view(session, email) if email else None
        recent = [] if email else _recent(session, status)
    return render_template("ui/activity.html", email=email, found=found, recent=recent,
                           status=status if status in STATUSES else None, statuses=STATUSES,
                           flows=FLOWS)


@bp.get("/activity/messages/<id:message_id>")
@shows_email
def message(message_id: int):
    """One email: who, when, what happened to it, and how it renders today."""
    with db.session() as session:
        row = owned_or_404(session, Message, message_id)
        events = session.execute(select(MessageEvent).where(
            MessageEvent.store_id == g.store.id, MessageEvent.message_id == row.id,
        ).order_by(MessageEvent.occurred_at)).scalars().all()
        try:
            rendered = render(row.template, compose.context_for(session, g.store, row))
        except UndefinedError:  # the cart or order it was about has since been deleted
            rendered = None
    return render_template("ui/message.html", message=row, events=events, rendered=rendered,
                           flows=FLOWS)

"""A Message row -> a MIME message: the template rendered with current data, and its headers."""
from __future__ import annotations

from email.message import EmailMessage
from email.utils import formataddr, formatdate
from typing import Any

from sqlalchemy.orm import Session

from app import stores
from app.mail import catalog
from app.mail.render import render
from app.mail.transport import transports
from app.models import Checkout, Customer, Message, Order, Store

# Context references a message may carry, and the row each one names.
REFERENCES = {"checkout_id": ("checkout", Checkout), "order_id": ("order", Order)}


def context_for(session: Session, store: Store, message: Message) -> dict[str, Any]:
    """What a template sees: the store, the customer, and the rows the message refers to,
    read now (prices and stock as they are at send time)."""
    settings = store.effective_settings
    customer = (stores.get_owned(session, Customer, store.id, message.customer_id)
                if message.customer_id else None)
    context: dict[str, Any] = {
        "store": {"name": store.name or store.domain, "domain": store.domain,
                  "url": f"https://{store.domain}", "currency": store.currency, **settings},
        "customer": customer,
        "email": message.email,
        **message.context,
    }
    for key, (name, model) in REFERENCES.items():
        if key in message.context:
            context[name] = stores.get_owned(session, model, store.id, message.context[key])
    if "product_ids" in message.context:
        context["products"] = catalog.products(session, store.id, message.context["product_ids"])
    if customer is not None:
        context["recommendations"] = catalog.recommendations(session, store.id, customer)
    return context


def sender(store: Store) -> str:
    settings = store.effective_settings
    address = settings["from_email"] or f"no-reply@{transports.message_id_domain}"
    return formataddr((settings["from_name"] or store.name or store.domain, address))


def build(session: Session, store: Store, message: Message) -> EmailMessage:
    """Render and assemble the message; headers appear exactly once each."""
    rendered = render(message.template, context_for(session, store, message))
    mime = EmailMessage()
    mime["From"] = sender(store)
    mime["To"] = message.email
    mime["Subject"] = rendered.subject
    mime["Date"] = formatdate(localtime=False)
    mime["Message-ID"] = message.message_id
    reply_to = store.effective_settings["reply_to"]
    if reply_to:
        mime["Reply-To"] = reply_to
    mime.set_content(rendered.text)
    mime.add_alternative(rendered.html, subtype="html")
    return mime

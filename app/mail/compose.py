"""A Message row -> a MIME message: the template rendered with current data, and its headers."""
from __future__ import annotations

from email.utils import format_datetime, formataddr
from typing import Any

from sqlalchemy.orm import Session

from app.core import clock, stores
from app.ingest import consent, orders
from app.mail import links, mime, product_picks, samples, tracking
from app.mail.design import blocks
from app.mail.design import store as designs
from app.mail.feedback import postmark
from app.mail.render import default_design, render
from app.mail.transport import transports
from app.models import Checkout, Customer, Message, Order, Store

# Context references a message may carry, and the row each one names.
# `about` is the customer a note to the store's staff is about (a built flow's notify step).
REFERENCES = {"checkout_id": ("checkout", Checkout), "order_id": ("order", Order),
              "about_customer_id": ("about", Customer)}
ONE_CLICK = "List-Unsubscribe=One-Click"


def addressee(session: Session, message: Message) -> Customer | None:
    """The message's customer if it went to their own address, else None: only then are their
    name, history and consent any business of the message."""
    customer = (stores.get_owned(session, Customer, message.store_id, message.customer_id)
                if message.customer_id else None)
    return customer if consent.own_address(customer, message.email) else None


def context_for(session: Session, store: Store, message: Message,
                design: dict | None = None) -> dict[str, Any]:
    """What a template sees: the store, the customer (to their own address only), and the rows
    the message refers to, read now (prices and stock as they are at send time). Given the
    `design` the email is drawn from, what it cannot show is not read: the cart's or order's
    lines, the recommendations (two reads)."""
    settings = store.effective_settings
    customer = addressee(session, message)
    context: dict[str, Any] = {
        "store": {"name": store.name or store.domain, "domain": store.domain,
                  "url": stores.home_url(store), "currency": store.currency, **settings},
        "customer": customer,
        "email": message.email,
        **message.context,
        # After the message's own context, so nothing stored there can replace the signed link.
        "marketing": message.marketing,
        "unsubscribe_url": links.unsubscribe_url(message) if message.marketing else None,
        "confirm_url": links.confirm_url(message),
    }
    for key, (name, model) in REFERENCES.items():
        if key in message.context:
            context[name] = stores.get_owned(session, model, store.id, message.context[key])
    if design is None or blocks.shows_lines(design):
        context["lines"] = {name: product_picks.lines(session, context[name])
                            for name in ("checkout", "order") if context.get(name) is not None}
    if context.get("order") is not None:
        context["shipment"] = orders.latest_shipment(session, store.id, context["order"].id)
    if "product_ids" in message.context:
        context["products"] = product_picks.products(session, store.id, message.context["product_ids"])
    if customer is not None and (design is None or blocks.shows_recommendations(design)):
        context["recommendations"] = product_picks.recommendations(
            session, store.id, customer, context.get("order"))
    if message.context.get("sample"):
        # A preview or test send: made-up data stands in for whatever the store has none of.
        for key, value in samples.objects(store.currency, stores.home_url(store)).items():
            if context.get(key) is None:
                context[key] = value
    return context


def sender(store: Store) -> str:
    """The From address: the store's sender settings, else a no-reply on our own host."""
    settings = store.effective_settings
    address = settings["from_email"] or f"no-reply@{transports.message_id_domain}"
    return formataddr((settings["from_name"] or store.name or store.domain, address))


def list_unsubscribe(store: Store, unsubscribe_url: str) -> str:
    """RFC 2369/8058: the one-click URL, and a mailto to the store when it has an address that
    a person reads (our fallback no-reply address reads nothing)."""
    settings = store.effective_settings
    targets = [f"<{unsubscribe_url}>"]
    mailbox = settings["reply_to"] or settings["from_email"]
    if mailbox:
        targets.append(f"<mailto:{mailbox}?subject=unsubscribe>")
    return ", ".join(targets)


def build(session: Session, store: Store, message: Message,
          designs_read: dict | None = None) -> mime.Mail:
    """Render and assemble the message; headers appear exactly once each. `designs_read`: the
    designs a mail job has read for its earlier messages (app.mail.design.store.for_message)."""
    design = (designs.for_message(session, message, designs_read)
              or default_design(message.template))
    context = context_for(session, store, message, design)
    rendered = render(message.template, context, design)
    headers = [("From", sender(store)), ("To", message.email), ("Subject", rendered.subject),
               # The app's clock, which `tick --at` and the demo move.
               ("Date", format_datetime(clock.now())), ("Message-ID", message.message_id),
               # Postmark replaces the Message-ID over SMTP and echoes metadata instead (and
               # strips X-PM-* headers); elsewhere it repeats what Message-ID already says.
               (f"X-PM-Metadata-{postmark.METADATA_KEY}", message.message_id)]
    reply_to = store.effective_settings["reply_to"]
    if reply_to:
        headers.append(("Reply-To", reply_to))
    if message.marketing:
        # The link the body shows: a token made twice differs once a second has passed.
        headers += [("List-Unsubscribe", list_unsubscribe(store, context["unsubscribe_url"])),
                    ("List-Unsubscribe-Post", ONE_CLICK)]
    return mime.assemble(headers, rendered.text,
                         tracking.instrument(rendered.html, store, message))

"""The variables a condition may name, their types, and their values for one customer (and, in
flows, one order or checkout). docs/conditions.md documents them; app.audiences.sql holds the
same variables as columns, and the property test proves the two agree.

Dates reach the evaluator as fixed-width UTC ISO 8601 strings (`2026-11-24T15:00:00.000000Z`),
so comparing strings compares instants; money reaches it as a float, as SQL compares it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.ingest import consent
from app.models import Checkout, Customer, CustomerMetrics, Order, StoreMetrics

NUMBER, TEXT, BOOLEAN, DATETIME = "number", "text", "boolean", "datetime"
TEXT_LIST, NUMBER_LIST = "list of text", "list of numbers"
ELEMENT = {TEXT_LIST: TEXT, NUMBER_LIST: NUMBER}
CUSTOMER, FLOW = "customer", "flow"  # where a rule is used: segments, or a flow with its subject
ENGAGEMENT_WINDOW = timedelta(days=30)
# In a built flow, what became of an email sent earlier in the same run:
# `run.steps.<step id>.sent`, `.opened`, `.clicked` (booleans).
RUN_STEP = re.compile(r"run\.steps\.([a-z][a-z0-9_]{0,39})\.(sent|opened|clicked)")
ISO = "%Y-%m-%dT%H:%M:%S.%fZ"


@dataclass(frozen=True)
class Variable:
    name: str
    type: str
    doc: str
    nullable: bool = False  # may be missing (null): compares false with anything but null

    @property
    def scope(self) -> str:
        return CUSTOMER if self.name.startswith("customer.") else FLOW


VARIABLES = {v.name: v for v in (
    Variable("customer.email", TEXT, "email address, lower case", nullable=True),
    Variable("customer.first_name", TEXT, "first name", nullable=True),
    Variable("customer.last_name", TEXT, "last name", nullable=True),
    Variable("customer.tags", TEXT_LIST, "the store's tags on the customer"),
    Variable("customer.orders_count", NUMBER, "orders that count (not cancelled or refunded)"),
    Variable("customer.total_spent", NUMBER, "their total, store currency"),
    Variable("customer.average_order_value", NUMBER, "total spent / orders", nullable=True),
    Variable("customer.first_order_at", DATETIME, "first counted order", nullable=True),
    Variable("customer.last_order_at", DATETIME, "last counted order", nullable=True),
    Variable("customer.days_since_last_order", NUMBER, "whole days from the last order to now",
             nullable=True),
    Variable("customer.products_bought", NUMBER_LIST, "platform product ids of their orders"),
    Variable("customer.product_titles", TEXT_LIST, "line titles of their orders"),
    Variable("customer.product_types", TEXT_LIST,
             "product types of what they bought (WooCommerce: each product's first category)"),
    Variable("customer.vendors", TEXT_LIST, "vendors of what they bought"),
    Variable("customer.country", TEXT, "ISO 3166 country code, e.g. US", nullable=True),
    Variable("customer.region", TEXT, "state or province code of their address, e.g. CA",
             nullable=True),
    Variable("customer.accepts_marketing", BOOLEAN, "subscribed to email marketing"),
    Variable("customer.score", NUMBER, "points the flows' Score steps gave"),
    Variable("customer.last_opened_at", DATETIME, "last email opened", nullable=True),
    Variable("customer.last_clicked_at", DATETIME, "last email link clicked", nullable=True),
    Variable("customer.days_since_last_open", NUMBER, "whole days from the last open to now",
             nullable=True),
    Variable("customer.days_since_last_click", NUMBER, "whole days from the last click to now",
             nullable=True),
    Variable("customer.emails_30d", NUMBER, "emails sent to them in the last 30 days"),
    Variable("customer.predicted_next_order_at", DATETIME,
             "last order + their median interval (store median for one-time buyers)",
             nullable=True),
    Variable("customer.days_to_predicted_order", NUMBER,
             "whole days from now to the predicted next order (negative: overdue)", nullable=True),
    Variable("customer.top_spender", BOOLEAN,
             "among the store's top 5 % of buyers by total spent (the bar is set daily)"),
    Variable("order.total", NUMBER, "the order's total"),
    Variable("order.products", NUMBER_LIST, "platform product ids of its lines"),
    Variable("order.product_titles", TEXT_LIST, "its lines' titles"),
    Variable("order.discount_codes", TEXT_LIST, "discount codes used"),
    Variable("order.is_first", BOOLEAN, "the customer's first order"),
    Variable("checkout.total", NUMBER, "the cart's total"),
    Variable("checkout.products", NUMBER_LIST, "platform product ids in the cart"),
    Variable("checkout.product_titles", TEXT_LIST, "its lines' titles"),
)}


def iso(instant: datetime | None) -> str | None:
    """The canonical form dates are compared in (fixed width, UTC, microseconds)."""
    return None if instant is None else instant.astimezone(timezone.utc).strftime(ISO)


def _money(value) -> float | None:
    return None if value is None else float(value)


def days_between(earlier: datetime | None, now: datetime) -> int | None:
    """Whole days from `earlier` to `now`, rounded down (negative when `earlier` is later)."""
    return None if earlier is None else (now - earlier) // timedelta(days=1)


def customer_facts(customer: Customer, metrics: CustomerMetrics | None, now: datetime,
                   top_spend: Decimal | None = None) -> dict:
    """The `customer.*` values of one customer as of `now` (no metrics row: nothing bought);
    `top_spend` is the store's bar for its top 5 % of buyers (None: not set yet)."""
    since = now - ENGAGEMENT_WINDOW
    sends = metrics.recent_sends if metrics else []
    last_order_at = metrics.last_order_at if metrics else None
    opened_at = metrics.last_opened_at if metrics else None
    clicked_at = metrics.last_clicked_at if metrics else None
    predicted_at = metrics.predicted_next_order_at if metrics else None
    spent = metrics.total_spent if metrics else Decimal(0)
    return {
        "email": customer.email, "first_name": customer.first_name,
        "last_name": customer.last_name, "tags": list(customer.tags or []),
        "orders_count": metrics.orders_count if metrics else 0,
        "total_spent": float(metrics.total_spent) if metrics else 0.0,
        "average_order_value": _money(metrics.average_order_value) if metrics else None,
        "first_order_at": iso(metrics.first_order_at) if metrics else None,
        "last_order_at": iso(last_order_at),
        "days_since_last_order": days_between(last_order_at, now),
        "products_bought": list(metrics.product_ids) if metrics else [],
        "product_titles": list(metrics.product_titles) if metrics else [],
        "product_types": list(metrics.product_types) if metrics else [],
        "vendors": list(metrics.vendors) if metrics else [],
        "country": customer.country_code, "region": customer.province_code,
        "accepts_marketing": consent.allows_marketing(customer),
        "score": customer.score or 0,
        "last_opened_at": iso(opened_at), "last_clicked_at": iso(clicked_at),
        "days_since_last_open": days_between(opened_at, now),
        "days_since_last_click": days_between(clicked_at, now),
        "emails_30d": sum(1 for sent in sends if since < sent <= now),
        "predicted_next_order_at": iso(predicted_at),
        "days_to_predicted_order": days_between(now, predicted_at) if predicted_at else None,
        "top_spender": top_spend is not None and spent > 0 and spent >= top_spend,
    }


def order_facts(order: Order, is_first: bool) -> dict:
    """The `order.*` values of a flow's order."""
    return {"total": float(order.total_price),
            "products": [line.product_id for line in order.lines if line.product_id is not None],
            "product_titles": [line.title for line in order.lines],
            "discount_codes": list(order.discount_codes or []), "is_first": is_first}


def checkout_facts(checkout: Checkout) -> dict:
    """The `checkout.*` values of a flow's cart or checkout."""
    return {"total": float(checkout.total_price),
            "products": [line.product_id for line in checkout.lines
                         if line.product_id is not None],
            "product_titles": [line.title for line in checkout.lines]}


def facts(session: Session, customer: Customer, now: datetime, *, order: Order | None = None,
          checkout: Checkout | None = None) -> dict:
    """Everything a rule may read about one customer (and a flow's order or checkout)."""
    store_metrics = session.get(StoreMetrics, customer.store_id)
    found = {"customer": customer_facts(
        customer, session.get(CustomerMetrics, customer.id), now,
        store_metrics.top_spend if store_metrics else None)}
    if order is not None:
        earlier = session.execute(select(Order.id).where(
            Order.store_id == order.store_id, Order.id != order.id,
            Order.placed_at < order.placed_at,
            or_(Order.customer_id == customer.id, Order.email == customer.email),
        ).limit(1)).first()
        found["order"] = order_facts(order, is_first=earlier is None)
    if checkout is not None:
        found["checkout"] = checkout_facts(checkout)
    return found

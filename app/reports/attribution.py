"""Attribution: which message earned an order, and what each flow and step earned.

An order that used a message's discount code is credited to that message, whenever it was sent.
Otherwise it goes to the last message of a flow the customer (same customer or same email)
clicked within the store's attribution window before the order was placed. One credit per order.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app.core import clock, events, stores
from app.mail.tracking import CLICK
from app.models import Attribution, Message, MessageEvent, Order, Store

# A message whose code a customer can hold: sent, or possibly sent (the connection broke).
DELIVERED = ("sent", "unknown")


def _by_discount_code(session: Session, order: Order) -> Message | None:
    codes = [code.upper() for code in order.discount_codes if isinstance(code, str)]
    if not codes:
        return None
    return session.execute(select(Message).where(
        Message.store_id == order.store_id, Message.flow.is_not(None),
        Message.status.in_(DELIVERED), Message.created_at <= order.placed_at,
        # Codes are case-insensitive on both platforms.
        func.upper(Message.context["discount_code"].astext).in_(codes),
    ).order_by(Message.created_at.desc(), Message.id.desc()).limit(1)).scalar_one_or_none()


def _by_click(session: Session, order: Order, window: timedelta) -> Message | None:
    who = [Message.customer_id == order.customer_id] if order.customer_id is not None else []
    who += [Message.email == order.email] if order.email else []
    if not who:
        return None
    return session.execute(
        select(Message)
        .join(MessageEvent, (MessageEvent.message_id == Message.id)
              & (MessageEvent.store_id == Message.store_id))
        .where(MessageEvent.store_id == order.store_id, MessageEvent.kind == CLICK,
               MessageEvent.occurred_at > order.placed_at - window,
               MessageEvent.occurred_at <= order.placed_at,
               Message.store_id == order.store_id, Message.flow.is_not(None), or_(*who))
        .order_by(MessageEvent.occurred_at.desc(), MessageEvent.id.desc()).limit(1)
    ).scalar_one_or_none()


def attribute(session: Session, order: Order) -> str | None:
    """Credit the order to the message that earned it, once; returns the method, or None."""
    window = timedelta(days=session.get(Store, order.store_id).effective_settings["attribution_days"])
    message, method = _by_discount_code(session, order), "discount_code"
    if message is None:
        message, method = _by_click(session, order, window), "click"
    if message is None:
        return None
    session.execute(insert(Attribution).values(
        store_id=order.store_id, order_id=order.id, message_id=message.id, flow=message.flow,
        step=message.step, revenue=order.total_price, currency=order.currency, method=method,
        attributed_at=clock.now(),
    ).on_conflict_do_nothing(index_elements=["store_id", "order_id"]))
    return method


def on_order_placed(session: Session, event: events.DomainEvent) -> None:
    """Attribute a newly placed order, in the transaction that stored it (an ORDER_PLACED
    listener, registered by app.wiring)."""
    order = stores.get_owned(session, Order, event.store_id, event.subject_id)
    if order is not None:
        attribute(session, order)


@dataclass(frozen=True)
class Earned:
    orders: int
    revenue: Decimal


@dataclass
class FlowRevenue:
    """What one flow earned in one currency, in total and per step."""

    flow: str
    currency: str
    orders: int = 0
    revenue: Decimal = Decimal(0)
    steps: dict[str | None, Earned] = field(default_factory=dict)


def one_flow(column, flow: str | None):
    """The condition on a flow column: this flow's rows when one is named, else any flow's."""
    return column == flow if flow is not None else column.is_not(None)


def orders_counted(store_id: int, since):
    """The join condition of an attribution to its order as every report counts it: the order
    placed since `since` (a time, or a column holding each row's own start)."""
    return ((Order.id == Attribution.order_id) & (Order.store_id == store_id)
            & (Attribution.store_id == store_id) & (Order.placed_at >= since))


def revenue_by_flow(session: Session, store_id: int, since: datetime,
                    flow: str | None = None) -> list[FlowRevenue]:
    """Attributed revenue of orders placed since `since`, per flow (only `flow` when given) and
    currency, with its steps."""
    rows = session.execute(
        select(Attribution.flow, Attribution.currency, Attribution.step,
               func.count(), func.sum(Attribution.revenue))
        .join(Order, orders_counted(store_id, since))
        .where(one_flow(Attribution.flow, flow))
        .group_by(Attribution.flow, Attribution.currency, Attribution.step)
        .order_by(Attribution.flow, Attribution.currency, Attribution.step)
    ).all()
    report: dict[tuple[str, str], FlowRevenue] = {}
    for name, currency, step, orders, revenue in rows:
        entry = report.setdefault((name, currency), FlowRevenue(name, currency))
        entry.orders += orders
        entry.revenue += revenue
        entry.steps[step] = Earned(orders, revenue)
    return list(report.values())

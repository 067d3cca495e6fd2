"""Orders and their shipments stored, and the events their state changes mean.

Events come from transitions of the stored state, never from a topic's name: Shopify publishes
one sample body for every orders/* topic and WooCommerce coalesces updates. So one delivery may
mean several events (placed and paid), and a stale or repeated one means none.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.audiences import metrics
from app.core import clock, events
from app.ingest import upsert
from app.models import Fulfillment, Order
from connectors.base import FulfillmentRecord, OrderRecord

PAID = "paid"
FULFILLED = "fulfilled"
DELIVERED = "delivered"
SHIPPED = "success"  # a fulfillment's status once it is handed to the carrier
# What a "your order has shipped" email shows; a change to any of it is news for the customer.
TRACKING = frozenset({"shipment_status", "tracking_company", "tracking_number", "tracking_url"})


def store_order(session: Session, store_id: int, record: OrderRecord) -> list[events.DomainEvent]:
    """Upsert an order and name every transition it went through."""
    result = upsert.order(session, store_id, record)
    if not result.changed:
        return []
    metrics.order_stored(session, store_id, result.id)
    names = [events.ORDER_PLACED] if result.created else []
    before = result.before
    if record.financial_status == PAID and before.get("financial_status") != PAID:
        names.append(events.ORDER_PAID)
    if (record.fulfillment_status == FULFILLED
            and _stamp_once(session, Order, result.id, "fulfilled_at", record.updated_at)):
        names.append(events.ORDER_FULFILLED)
    if record.cancelled_at is not None and before.get("cancelled_at") is None:
        names.append(events.ORDER_CANCELLED)
    if not names and result.changes - {"source_updated_at"}:
        names.append(events.ORDER_UPDATED)
    # Not only when created: a shipment stored while this order's first delivery was still
    # uncommitted could not see it, and is picked up by the next one.
    if _link_shipments(session, store_id, record.platform_id, result.id):
        names.append(events.ORDER_DELIVERED)
    return [_event(name, store_id, "order", result.id) for name in names]


def store_order_deletion(session: Session, store_id: int,
                         platform_id: int) -> list[events.DomainEvent]:
    """A deleted (trashed) order is, for our emails, a cancelled one: its flows stop."""
    # A deletion carries no time: it happened by now, so every delayed update is older.
    now = clock.now()
    order_id = session.execute(update(Order).where(
        Order.store_id == store_id, Order.platform_id == platform_id,
        Order.cancelled_at.is_(None),
    ).values(cancelled_at=now, source_updated_at=now).returning(Order.id)).scalar()
    if order_id is None:
        return []
    metrics.order_stored(session, store_id, order_id)
    return [_event(events.ORDER_CANCELLED, store_id, "order", order_id)]


def store_fulfillment(session: Session, store_id: int,
                      record: FulfillmentRecord) -> list[events.DomainEvent]:
    """Upsert a shipment; say when its tracking changed and the first time it was delivered."""
    # The order row is locked before the shipment's, in the same order an order delivery
    # takes them, so the two never deadlock.
    order_id = session.execute(select(Order.id).where(
        Order.store_id == store_id, Order.platform_id == record.order_platform_id,
    ).with_for_update()).scalar()
    result = upsert.fulfillment(session, store_id, record, order_id)
    if not result.changed:
        return []
    emitted = []
    if result.changes & TRACKING:
        emitted.append(_event(events.SHIPMENT_UPDATED, store_id, "fulfillment", result.id))
    if (record.shipment_status == DELIVERED
            and _stamp_once(session, Fulfillment, result.id, "delivered_at", record.updated_at)
            and order_id is not None
            and _stamp_once(session, Order, order_id, "delivered_at", record.updated_at)):
        emitted.append(_event(events.ORDER_DELIVERED, store_id, "order", order_id))
    return emitted


def _link_shipments(session: Session, store_id: int, platform_id: int, order_id: int) -> bool:
    """Give an order the shipments that arrived before it; True if that makes it delivered
    (as of the first delivered one)."""
    delivered = session.execute(update(Fulfillment).where(
        Fulfillment.store_id == store_id, Fulfillment.order_platform_id == platform_id,
        Fulfillment.order_id.is_(None),
    ).values(order_id=order_id).returning(Fulfillment.delivered_at)).scalars().all()
    first = min((at for at in delivered if at is not None), default=None)
    return first is not None and _stamp_once(session, Order, order_id, "delivered_at", first)


def _stamp_once(session: Session, model, row_id: int, column: str, at: datetime) -> bool:
    """Set a first-time column unless it is set already; True when this call set it."""
    stamped = session.execute(update(model).where(
        model.id == row_id, getattr(model, column).is_(None),
    ).values({column: at}).returning(model.id)).first()
    return stamped is not None


def _event(name: str, store_id: int, subject: str, subject_id: int) -> events.DomainEvent:
    return events.DomainEvent(name, store_id, subject, subject_id, clock.now())


def shipped(session: Session, order: Order, by: datetime | None = None) -> bool:
    """Fulfilled, or at least one shipment handed to the carrier (by `by`, when given)."""
    if order.fulfilled_at is not None and (by is None or order.fulfilled_at <= by):
        return True
    query = select(Fulfillment.id).where(
        Fulfillment.store_id == order.store_id, Fulfillment.order_id == order.id,
        Fulfillment.status == SHIPPED)
    if by is not None:
        query = query.where(Fulfillment.source_updated_at <= by)
    return session.execute(query.limit(1)).first() is not None


def latest_shipment(session: Session, store_id: int, order_id: int) -> Fulfillment | None:
    """The order's most recent successful shipment (its carrier and tracking), if any."""
    return session.execute(select(Fulfillment).where(
        Fulfillment.store_id == store_id, Fulfillment.order_id == order_id,
        Fulfillment.status == SHIPPED,
    ).order_by(Fulfillment.source_updated_at.desc(), Fulfillment.id.desc()).limit(1)).scalar()

"""Domain events: what happened in a store, in words the flows understand, and who listens.

Ingest publishes the events a record produced inside the transaction that stored it; listeners
(the flow engine, attribution, segment membership) act in that same transaction, so an event is
acted on exactly when its record is committed, and never for a record that was rolled back.
Segment membership changes are published by the membership listener (in ingest's transaction)
and by the daily pass that notices what time alone changed (app.audiences.membership).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from sqlalchemy.orm import Session

CUSTOMER_CREATED = "customer_created"
CUSTOMER_UPDATED = "customer_updated"
# The store gave a known customer a tag (subject: the customer; label: the tag).
TAG_ADDED = "tag_added"
CONSENT_CHANGED = "consent_changed"
ORDER_PLACED = "order_placed"
ORDER_UPDATED = "order_updated"
ORDER_PAID = "order_paid"
ORDER_FULFILLED = "order_fulfilled"
ORDER_DELIVERED = "order_delivered"
ORDER_CANCELLED = "order_cancelled"
SHIPMENT_UPDATED = "shipment_updated"
CHECKOUT_UPDATED = "checkout_updated"
CHECKOUT_COMPLETED = "checkout_completed"
PRODUCT_VIEWED = "product_viewed"
PRODUCT_UPDATED = "product_updated"
# A customer's membership of a segment changed (subject: the customer; related_id: the segment).
SEGMENT_ENTERED = "segment_entered"
SEGMENT_LEFT = "segment_left"


@dataclass(frozen=True)
class DomainEvent:
    name: str
    store_id: int
    subject: str  # "order", "checkout", "customer", "product_view", "fulfillment", "product"
    subject_id: int  # our row id, never the platform's
    occurred_at: datetime
    related_id: int | None = None  # a second row it is about: the segment a customer entered
    label: str | None = None  # a name it is about: the tag a customer was given


Listener = Callable[[Session, DomainEvent], None]
_listeners: dict[str, list[Listener]] = defaultdict(list)


def listen(*names: str) -> Callable[[Listener], Listener]:
    """Decorator: call the function for every published event with one of these names."""
    def register(listener: Listener) -> Listener:
        for name in names:
            if listener not in _listeners[name]:
                _listeners[name].append(listener)
        return listener
    return register


def publish(session: Session, emitted: list[DomainEvent]) -> None:
    """Hand each event to its listeners, in the caller's transaction."""
    for event in emitted:
        for listener in _listeners.get(event.name, ()):
            listener(session, event)

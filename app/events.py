"""Domain events: what happened in a store, in words the flows understand."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

CUSTOMER_CREATED = "customer_created"
CUSTOMER_UPDATED = "customer_updated"
ORDER_PLACED = "order_placed"
ORDER_UPDATED = "order_updated"
CHECKOUT_UPDATED = "checkout_updated"
CHECKOUT_COMPLETED = "checkout_completed"
PRODUCT_VIEWED = "product_viewed"


@dataclass(frozen=True)
class DomainEvent:
    name: str
    store_id: int
    subject: str  # "order", "checkout", "customer", "product_view"
    subject_id: int  # our row id, never the platform's
    occurred_at: datetime

"""The store's catalogue kept current from the platform, and PRODUCT_UPDATED when it changes."""
from __future__ import annotations

from sqlalchemy.orm import Session

from app.core import clock, events
from app.ingest import upsert
from connectors.base import ProductDeletion, ProductRecord


def store(session: Session, store_id: int,
          record: ProductRecord | ProductDeletion) -> list[events.DomainEvent]:
    """Upsert a product, or mark it deleted; PRODUCT_UPDATED when a stored value changed."""
    if isinstance(record, ProductDeletion):
        product_id = upsert.product_deleted(session, store_id, record.platform_id)
    else:
        result = upsert.product(session, store_id, record)
        changed = result.changed and result.changes - {"source_updated_at"}
        product_id = result.id if changed else None
    if product_id is None:
        return []
    return [events.DomainEvent(events.PRODUCT_UPDATED, store_id, "product", product_id,
                               clock.now())]

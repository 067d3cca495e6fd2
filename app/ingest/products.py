"""The store's catalogue kept current from the platform, and PRODUCT_UPDATED when it changes."""
from __future__ import annotations

from dataclasses import replace
from urllib.parse import urljoin

from sqlalchemy.orm import Session

from app.core import clock, events, stores
from app.ingest import upsert
from app.models import Store
from connectors.base import ProductDeletion, ProductRecord


def page_url(store: Store, url: str | None) -> str | None:
    """A product page as the platform names it (a full URL, or a path on the store's home),
    as a full URL."""
    return urljoin(stores.home_url(store) + "/", url) if url else None


def store(session: Session, store_id: int,
          record: ProductRecord | ProductDeletion) -> list[events.DomainEvent]:
    """Upsert a product, or mark it deleted; PRODUCT_UPDATED when a stored value changed."""
    if isinstance(record, ProductDeletion):
        product_id = upsert.product_deleted(session, store_id, record.platform_id)
    else:
        # Emails read the page from the row: resolved once here, not per email.
        record = replace(record, url=page_url(session.get(Store, store_id), record.url))
        result = upsert.product(session, store_id, record)
        changed = result.changed and result.changes - {"source_updated_at"}
        product_id = result.id if changed else None
    if product_id is None:
        return []
    return [events.DomainEvent(events.PRODUCT_UPDATED, store_id, "product", product_id,
                               clock.now())]

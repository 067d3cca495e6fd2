"""Sync state per store and job (`backfill`, `reconcile`), and notices for the merchant."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app import clock
from app.models import Store, StoreNotice, SyncState


def state(session: Session, store_id: int, name: str) -> SyncState:
    """The row for this store and job, created on first use, locked for the caller."""
    session.execute(insert(SyncState).values(
        store_id=store_id, name=name, status="idle", progress={}, updated_at=clock.now(),
    ).on_conflict_do_nothing(index_elements=["store_id", "name"]))
    return session.execute(select(SyncState).where(
        SyncState.store_id == store_id, SyncState.name == name).with_for_update()
    ).scalar_one()


def notify(session: Session, store_id: int, kind: str, detail: str, count: int = 1) -> None:
    """Record something the merchant should see (no personal data: it is shown in the UI)."""
    session.add(StoreNotice(store_id=store_id, kind=kind, detail=detail, count=count))


def woocommerce_store(session: Session, store_id: int) -> Store | None:
    """An installed WooCommerce store by id; None once it is gone or uninstalled."""
    store = session.execute(select(Store).where(
        Store.id == store_id, Store.platform == "woocommerce")).scalar_one_or_none()
    return store if store is not None and store.installed else None

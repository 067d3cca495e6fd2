"""Sync state per store and job (`backfill`, `reconcile`)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app import clock
from app.models import SyncState


def state(session: Session, store_id: int, name: str) -> SyncState:
    """The row for this store and job, created on first use, locked for the caller."""
    session.execute(insert(SyncState).values(
        store_id=store_id, name=name, status="idle", progress={}, updated_at=clock.now(),
    ).on_conflict_do_nothing(index_elements=["store_id", "name"]))
    return session.execute(select(SyncState).where(
        SyncState.store_id == store_id, SyncState.name == name).with_for_update()
    ).scalar_one()


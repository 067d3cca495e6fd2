"""Notices for the merchant: things that happened to their store without them, such as webhooks
the sync jobs had to restore."""
from __future__ import annotations

from sqlalchemy.orm import Session

from app.models import StoreNotice


def notify(session: Session, store_id: int, kind: str, detail: str, count: int = 1) -> None:
    """Record something the merchant should see (no personal data: it is shown in the UI)."""
    session.add(StoreNotice(store_id=store_id, kind=kind, detail=detail, count=count))


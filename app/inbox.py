"""The inbox: accepted deliveries are written here, once, before anything else happens."""
from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app import clock
from app.models import WebhookEvent


def accept(session: Session, store_id: int, platform: str, topic: str, key: str,
           body: bytes) -> int | None:
    """Store a delivery; return its id, or None when this key was already stored."""
    statement = (
        insert(WebhookEvent)
        .values(store_id=store_id, platform=platform, topic=topic, delivery_key=key,
                body=body, received_at=clock.now(), attempts=0)
        .on_conflict_do_nothing(index_elements=["store_id", "delivery_key"])
        .returning(WebhookEvent.id)
    )
    return session.execute(statement).scalar_one_or_none()

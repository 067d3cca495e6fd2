"""The inbox: accepted deliveries are written here, once, before anything else happens.

Besides webhooks and storefront events it holds what sync reads from a store's API: a
reconciled change is a delivery like any other, and a backfill page is one row of many objects
under a topic marked as history (`history_topic`), which ingest stores without publishing.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app.core import clock
from app.models import WebhookEvent

HISTORY = "history:"


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


def accept_history(session: Session, store_id: int, platform: str, topic: str,
                   items: list[Any]) -> int | None:
    """Store a page of history, objects the connector reads as deliveries of `topic`. The key is
    the page's content: a page stored before, unchanged, is not stored again."""
    body = json.dumps(items, sort_keys=True).encode()
    key = f"{HISTORY}{topic}:{hashlib.sha256(body).hexdigest()}"
    return accept(session, store_id, platform, history_topic(topic), key[:255], body)


def history_topic(topic: str) -> str:
    return f"{HISTORY}{topic}"


def history_of(topic: str) -> str | None:
    """The delivery topic of a history row's objects; None for a live delivery."""
    return topic[len(HISTORY):] if topic.startswith(HISTORY) else None

"""The inbox: accepted deliveries are written here, once, before anything else happens.

Besides webhooks and storefront events it holds what sync reads from a store's API: a
reconciled change is a delivery like any other, and a backfill page is one row of many objects
under a topic marked as history (`history_topic`), which ingest stores without publishing.
"""
from __future__ import annotations

import functools
import hashlib
import json
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from app.core import clock
from app.models import WebhookEvent

HISTORY = "history:"
_INBOX = WebhookEvent.__table__
# Built once, on the table rather than the ORM entity: every webhook delivery runs it, and
# building and compiling an ORM insert each time cost three times the statement's own round trip
# in CPU (bench/RESULTS.md). psycopg prepares it on the server after a few uses. Given several
# deliveries' parameters at once (app.ingest.intake), SQLAlchemy sends one INSERT ... VALUES
# (...), (...); the key it returns tells which of them were stored.
ACCEPT = (
    insert(_INBOX)
    .values(store_id=bindparam("store_id"), platform=bindparam("platform"),
            topic=bindparam("topic"), delivery_key=bindparam("key"), body=bindparam("body"),
            received_at=bindparam("received_at"), attempts=0)
    .on_conflict_do_nothing(index_elements=["store_id", "delivery_key"])
    .returning(_INBOX.c.id, _INBOX.c.store_id, _INBOX.c.delivery_key)
)


# ACCEPT as psycopg takes it, for `rows` deliveries in one statement: the web's intake
# (app.ingest.intake) sends it on the driver's own connection, as SQLAlchemy's execution of
# ACCEPT cost more CPU than the statement's round trip (bench/RESULTS.md). Its parameters: each
# delivery's `row`, one after the other.
_ACCEPT_SQL = (f"INSERT INTO {_INBOX.name} (store_id, platform, topic, delivery_key, body, "
               "received_at, attempts) VALUES {} ON CONFLICT (store_id, delivery_key) DO NOTHING "
               "RETURNING id, store_id, delivery_key")


@functools.cache
def accept_many(rows: int) -> str:
    return _ACCEPT_SQL.format(", ".join(["(%s, %s, %s, %s, %s, %s, 0)"] * rows))


def row(store_id: int, platform: str, topic: str, key: str, body: bytes) -> tuple:
    """accept_many's parameters for one delivery, received now."""
    return store_id, platform, topic, key, body, clock.now()


def accept(session: Session | Connection, store_id: int, platform: str, topic: str, key: str,
           body: bytes) -> int | None:
    """Store a delivery; return its id, or None when this key was already stored."""
    return session.execute(ACCEPT, params(store_id, platform, topic, key, body)).scalar_one_or_none()


def params(store_id: int, platform: str, topic: str, key: str, body: bytes) -> dict[str, Any]:
    """ACCEPT's parameters for one delivery, received now."""
    return {"store_id": store_id, "platform": platform, "topic": topic, "key": key, "body": body,
            "received_at": clock.now()}


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

"""What a reader does with the links in our emails (unsubscribe, resubscribe on the preference
page, confirm a subscription), taken
in like any store event: the link's handler stores the action in the inbox and answers; ingest
applies it to consent and publishes what changed, as it does for every platform's deliveries.

The suppression an unsubscribe asks for is written by the handler itself, in the same
transaction as the inbox row: mail to that address stops the moment the page says so.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from app.core import clock, events, stores
from app.ingest import consent, inbox
from app.mail import compose
from app.models import Message
from connectors.base import PayloadError
from connectors.values import parse_id, parse_time

# The inbox's platform for events of our own making (no store platform has this name).
PLATFORM = "storeflow"
UNSUBSCRIBE = "email/unsubscribe"
CONFIRM = "email/confirm"
RESUBSCRIBE = "email/resubscribe"
# What each action does to the consent of the customer the message went to.
APPLY = {UNSUBSCRIBE: consent.withdraw, CONFIRM: consent.confirm,
         RESUBSCRIBE: consent.resubscribe}


@dataclass(frozen=True)
class LinkAction:
    topic: str  # UNSUBSCRIBE, RESUBSCRIBE or CONFIRM
    message_id: int  # the message whose link was used: its address and store say whose consent
    occurred_at: datetime


def accept(session: Session, message: Message, topic: str) -> int | None:
    """Store one use of a message's link in the inbox; the row's id for the ingest job."""
    now = clock.now()
    body = json.dumps({"message_id": message.id, "occurred_at": now.isoformat()}).encode()
    # Keyed by the moment too: the same link used again after a re-subscription is news.
    return inbox.accept(session, message.store_id, PLATFORM, topic,
                        f"{topic}:{message.id}:{now.isoformat()}", body)


def normalize(topic: str, payload: dict) -> list[LinkAction]:
    if topic not in APPLY or not isinstance(payload, dict):
        raise PayloadError(f"no link action {topic!r}")
    return [LinkAction(topic, parse_id(payload.get("message_id"), "message_id"),
                       parse_time(payload.get("occurred_at"), "occurred_at"))]


def apply(session: Session, store_id: int, action: LinkAction) -> list[events.DomainEvent]:
    """Withdraw, give back or confirm the consent of the customer the message went to, when it
    went to their own address (anyone else's unsubscribe only suppresses the address it reached)."""
    message = stores.get_owned(session, Message, store_id, action.message_id)
    customer = compose.addressee(session, message) if message is not None else None
    if customer is None:
        return []
    return APPLY[action.topic](session, store_id, customer.id, action.occurred_at)

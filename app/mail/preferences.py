"""What a recipient chose for the marketing mail to their address, on the preference page behind
the unsubscribe link: unsubscribed (a Suppression), paused until a time (a MailPause), or back.

A pause holds every marketing email to the address at the outbox (a send guard registered by
app.wiring), a flow's and a campaign's alike: each one is cancelled with the date the pause ends,
and the customer's timeline says so. Transactional mail goes on as before.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Mapping

from sqlalchemy import bindparam, delete, exists, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app.core import clock
from app.mail.feedback import COMPLAINT, HARD_BOUNCE
from app.models import MailPause, Message, MessageEvent, Suppression, TimelineEntry

PAUSE_FOR = timedelta(days=30)
UNSUBSCRIBED = "unsubscribed"  # the Suppression reason our unsubscribe link leaves
# The standings of an address: mail flows, is paused, was unsubscribed through our link, or was
# stopped for a reason no click can undo (a bounce, a complaint, an erasure, a sunset).
SUBSCRIBED, PAUSED, STOPPED = "subscribed", "paused", "stopped"


@dataclass(frozen=True)
class Standing:
    state: str
    until: datetime | None = None  # when a pause ends


def standing(session: Session, store_id: int, email: str) -> Standing:
    """Where marketing mail to the address stands in this store, now."""
    stop = session.execute(select(Suppression.reason).where(
        Suppression.store_id == store_id, Suppression.email == email)).scalar_one_or_none()
    if stop is not None:
        return Standing(UNSUBSCRIBED if stop == UNSUBSCRIBED else STOPPED)
    until = paused_until(session, store_id, email)
    return Standing(PAUSED, until) if until else Standing(SUBSCRIBED)


def paused_until(session: Session, store_id: int, email: str) -> datetime | None:
    """When the pause on the address ends, if one is under way."""
    return session.execute(select(MailPause.until).where(
        MailPause.store_id == store_id, MailPause.email == email,
        MailPause.until > clock.now())).scalar_one_or_none()


def pause(session: Session, store_id: int, email: str) -> datetime | None:
    """Pause marketing mail to a subscribed (or already paused) address for PAUSE_FOR from now;
    when it ends, or None for an address that gets no marketing mail to pause."""
    if standing(session, store_id, email).state not in (SUBSCRIBED, PAUSED):
        return None
    now = clock.now()
    until = now + PAUSE_FOR
    session.execute(insert(MailPause).values(
        store_id=store_id, email=email, until=until, created_at=now,
    ).on_conflict_do_update(index_elements=["store_id", "email"],
                            set_={"until": until, "created_at": now}))
    return until


def resubscribe(session: Session, store_id: int, email: str) -> str | None:
    """Lift the address's pause, or the suppression our own unsubscribe link left; which of the
    two (PAUSED, UNSUBSCRIBED), or None. Never a bounce's, a complaint's or anyone else's, and
    an address that ever bounced or complained stays off (a suppression keeps its first reason,
    so their events are asked too)."""
    state = standing(session, store_id, email).state
    if state not in (UNSUBSCRIBED, PAUSED) or _bounced_or_complained(session, store_id, email):
        return None
    session.execute(delete(Suppression).where(
        Suppression.store_id == store_id, Suppression.email == email,
        Suppression.reason == UNSUBSCRIBED))
    session.execute(delete(MailPause).where(MailPause.store_id == store_id,
                                            MailPause.email == email))
    return state


def _bounced_or_complained(session: Session, store_id: int, email: str) -> bool:
    return session.execute(select(exists().where(
        MessageEvent.message_id == Message.id, Message.store_id == store_id,
        Message.email == email, MessageEvent.kind.in_((HARD_BOUNCE, COMPLAINT))))).scalar_one()


# For the send guard below: when the pause on the message's address ends, if one is under way.
PAUSED_UNTIL = select(MailPause.until).where(
    MailPause.store_id == bindparam("store_id"), MailPause.email == bindparam("email"),
    MailPause.until > bindparam("now")).scalar_subquery().label("paused_until")


def not_paused(session: Session, message: Message, read: Mapping[str, Any]) -> str | None:
    """A send guard (registered by app.wiring with what it reads, PAUSED_UNTIL): hold a marketing
    email to a paused address, saying until when, on the customer's timeline too."""
    until = read["paused_until"]
    if not message.marketing or until is None:
        return None
    reason = f"paused: until {until.isoformat()}"
    if message.customer_id is not None:
        session.add(TimelineEntry(
            store_id=message.store_id, customer_id=message.customer_id, run_id=message.run_id,
            flow=message.flow or "email", step=message.step, kind="skipped", detail=reason,
            at=clock.now()))
    return reason

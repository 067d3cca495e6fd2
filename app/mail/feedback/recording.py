"""Reports -> MessageEvent rows and suppressions, the same for every provider."""
from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app.core import clock
from app.mail import outbox
from app.mail.feedback import SUPPRESSES, Report, message_id_header
from app.models import Message, MessageEvent
from connectors.values import normalize_email

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    recorded: int = 0
    duplicates: int = 0
    unknown: int = 0


def record(session: Session, reports: list[Report]) -> Outcome:
    """Record each report against its message; suppress after a hard bounce or complaint.
    A report for no message of ours, or for an address the message was not sent to, is
    counted as unknown and changes nothing."""
    outcome = Outcome()
    for report in reports:
        message = _message_for(session, report)
        if message is None:
            outcome.unknown += 1
            continue
        inserted = session.execute(insert(MessageEvent).values(
            store_id=message.store_id, message_id=message.id, kind=report.kind,
            source_key=report.key[:255], occurred_at=clock.now(),
        ).on_conflict_do_nothing(index_elements=["source_key"]).returning(MessageEvent.id))
        if inserted.scalar_one_or_none() is None:
            outcome.duplicates += 1
        else:
            outcome.recorded += 1
        context = {"store_id": message.store_id, "message_id": message.id, "kind": report.kind}
        log.info("mail provider reported a %s", report.kind.replace("_", " "), extra=context)
        if report.kind in SUPPRESSES:
            # Also on a duplicate: a delivery whose suppression failed last time repairs it.
            outbox.suppress(message.store_id, message.email, SUPPRESSES[report.kind])
    return outcome


def _message_for(session: Session, report: Report) -> Message | None:
    header = message_id_header(report.message_id)
    message = header and session.execute(
        select(Message).where(Message.message_id == header)).scalar_one_or_none()
    if not message:
        return None
    # The Message-ID names the store; the address must be the one that message went to, so a
    # report can never suppress anyone else, in that store or another.
    if message.email.lower() not in {normalize_email(address) for address in report.recipients}:
        log.warning("mail provider report names another address than its message's",
                    extra={"store_id": message.store_id, "message_id": message.id})
        return None
    return message

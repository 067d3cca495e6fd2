"""The audit log: who changed which setting, flow or staff member of a store, when, from what
to what. Written in the transaction of the change itself, so a change and its entry are kept
or lost together; read on the Audit page and by `storeflow audit --store S`."""
from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import AuditEntry

# What the shell is called in the log: it holds DATABASE_URL, whoever typed the command.
OPERATOR = "operator (storeflow command)"
PAGE_SIZE = 50


def record(session: Session, store_id: int, actor: str, subject: str, before, after) -> None:
    """Log one change; a save that changed nothing leaves no entry."""
    if before != after:
        session.add(AuditEntry(store_id=store_id, actor=actor[:300], subject=subject[:200],
                               before=before, after=after))


def changed(before: dict, after: dict) -> tuple[dict, dict]:
    """Only the keys whose values differ, from each side (a key missing on one side is None)."""
    keys = sorted(k for k in {*before, *after} if before.get(k) != after.get(k))
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}


def recent(session: Session, store_id: int, page: int = 0) -> list[AuditEntry]:
    """The store's entries, newest first, PAGE_SIZE per page."""
    return list(session.execute(
        select(AuditEntry).where(AuditEntry.store_id == store_id)
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(PAGE_SIZE).offset(page * PAGE_SIZE)).scalars())


def describe(value) -> str:
    """A side of a change as a merchant reads it: `enabled: true, email_1_delay_hours: 3`."""
    if value is None:
        return "—"
    if isinstance(value, dict):
        return ", ".join(f"{key}: {json.dumps(item, ensure_ascii=False)}"
                         for key, item in value.items())
    return json.dumps(value, ensure_ascii=False)

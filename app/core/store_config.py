"""Saving a store's settings: validated changes (app.core.settings) applied to the stored ones, and
the change written to the audit log in the same transaction. The UI and the CLI both save here."""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from app.core import audit, settings
from app.models import Store


def save(session: Session, store: Store, changes: dict[str, Any], actor: str) -> None:
    """Apply parsed `changes` (settings.validate's output) to the store, audited as `actor`."""
    before = store.settings or {}
    after = settings.updated(before, changes)
    audit.record(session, store.id, actor, "settings",
                 *audit.changed(settings.effective(before), settings.effective(after)))
    store.settings = after

"""The store's side of the last check before a message leaves: settings a mail header or the
law needs. An outbox send guard (registered by app.wiring), so a test send or any message
outside a flow is held to the same rule as the flow engine (flows.choices.skip_reason)."""
from __future__ import annotations

from typing import Any, Mapping

from sqlalchemy.orm import Session

from app.core import settings as store_settings
from app.models import Message, Store


def store_settings_allow(session: Session, message: Message, read: Mapping[str, Any]) -> str | None:
    """Cancel, with the reason in words, a message the store's stored settings cannot carry (a
    reply-to saved before addresses were checked) or a marketing one without a postal address."""
    store = session.get(Store, message.store_id)
    return store_settings.refusal(store.settings, message.marketing)

"""What a connector and Storeflow's sync exchange: a store's credentials going in; token grants,
backfill pages and changes coming out. Plain values, so connectors never see the database."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class StoreAccess:
    """One store as a connector may call its API: its address and decrypted credentials."""

    store_id: int
    platform: str
    domain: str
    installed: bool
    access_token: str | None
    api_key: str | None = None
    webhook_secret: str | None = None
    refresh_token: str | None = None
    access_token_expires_at: datetime | None = None
    scopes: str | None = None  # what an OAuth grant allowed (None: not known, a custom app)


@dataclass(frozen=True)
class Grant:
    """Credentials the platform issued (an install, a token exchange, a refresh)."""

    access_token: str
    scope: str
    expires_at: datetime | None  # None: a non-expiring token
    refresh_token: str | None
    refresh_token_expires_at: datetime | None


@dataclass(frozen=True)
class Page:
    """One page of a backfill: objects the connector normalizes as deliveries of `topic`, and
    the cursor to carry on after it (None after the last page)."""

    topic: str
    items: list[Any]
    next_cursor: str | None


@dataclass(frozen=True)
class Change:
    """Something changed at the store that webhooks may have missed, as a delivery for the
    inbox: its topic, dedupe key and body. `resource` is what it is counted under."""

    resource: str
    topic: str
    key: str
    payload: Any


class TryLater(RuntimeError):
    """The store's API budget is spent: ask again after `retry_after` seconds."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"throttled; retry after {retry_after:.1f}s")
        self.retry_after = retry_after

"""The one clock: code that needs "now" asks here, so tests and `storeflow tick --at` can set it."""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timezone
from typing import Iterator

_frozen: ContextVar[datetime | None] = ContextVar("storeflow_now", default=None)


def now() -> datetime:
    """The current instant, timezone-aware UTC."""
    return _frozen.get() or datetime.now(timezone.utc)


def frozen() -> datetime | None:
    """The instant the clock is set to, or None when it runs free."""
    return _frozen.get()


@contextmanager
def frozen_at(instant: datetime) -> Iterator[datetime]:
    """Run a block as if it were `instant` (must be timezone-aware)."""
    if instant.tzinfo is None:
        raise ValueError("frozen_at needs a timezone-aware datetime")
    token = _frozen.set(instant.astimezone(timezone.utc))
    try:
        yield instant
    finally:
        _frozen.reset(token)

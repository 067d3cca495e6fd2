"""The transport's send rate (a provider's messages per second), counted in Redis so every
worker shares it. Over the limit a message waits for the window to pass; it is never dropped."""
from __future__ import annotations

import time

from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from app.core.config import limits_storage_uri


class SendRate:
    """Bound once by `app.bootstrap`; unlimited until configured with a limit."""

    def __init__(self) -> None:
        self._limiter: MovingWindowRateLimiter | None = None
        self._item = None

    def configure(self, spec: str | None, redis_url: str) -> None:
        if not spec:
            self._limiter = None
            return
        self._item = parse(spec)  # "14/second", "600/minute": the limits library's syntax
        self._limiter = MovingWindowRateLimiter(storage_from_string(limits_storage_uri(redis_url)))

    def per_second(self) -> float | None:
        """The configured rate in messages a second (for estimates); None when unlimited."""
        if self._limiter is None:
            return None
        return self._item.amount / self._item.get_expiry()

    def wait(self) -> float:
        """0 and the send counted if it may go now; else the seconds until it may."""
        if self._limiter is None or self._limiter.hit(self._item, "smtp"):
            return 0.0
        reset = self._limiter.get_window_stats(self._item, "smtp").reset_time
        return max(reset - time.time(), 0.5)


send_rate = SendRate()

"""Error reports to Sentry when SENTRY_DSN is set. sentry-sdk is an optional extra
(`pip install storeflow[sentry]`), imported only then, so a plain install never needs it."""
from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)


def init() -> bool:
    """Start reporting for this process; False when SENTRY_DSN is unset or the SDK missing."""
    dsn = os.environ.get("SENTRY_DSN")
    if not dsn:
        return False
    try:
        import sentry_sdk
        from sentry_sdk.integrations.rq import RqIntegration
    except ImportError:
        log.warning("SENTRY_DSN is set but sentry-sdk is not installed: pip install storeflow[sentry]")
        return False
    # No personal data: no request bodies, no user ids or IPs (webhook bodies hold customers').
    sentry_sdk.init(dsn=dsn, send_default_pii=False, max_request_body_size="never",
                    integrations=[RqIntegration()],
                    environment=os.environ.get("SENTRY_ENVIRONMENT", "production"))
    return True

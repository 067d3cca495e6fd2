"""Discount codes for flows: unique, single-use, for one recipient, made by the store's platform."""
from __future__ import annotations

from datetime import timedelta

import connectors
from app.core import clock
from app.models import Customer, Store
from app.sync import access
from connectors.base import Refused


def create_code(store: Store, customer: Customer, *, code: str, percent: float,
                valid_for: timedelta) -> tuple[str | None, str | None]:
    """Ask the store's platform to make `code`: (code, None), or (None, why not) when it cannot
    or will not make one. A transient failure (the API is down) raises, so the step is retried.
    Called with no transaction open (flows.engine.advance)."""
    try:
        connectors.get(store.platform).create_discount(
            access.fresh(store.id), code=code, percent=percent, email=customer.email,
            starts_at=clock.now(), expires_at=clock.now() + valid_for,
            customer_platform_id=customer.platform_id)
    except NotImplementedError:
        return None, f"{store.platform} stores cannot make codes yet"
    except Refused as error:
        return None, f"the store refused the code: {error}"
    return code, None

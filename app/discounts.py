"""Discount codes for flows: unique, single-use, for one recipient, made by the store's platform."""
from __future__ import annotations

import logging
import secrets
from datetime import timedelta

from sqlalchemy.orm import Session

import connectors
from app import clock
from app.models import Customer, Store
from connectors.base import DiscountRefused

log = logging.getLogger(__name__)


def create_code(session: Session, store: Store, customer: Customer, *, percent: float,
                valid_for: timedelta) -> str | None:
    """Ask the store's platform for a code; None when it cannot or will not make one."""
    code = f"SF-{secrets.token_hex(4).upper()}"
    try:
        connectors.get(store.platform).create_discount(
            store, code=code, percent=percent, email=customer.email,
            starts_at=clock.now(), expires_at=clock.now() + valid_for,
            customer_platform_id=customer.platform_id)
    except (NotImplementedError, DiscountRefused) as error:
        log.warning("no discount code: %s", type(error).__name__, extra={"store_id": store.id})
        return None
    return code

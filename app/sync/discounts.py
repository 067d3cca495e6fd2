"""Discount codes for flows and campaigns: unique, single-use, for one recipient, made by the
store's platform."""
from __future__ import annotations

import secrets
from datetime import timedelta

import connectors
from app.core import clock
from app.models import Customer, Store
from app.sync import access
from connectors.base import CodeOffer, Refused


def new_code() -> str:
    """A fresh code for a campaign's recipient: `SF-1A2B3C4D5E6F`. 48 bits, because a store may
    send hundreds of thousands, and "already exists" counts as made (a retry after a crash):
    with 32 bits a 500,000-recipient campaign would expect about 30 codes drawn twice."""
    return f"SF-{secrets.token_hex(6).upper()}"


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


def create_codes(store: Store, offers: list[CodeOffer], percent: float) -> dict[str, str | None]:
    """Ask the store's platform for these codes, in as few calls as it allows: code -> None
    once made, else why not (each one's failure its own: the others are still asked for).
    Called with no transaction open."""
    try:
        return connectors.get(store.platform).create_discounts(
            access.fresh(store.id), offers, percent=percent, starts_at=clock.now())
    except NotImplementedError:
        return dict.fromkeys((offer.code for offer in offers),
                             f"{store.platform} stores cannot make codes yet")


def code_problem(store: Store) -> str | None:
    """Why the store cannot make discount codes at all, as far as its credentials tell (a
    campaign's check list); None when it can."""
    return connectors.get(store.platform).code_problem(access.of(store))


def batch_size(store: Store) -> int:
    """How many codes to ask the store's platform for at once."""
    return connectors.get(store.platform).code_batch

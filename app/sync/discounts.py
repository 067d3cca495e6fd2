"""Discount codes for flows and campaigns: unique, single-use, for one recipient, made by the
store's platform."""
from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta

import connectors
from app.core import clock
from app.models import Customer, Store
from app.sync import access
from connectors.base import Refused

log = logging.getLogger(__name__)


def new_code() -> str:
    """A fresh code, as a flow's Discount step makes one: `SF-1A2B3C4D`."""
    return f"SF-{secrets.token_hex(4).upper()}"


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


def create_codes(store: Store, wanted: list[tuple[str, str, int | None, datetime]],
                 percent: float) -> dict[str, str | None]:
    """Ask the store's platform for each (code, email, customer's platform id, end): code ->
    None once made, else why not. One recipient's failure, refused or transient, is theirs
    alone: the others' codes are still asked for. Called with no transaction open."""
    connector, grant = connectors.get(store.platform), access.fresh(store.id)
    answers: dict[str, str | None] = {}
    for code, email, platform_id, expires_at in wanted:
        try:
            connector.create_discount(grant, code=code, percent=percent, email=email,
                                      starts_at=clock.now(), expires_at=expires_at,
                                      customer_platform_id=platform_id)
            answers[code] = None
        except NotImplementedError:
            answers[code] = f"{store.platform} stores cannot make codes yet"
        except Exception as error:  # noqa: BLE001 - any failure: asked again on a later chunk
            log.warning("a campaign code was not made", extra={"store_id": store.id,
                                                               "error": type(error).__name__})
            answers[code] = str(error) or type(error).__name__
    return answers

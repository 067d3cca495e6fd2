"""Consent changes that reached us (an unsubscribe link, a double opt-in confirmation) written
back to the store's platform, so the merchant's other tools stop mailing, or start.

Our own suppression is what stops Storeflow's mail, at once and whatever happens here; this is
the courtesy to everything else the merchant runs. The job sends the customer's consent as it
stands when it runs, so two quick changes end as the later one, and a retry repeats nothing.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from rq import Retry
from sqlalchemy import event as orm_event
from sqlalchemy import select
from sqlalchemy.orm import Session

import connectors
from app import notices
from app.db import db
from app.models import Customer, Store
from connectors.base import Refused

log = logging.getLogger(__name__)

# Throttling and outages raise and are retried; a refusal (a missing scope) is not.
RETRY = Retry(max=5, interval=[30, 120, 600, 1800, 3600])
REFUSED = "consent_not_written"


def after_commit(session: Session, store_id: int, customer_id: int) -> None:
    """Queue the write-back once the change is committed (the job reads it)."""
    from app.jobs import broker  # app.jobs imports ingest, which imports consent: not at the top

    def enqueue(_session) -> None:
        broker.queue("sync").enqueue(write_back, store_id, customer_id, retry=RETRY)
    orm_event.listen(session, "after_commit", enqueue, once=True)


def write_back(store_id: int, customer_id: int) -> None:
    """Tell the store's platform the customer's email-marketing consent as we hold it."""
    with db.session() as session:
        customer = session.execute(select(Customer).where(
            Customer.store_id == store_id, Customer.id == customer_id)).scalar_one_or_none()
        store = session.get(Store, store_id)
        if customer is None or store is None or not store.installed:
            return
        if customer.platform_id is None or customer.email_consent_updated_at is None:
            return  # a guest the platform has no record of, or nothing of ours to tell
        try:
            connectors.get(store.platform).write_consent(
                store, customer_platform_id=customer.platform_id, state=customer.email_consent,
                opt_in_level=customer.email_consent_opt_in_level,
                updated_at=customer.email_consent_updated_at)
        except NotImplementedError:
            log.info("consent kept here only: %s has no consent to write", store.platform,
                     extra={"store_id": store_id})
            return
        except Refused as error:
            # Shopify's message names the scope, never the customer.
            log.warning("consent write-back refused: %s", error, extra={"store_id": store_id})
            notices.notify(session, store_id, REFUSED,
                           f"{store.platform.capitalize()} refused an unsubscribe or opt-in "
                           f"we tried to record there ({error}). Storeflow itself honours it; "
                           "re-approve the app's permissions so the store does too.",
                           merge_within=timedelta(days=1))
            return
    log.info("consent written back", extra={"store_id": store_id})

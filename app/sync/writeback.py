"""What reaches Storeflow first, written back to the store's platform so the merchant's other
tools see it too: a consent change (an unsubscribe link, a double opt-in confirmation) and a tag
a flow gave a customer or took away (`loyal`, `vip`).

Our own records are what Storeflow acts on, at once and whatever happens here; this is the
courtesy to everything else the merchant runs. A consent job sends the consent as it stands when
it runs, so two quick changes end as the later one; a tag job likewise adds the tag or removes it
as our customer has it when the job runs (one tag at a time, never replacing the others); so a
retry repeats nothing, and an add and a remove queued close together end as the later.
"""
from __future__ import annotations

import logging
from datetime import timedelta
from typing import Callable

from sqlalchemy import event as orm_event, select
from sqlalchemy.orm import Session

import connectors
from app import jobs
from app.core import durability, notices
from app.core.db import db
from app.models import Customer, Store
from app.sync import access
from connectors.base import Connector, Refused
from connectors.sync import StoreAccess

log = logging.getLogger(__name__)

# Throttling and outages raise and are retried (app.jobs.policies); a refusal (a missing scope)
# is not.
REFUSED = "writeback_refused"


def after_commit(session: Session, job: Callable, *args) -> None:
    """Queue `job(*args)` once the change is committed (the job reads it). Should Redis be down
    then, the change stays ours alone: logged, and never allowed to fail what was committed.
    The platform hears of the change as it commits, so the commit waits for the disk even in a
    transaction that would not (app.core.durability: an ingest's, a flow step's)."""
    durability.durable(session)

    def enqueue(_session) -> None:
        try:
            jobs.enqueue(job, *args)
        except Exception:  # noqa: BLE001 - the commit stands; only the courtesy is lost
            log.exception("write-back not queued: %s", job.__name__,
                          extra={"store_id": args[0]})
    orm_event.listen(session, "after_commit", enqueue, once=True)


def consent(store_id: int, customer_id: int) -> None:
    """Tell the platform the customer's email-marketing consent as we hold it."""
    def write(connector: Connector, store: StoreAccess, customer: Customer) -> bool:
        if customer.email_consent_updated_at is None:
            return False  # nothing of ours to tell
        return connector.write_consent(
            store, customer_platform_id=customer.platform_id, state=customer.email_consent,
            opt_in_level=customer.email_consent_opt_in_level,
            updated_at=customer.email_consent_updated_at)
    _write_back(store_id, customer_id, "consent", write)


def tag(store_id: int, customer_id: int, name: str) -> None:
    """Give the customer the tag at the platform, or take it away, as they have it here."""
    def write(connector: Connector, store: StoreAccess, customer: Customer) -> bool:
        connector.change_customer_tags(store, customer_platform_id=customer.platform_id,
                                       tags=[name], remove=name not in (customer.tags or ()))
        return True
    _write_back(store_id, customer_id, "tag", write)


def _write_back(store_id: int, customer_id: int, what: str,
                write: Callable[[Connector, StoreAccess, Customer], bool]) -> None:
    with db.session() as session:
        customer = session.execute(select(Customer).where(
            Customer.store_id == store_id, Customer.id == customer_id)).scalar_one_or_none()
        store = session.get(Store, store_id)
    if customer is None or store is None or not store.installed:
        return
    if store.access_token is None or customer.platform_id is None:
        return  # webhooks only (the demo store), or a guest the platform has no record of
    # No transaction stays open across the platform's answer (retries, throttling waits).
    try:
        written = write(connectors.get(store.platform), access.fresh(store_id), customer)
    except NotImplementedError:
        log.info("%s kept here only: %s has nowhere to write it", what, store.platform,
                 extra={"store_id": store_id})
        return
    except Refused as error:
        # The platform's message names a scope or a field, never the customer.
        log.warning("%s write-back refused: %s", what, error, extra={"store_id": store_id})
        if error.permission:
            with db.session() as session:
                notices.notify(
                    session, store_id, REFUSED,
                    f"{store.platform.capitalize()} refused a change we tried to record there "
                    f"(an unsubscribe, opt-in or tag): {error}. Storeflow itself honours it; "
                    "re-approve the app's permissions so the store does too.",
                    merge_within=timedelta(days=1))
        return
    if written:
        log.info("%s written back", what, extra={"store_id": store_id})

"""Ingesting a store's fresh deliveries in batches: the web answers a delivery after one small
Redis command, and one job ingests many deliveries (each in a transaction of its own).

The inbox row is the durable record; the signal is only a nudge. A store's flag
(`storeflow:ingest-due:<store>`) says a drain job is queued for it: the delivery that sets the flag
queues the job, the ones after it find the flag set and queue nothing. The job clears the flag
before it reads, so a delivery stored after its last read queues the next job. A flag whose job
was lost expires (FLAG_TTL), and the sweep (app.ingest.sweep) signals again for rows left.
A drain whose first batch is full queues the store's next drain at once rather than at the end
of its turn: a flood is drained by every free worker together, each claim skipping the rows
another holds.

A drain takes only rows never tried (attempts 0) and counts the attempt as it takes them, in a
transaction of its own, then ingests each row in a transaction of its own, as its own job would:
locks are held one delivery at a time, so a drain meets the mail and step jobs in the same lock
order as the per-row job did (a batch in one transaction locked customers and messages of 50
deliveries in arrival order and could deadlock with a mail job). A row that fails, or whose
worker was killed, is then the per-row job's (`ingest(event_id)`, with its retries), queued at
once by the drain or later by the sweep, exactly as before. Order needs no care here: ingest keeps whatever is newest
whatever order deliveries arrive in (tests/faults/test_delivery_order.py).
"""
from __future__ import annotations

import contextlib
import logging
import uuid

from redis.exceptions import RedisError
from rq.timeouts import BaseTimeoutException
from sqlalchemy import literal_column, select, update

from app import jobs
from app.core import durability, memo
from app.core.db import db, execute_core
from app.ingest.pipeline import FRESH, ingest, ingest_row
from app.models import Store, WebhookEvent

log = logging.getLogger(__name__)

FLAG = "storeflow:ingest-due:{}"
# A lost job's flag delays the store's next drain at most this long (seconds).
FLAG_TTL = 60
# Rows claimed at once: one statement counts their attempt; each is then ingested on its own.
BATCH = 50
# Rows one job takes before it queues the store's next turn behind the other stores' jobs: a
# flood of one store's deliveries never starves another store's.
TURN = 500


def signal(store_id: int) -> bool:
    """Make sure a drain job is queued for the store's fresh deliveries; True when this queued
    it (raises RedisError)."""
    flag = FLAG.format(store_id)
    if not jobs.broker.connection.set(flag, 1, nx=True, ex=FLAG_TTL):
        return False
    try:
        jobs.enqueue(drain, store_id, job_id=f"ingest-store-{store_id}-{uuid.uuid4().hex}")
    except BaseException:
        # No job behind the flag: without this the store's next deliveries and the sweep would
        # queue nothing until it expired.
        jobs.broker.connection.delete(flag)
        raise
    return True


def drain(store_id: int) -> None:
    """Ingest the store's fresh deliveries, oldest first, up to TURN of them."""
    jobs.broker.connection.delete(FLAG.format(store_id))
    taken = 0
    while taken < TURN:
        batch = _take(store_id)
        if taken == 0 and len(batch) == BATCH:
            # A backlog: a second claimant, queued now, takes batches beside this one on
            # another worker (each claim skips the other's rows). It does the same when it
            # starts, so every free worker joins in, one waiting job at a time. Only a nudge:
            # Redis refusing it must not leave the batch just claimed to the sweep.
            with contextlib.suppress(RedisError):
                signal(store_id)
        _ingest_batch(batch)
        taken += len(batch)
        if len(batch) < BATCH:
            return
    signal(store_id)  # more are waiting: the store's next turn


def _take(store_id: int) -> list[int]:
    """Claim a batch of the store's fresh rows by counting their attempt (committed)."""
    fresh = (select(WebhookEvent.id)
             .where(WebhookEvent.store_id == store_id, WebhookEvent.processed_at.is_(None),
                    WebhookEvent.attempts == 0)
             .order_by(WebhookEvent.id).limit(BATCH).with_for_update(skip_locked=True))
    with db.session() as session:
        return sorted(session.execute(
            update(WebhookEvent).where(WebhookEvent.id.in_(fresh.scalar_subquery()))
            .values(attempts=1).returning(WebhookEvent.id)).scalars())


# The store row's version, read with each claim: PostgreSQL's xmin, the transaction that last
# wrote the row. A batch forgets what it read of the store once another transaction has written
# it (an uninstall committed by another claimant, a merchant's settings).
_STORE_VERSION = (select(literal_column("stores.xmin::text")).select_from(Store)
                  .where(Store.id == WebhookEvent.store_id).scalar_subquery())
# Built once: it runs for every delivery. Only the inbox row is locked (the subquery's is not).
# It waits for a transaction holding the row rather than skip it: another drain's claim, whose
# snapshot still saw the row fresh, locks it for a moment to find it taken, and a skip then
# left the row to the sweep (found by the end-to-end bench: 3 of 2,000 deliveries). The holder
# is that claim, the row's own job (queued by the sweep for a row claimed long ago) or a shop
# purge; this transaction holds nothing else yet, so the wait cannot close a cycle.
# The row's claim also sets the transaction's commit not to wait for the disk
# (app.core.durability): everything ingest writes is derived from the inbox row, which the
# webhook's own synchronous commit made durable, and the processed mark commits with its effects.
_FRESH = FRESH.add_columns(_STORE_VERSION.label("store_version"), durability.LAZY_COMMIT)


def _ingest_batch(event_ids: list[int]) -> None:
    """Ingest claimed rows, each in a transaction of its own. A row that fails goes to its own
    job, which fails, retries and is reported on its own: one bad delivery holds up no other.
    The rows' sessions share a memo (app.core.memo): the store, its flow configs and built flows
    are read once for the batch, not once per delivery."""
    shared: dict = {}
    store_version = None
    for event_id in event_ids:
        try:
            with db.session() as session:
                memo.share(session, shared)
                event = execute_core(session, _FRESH, {"id": event_id}).one_or_none()
                if event is None:  # done meanwhile by its own job
                    continue
                if event.store_version != store_version:  # the store was written since
                    shared.clear()
                    store_version = event.store_version
                if ingest_row(session, event).store_purged:  # with its inbox
                    return
        except BaseTimeoutException:
            raise  # the job's time is up: the rest are the sweep's
        except Exception as error:  # noqa: BLE001 - handed on: the row's own job raises it again
            shared.clear()  # its rollback expired what its session read for the batch
            log.warning("ingest of inbox row %d failed (%s); it goes to its own job", event_id,
                        type(error).__name__)
            jobs.enqueue(ingest, event_id)

"""Commits that need not wait for the disk, and the ones that must.

A transaction whose every effect derives from rows already durable (a drained delivery's from
its inbox row, a flow step's from its run and what the run reads) may commit without waiting for
its WAL to reach the disk: `synchronous_commit` off for that transaction alone (SET LOCAL). A
crash of PostgreSQL (not of a worker) loses only the latest such commits, each whole, and their
work is done again: the sweep ingests a delivery whose processed mark was lost, the tick finds
a run still due. Nothing outside may hear of such a commit before a later synchronous one, whose
own wait flushes the WAL past it: an email leaves only after the outbox's synchronous `sending`.

A transaction that tells the outside of itself as it commits (a write-back or a flow's webhook
queued after commit, a discount code asked of the platform right after) calls `durable`, and
its commit waits for the disk again.
"""
from __future__ import annotations

import weakref

from sqlalchemy import func, select
from sqlalchemy.orm import Session

# The setting as a column, read in a statement the transaction runs anyway (a round trip saved
# on every delivery and step); `lazy` notes that the transaction read it.
LAZY_COMMIT = func.set_config("synchronous_commit", "off", True).label("lazy_commit")
_DURABLE_COMMIT = select(func.set_config("synchronous_commit", "on", True))
_LAZY = "storeflow.lazy_commit"


def lazy(session: Session) -> None:
    """Note that the session's transaction read LAZY_COMMIT: its commit does not wait for the
    disk unless `durable` is called."""
    # A weak reference: the transaction itself in the session's info made a cycle, which left
    # every step's rows to the garbage collector (8 % more instructions a step).
    session.info[_LAZY] = weakref.ref(session.get_transaction())


def durable(session: Session) -> None:
    """Make the session's transaction commit wait for the disk, as every other transaction does
    (a statement only if it read LAZY_COMMIT): something outside hears of it as it commits."""
    transaction = session.info.pop(_LAZY, None)
    if transaction is not None and transaction() is session.get_transaction():
        session.connection().execute(_DURABLE_COMMIT)

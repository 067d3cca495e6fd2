"""Commits that need not wait for the disk, and the ones that must.

A transaction whose every effect derives from rows already durable (a drained delivery's from
its inbox row, a flow step's from its run and what the run reads) may commit without waiting for
its WAL to reach the disk: `synchronous_commit` off for that transaction alone (SET LOCAL). A
crash of PostgreSQL (not of a worker) loses only the latest such commits, each whole, and their
work is done again: the sweep ingests a delivery whose processed mark was lost, the tick finds
a run still due. Nothing outside may hear of such a commit before a later synchronous commit
that writes (a read-only one flushes nothing), whose own wait flushes the WAL past it: an email
leaves only after the outbox's synchronous `sending`. A crash may also hand out again the ids
of rows a lost commit wrote, so a job queued after such a commit may find another row under its
id: every job re-reads and re-checks the row it names under its lock (the outbox, a step).

A transaction that tells the outside of itself as it commits (a write-back or a flow's webhook
queued after commit, a discount code asked of the platform right after) calls `durable`, and
its commit waits for the disk again, whether or not it read LAZY_COMMIT.
"""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

# The setting as a column, read in a statement the transaction runs anyway: a round trip saved
# on every delivery and step.
LAZY_COMMIT = func.set_config("synchronous_commit", "off", True).label("lazy_commit")
_DURABLE_COMMIT = select(func.set_config("synchronous_commit", "on", True))


def durable(session: Session) -> None:
    """Make the session's transaction commit wait for the disk, as every transaction not made
    lazy does: something outside hears of it as it commits. One statement, sent whether or not
    the transaction read LAZY_COMMIT (the few that call this are not the hot paths), so no
    reader of LAZY_COMMIT has to remember to say so. Not from a savepoint that may roll back:
    the setting would roll back with it."""
    session.connection().execute(_DURABLE_COMMIT)

"""What a batch of short transactions reads once: a job that does many small pieces of work,
each in a transaction of its own (a drain of a store's deliveries), shares one memo among their
sessions, so rows that work does not write (a store's flow configs, its built flows, the store
itself) are read once per batch instead of once per piece. A piece that
does write one of them (an uninstall writes the store) makes the batch forget what it read, and
so does a write of the store row by any other transaction (app.ingest.drain reads the row's
version with each delivery's claim).

A session without a memo reads every time, as before: only a batch's owner opts in, and only for
a batch that ends within moments (a change a merchant saves meanwhile counts from the next batch,
as if the batch had run a moment earlier)."""
from __future__ import annotations

from typing import Any, Callable, Hashable

from sqlalchemy.orm import Session

KEY = "batch_memo"


def share(session: Session, memo: dict) -> None:
    """Let the session's reads through `remembered` use (and fill) the batch's `memo`."""
    session.info[KEY] = memo


def remembered(session: Session, key: Hashable, read: Callable[[], Any]) -> Any:
    """`read()`, or what it returned for `key` earlier in the session's batch."""
    memo = session.info.get(KEY)
    if memo is None:
        return read()
    if key not in memo:
        memo[key] = read()
    return memo[key]


def forget(session: Session) -> None:
    """Drop what the session's batch remembered: this piece of work changed it."""
    memo = session.info.get(KEY)
    if memo is not None:
        memo.clear()

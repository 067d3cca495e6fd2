"""The store a webhook delivery is for and the secret its webhooks are signed with, kept a few
seconds per process: a delivery then costs no query before its insert, and no decryption.

A store written in this process (connected again, a new secret, uninstalled, purged) empties the
cache once its transaction commits; other processes (the other web workers, the RQ worker, the
CLI) see the change within TTL seconds. A store we do not know is never kept, so a store just
connected is found at once.
"""
from __future__ import annotations

import time
from typing import Callable

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, object_session

from app.models import Store

TTL = 5.0
# What a lookup finds: the store's id and its own webhook secret (None: the app's secret signs).
Found = tuple[int, str | None]
_entries: dict[tuple, tuple[float, Found]] = {}
# Bumped by every forget: a lookup that read the database before a change committed does not
# keep what it read.
_generation = 0
CHANGED = "signing_secrets.changed"


def lookup(key: tuple, load: Callable[[], Found | None]) -> Found | None:
    """What `key` (say ("shopify", domain)) found within the last TTL seconds, else `load()`."""
    now = time.monotonic()
    entry = _entries.get(key)
    if entry is not None and entry[0] > now:
        return entry[1]
    generation = _generation
    found = load()
    if found is not None and generation == _generation:
        _entries[key] = (now + TTL, found)
    return found


def forget() -> None:
    """Drop every kept secret (a store changed, or a test emptied the tables)."""
    global _generation
    _generation += 1
    _entries.clear()


def _mark(session: Session | None) -> None:
    if session is not None:
        session.info[CHANGED] = True
        forget()


def _row_written(_mapper, _connection, store: Store) -> None:
    _mark(object_session(store))


def _statement(state: ORMExecuteState) -> None:
    if (state.is_update or state.is_delete) and state.bind_mapper is not None \
            and state.bind_mapper.class_ is Store:
        _mark(state.session)


def _committed(session: Session) -> None:
    # Again after the commit: a lookup between the write and its commit read the old row.
    if session.info.pop(CHANGED, False):
        forget()


def listen() -> None:
    """Forget on every write to a store in this process (idempotent; called by app.wiring)."""
    for target, name, listener in ((Store, "after_insert", _row_written),
                                   (Store, "after_update", _row_written),
                                   (Store, "after_delete", _row_written),
                                   (Session, "do_orm_execute", _statement),
                                   (Session, "after_commit", _committed)):
        if not event.contains(target, name, listener):
            event.listen(target, name, listener)

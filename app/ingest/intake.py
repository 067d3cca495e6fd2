"""Webhook deliveries into the inbox in groups: the deliveries a web process's threads are
answering at the same moment share one INSERT and one durable commit (group commit).

A thread that finds no write under way writes at once, its delivery alone: no delivery ever
waits for company. Deliveries that arrive while a write is under way queue; when it is done, the
first of them writes the whole queue, and each waits for its own row's outcome. Nobody is
answered before the write that holds their row has committed, so a 200 still promises a stored
delivery. Per delivery this saves the statement's round trip, most of PostgreSQL's work for it
and the commit's wait; and a store's drain is signalled once per write (every row the signal
follows is committed), not once per delivery, by the thread that wrote it, once it has handed
the next group to that group's first delivery: a Redis that hangs holds up that one thread, never
the writes behind it. The group's other deliveries are answered once their rows are committed,
without waiting for the signal (the signal is a nudge: a row is safe in the inbox before it,
and with Redis down or failing its delivery is still answered as stored and the sweep,
app.ingest.sweep, queues its drain).

A group's write that fails for one of its rows (its store deleted meanwhile, a value the
database refuses) is done again row by row, so only that delivery gets the error. Its statement
gives up after a few seconds (app.core.db.BOUNDED): a write blocked by one store's lock, or on a
connection whose server has gone, fails its group rather than hold up every webhook the process
is answering.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from redis.exceptions import RedisError
from sqlalchemy.exc import DBAPIError

from app.core.db import db
from app.ingest import drain, inbox

log = logging.getLogger(__name__)


@dataclass(eq=False)
class Entry:
    """One delivery to store, and once written its outcome."""

    store_id: int
    platform: str
    topic: str
    key: str
    body: bytes
    event_id: int | None = None
    # True for the one delivery per store and write that its store's drain is signalled for.
    signals: bool = False
    error: BaseException | None = None
    # Set when this delivery's thread is to write the queue, or when its outcome is known.
    leads: bool = False
    done: threading.Event = field(default_factory=threading.Event)


class Intake:
    """The process's queue of deliveries waiting to be written (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: list[Entry] = []
        self._writing = False

    def accept(self, entry: Entry) -> Entry:
        """Store a delivery, in a group with whatever is queued (whose writer then signals their
        stores' drains); return it with its event id (None: a duplicate). Raises what the write
        raised for it."""
        with self._lock:
            self._queue.append(entry)
            entry.leads = not self._writing
            self._writing = True
        if not entry.leads:
            entry.done.wait()
        if entry.leads:
            self._write_queue()
        if entry.error is not None:
            raise entry.error
        return entry

    def _write_queue(self) -> None:
        with self._lock:
            group, self._queue = self._queue, []
        try:
            self._write(group)
        finally:
            with self._lock:
                if self._queue:  # the next group's first delivery writes it
                    self._queue[0].leads = True
                    self._queue[0].done.set()
                else:
                    self._writing = False
        signal(group)

    @staticmethod
    def _write(group: list[Entry]) -> None:
        """Write the group and let each of its deliveries go with its outcome."""
        try:
            write(group)
        except BaseException as error:  # the leader's own thread stopped: nobody's row is known
            for entry in group:
                entry.error = error
            raise
        finally:
            for entry in group:
                entry.leads = False
                entry.done.set()


def write(group: list[Entry]) -> None:
    """Write a group in one statement (one by one should the database refuse it), setting each
    delivery's outcome; an error that is not one delivery's is every delivery's."""
    try:
        parameters = [value for d in group
                      for value in inbox.row(d.store_id, d.platform, d.topic, d.key, d.body)]
        stored = {(store_id, key): event_id for event_id, store_id, key
                  in db.execute_bounded(inbox.accept_many(len(group)), parameters)}
    except Exception as error:  # noqa: BLE001 - raised again in each delivery's own thread
        if (len(group) > 1 and isinstance(error, DBAPIError) and error.statement is not None
                and not error.connection_invalidated):  # the statement's failure, not the link's
            for entry in group:  # one delivery's row may be what the database refused
                write([entry])
        else:
            for entry in group:
                entry.error = error
        return
    signalled: set[int] = set()
    for entry in group:
        # A key twice in one group (a platform's retry racing its original): the first has it.
        entry.event_id = stored.pop((entry.store_id, entry.key), None)
        entry.signals = entry.event_id is not None and entry.store_id not in signalled
        if entry.signals:
            signalled.add(entry.store_id)


def signal(group: list[Entry]) -> None:
    """Make sure a drain is queued for each store with a row just written (app.ingest.drain)."""
    for entry in group:
        if not entry.signals:
            continue
        try:
            drain.signal(entry.store_id)
        except Exception as error:  # noqa: BLE001 - the row is stored; the other stores still go
            log.warning("webhook stored, queue unavailable (%s); the sweeper will queue it",
                        type(error).__name__, extra={"store_id": entry.store_id,
                                                     "topic": entry.topic,
                                                     "event_id": entry.event_id},
                        exc_info=not isinstance(error, RedisError))


# The process's one queue: every thread answering a webhook stores through it.
accept = Intake().accept

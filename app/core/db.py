"""The database: one engine and session factory per process, and the declarative Base."""
from __future__ import annotations

import os
import time
from contextlib import contextmanager
from typing import Iterator, Mapping, Sequence

from sqlalchemy import BindParameter, Executable, MetaData, bindparam, create_engine, event, exc
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection, CursorResult, Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

# Stable constraint names, so Alembic migrations can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# A connection taken from the pool is pinged only when it sat there this long: that is how a
# connection dies unnoticed (a restart, a proxy's idle timeout). One in steady use is not, which
# saves a round trip per request; should it have died anyway, its request fails once (a 503 the
# platform retries, a job's retry) and the pool drops every connection as old as it.
PING_AFTER_IDLE_SECONDS = 1.0
# The bounded engine's limits (libpq settings): a statement gives up after these rather than
# hold up everything queued behind it (the web's webhook intake, app.ingest.intake).
BOUNDED = {"options": "-c lock_timeout=2000 -c statement_timeout=4000",
           "tcp_user_timeout": 10_000}  # ms: a connection whose server vanished, too


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Database:
    """Holds the engine; bound once per process by `configure` (web, worker or CLI)."""

    def __init__(self) -> None:
        self.engine: Engine | None = None
        self.bounded: Engine | None = None
        self._sessions: sessionmaker[Session] | None = None

    def configure(self, url: str, **engine_options) -> None:
        for engine in (self.engine, self.bounded):
            if engine is not None:
                engine.dispose()
        # A statement's parameters stay out of its error's message: they hold customers' data,
        # and the message is logged.
        engine_options = {"hide_parameters": True, **engine_options}
        self.engine = create_engine(url, **engine_options)
        _ping_when_idle(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        # Its pool opens a connection only once something asks for one (the web's intake).
        self.bounded = create_engine(url, pool_size=1, max_overflow=1, connect_args=BOUNDED,
                                     **engine_options)
        _ping_when_idle(self.bounded)  # a WooCommerce delivery refused once is never sent again
        _share_lost_server(self.bounded, self)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on error."""
        if self._sessions is None:
            raise RuntimeError("database is not configured; call app.bootstrap first")
        with self._sessions() as session, session.begin():
            yield session

    @contextmanager
    def autocommit(self, bounded: bool = False) -> Iterator[Connection]:
        """A connection whose every statement commits on its own (no BEGIN, no COMMIT): for work
        that is a single write, which then costs one round trip. A Core connection, not a
        Session: the ORM's per-use machinery costs more than the one statement it would wrap.
        `bounded`: from the engine whose statements give up after a few seconds (BOUNDED)."""
        if self._sessions is None:
            raise RuntimeError("database is not configured; call app.bootstrap first")
        with (self.bounded if bounded else self._sessions.kw["bind"]).connect() as connection:
            # psycopg's autocommit flag, set on this connection alone (no round trip); the pool
            # resets it when the connection comes back.
            connection.execution_options(isolation_level="AUTOCOMMIT")
            yield connection

    def execute_bounded(self, statement: str, parameters: Sequence) -> list[tuple]:
        """Run one statement, as psycopg takes it, on the bounded engine's pooled connection in
        autocommit, and return its rows: for the one statement every webhook runs (the intake's
        insert), where SQLAlchemy's execution cost more CPU than the statement itself
        (bench/RESULTS.md). Errors come as the engine would raise them (IntegrityError,
        OperationalError, ... with the statement, parameters hidden), and a server lost drops
        its connection and the main pool's."""
        if self.bounded is None:
            raise RuntimeError("database is not configured; call app.bootstrap first")
        dialect = self.bounded.dialect
        try:
            pooled = self.bounded.raw_connection()
        except dialect.loaded_dbapi.Error as error:  # no connection: the link's failure
            raise exc.DBAPIError.instance(None, None, error, dialect.loaded_dbapi.Error,
                                          dialect=dialect) from error
        connection = pooled.driver_connection
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute(statement, parameters)
                rows = cursor.fetchall()
            connection.autocommit = False
            return rows
        except dialect.loaded_dbapi.Error as error:
            lost = dialect.is_disconnect(error, connection, None)
            if lost:
                pooled.invalidate(error)
                self._lost_server()
            else:
                connection.autocommit = False
            raise exc.DBAPIError.instance(statement, None, error, dialect.loaded_dbapi.Error,
                                          hide_parameters=True, connection_invalidated=lost,
                                          dialect=dialect) from error
        finally:
            pooled.close()

    def _lost_server(self) -> None:
        """The server is gone (a restart, a failover), as the bounded engine found it: the main
        pool's connections went with it, so they go too, as a statement of the main engine
        finding it would drop them. Without this, the process's next job or request on a
        connection used less than PING_AFTER_IDLE_SECONDS ago would fail once more."""
        if self.engine is not None:
            self.engine.dispose(close=False)

    def _after_fork(self) -> None:
        # A forked RQ work-horse must not share the parent's pooled connections.
        for engine in (self.engine, self.bounded):
            if engine is not None:
                engine.dispose(close=False)


def _share_lost_server(bounded: Engine, database: Database) -> None:
    """A server gone, as a statement through the bounded engine finds it: Database._lost_server."""

    @event.listens_for(bounded, "handle_error")
    def lost(context) -> None:
        if context.is_disconnect:
            database._lost_server()


def _ping_when_idle(engine: Engine) -> None:
    """Ping a connection leaving the pool after PING_AFTER_IDLE_SECONDS there; a dead one is
    replaced by a new one before anyone uses it."""

    @event.listens_for(engine, "checkin")
    def checked_in(_dbapi_connection, record) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def checked_out(dbapi_connection, record, _proxy) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return  # new, or in steady use
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            raise exc.DisconnectionError(str(error)) from error


db = Database()
os.register_at_fork(after_in_child=db._after_fork)


def array(items: list, item_type) -> BindParameter:
    """A list bound as one PostgreSQL array of `item_type`: a statement over many rows taking
    each column as one array (`unnest`, `= ANY`) is the same statement whatever their number,
    so SQLAlchemy compiles it once and PostgreSQL prepares it once."""
    return bindparam(None, items, ARRAY(item_type))


def execute_core(session: Session, statement: Executable,
                 parameters: Mapping | Sequence[Mapping] | None = None) -> CursorResult:
    """Run a statement whose rows are plain rows (no ORM entity in or out) on the session's
    connection, in its transaction, skipping the ORM's execution path: 0.19 against 0.31 ms of
    CPU a statement (bench/RESULTS.md), for the statements every delivery, step or email runs.
    It flushes first (autoflush, as the session does before an ORM statement; before a plain
    table's statement it did not), so it reads what the transaction has written. Not for writes
    of stores: app.core.signing_secrets watches those through the session's execution."""
    if session.autoflush:
        session.flush()
    return session.connection().execute(statement, parameters)

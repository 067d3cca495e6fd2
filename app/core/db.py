"""The database: one engine and session factory per process, and the declarative Base."""
from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import MetaData, create_engine
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

# Stable constraint names, so Alembic migrations can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Database:
    """Holds the engine; bound once per process by `configure` (web, worker or CLI)."""

    def __init__(self) -> None:
        self.engine: Engine | None = None
        self._sessions: sessionmaker[Session] | None = None

    def configure(self, url: str, **engine_options) -> None:
        if self.engine is not None:
            self.engine.dispose()
        engine_options.setdefault("pool_pre_ping", True)
        self.engine = create_engine(url, **engine_options)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on error."""
        if self._sessions is None:
            raise RuntimeError("database is not configured; call app.bootstrap first")
        with self._sessions() as session, session.begin():
            yield session

    @contextmanager
    def autocommit(self) -> Iterator[Session]:
        """A session whose every statement commits on its own (no BEGIN, no COMMIT): for work
        that is a single write, which then costs one round trip."""
        if self._sessions is None:
            raise RuntimeError("database is not configured; call app.bootstrap first")
        engine = self._sessions.kw["bind"].execution_options(isolation_level="AUTOCOMMIT")
        with self._sessions(bind=engine) as session:
            yield session

    def _after_fork(self) -> None:
        # A forked RQ work-horse must not share the parent's pooled connections.
        if self.engine is not None:
            self.engine.dispose(close=False)


db = Database()
os.register_at_fork(after_in_child=db._after_fork)

"""The pool pings a connection only after it sat idle: one killed meanwhile is replaced unseen."""
from __future__ import annotations

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from app.core import db as database
from app.core.db import db


def _backend_pid() -> int:
    with db.session() as session:
        return session.execute(text("SELECT pg_backend_pid()")).scalar_one()


def test_a_connection_killed_while_idle_in_the_pool_is_replaced_before_use(app, monkeypatch):
    db.engine.dispose()
    pid = _backend_pid()
    killer = create_engine(db.engine.url, poolclass=NullPool)
    with killer.begin() as connection:
        assert connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
    killer.dispose()
    monkeypatch.setattr(database, "PING_AFTER_IDLE_SECONDS", 0)

    assert _backend_pid() != pid


def test_a_connection_in_steady_use_is_not_pinged(app, monkeypatch):
    db.engine.dispose()
    _backend_pid()
    pings = []
    monkeypatch.setattr(db.engine.dialect, "do_ping", pings.append)

    _backend_pid()

    assert pings == []


def test_a_connection_idle_for_long_is_pinged(app, monkeypatch):
    _backend_pid()
    pings = []
    monkeypatch.setattr(db.engine.dialect, "do_ping", pings.append)
    monkeypatch.setattr(database, "PING_AFTER_IDLE_SECONDS", 0)

    _backend_pid()

    assert len(pings) == 1

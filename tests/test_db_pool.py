"""The pools ping a connection only after it sat idle: one killed meanwhile is replaced unseen."""
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


def test_the_webhook_intakes_connection_killed_while_idle_is_replaced_before_a_delivery(
        shop, monkeypatch):
    """The intake's bounded engine pings too: a WooCommerce delivery refused once (a database
    restart while the web was idle) is never sent again."""
    from app.ingest import intake

    db.bounded.dispose()
    with db.autocommit(bounded=True) as connection:
        pid = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
    with db.autocommit() as connection:
        assert connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
    monkeypatch.setattr(database, "PING_AFTER_IDLE_SECONDS", 0)
    delivery = intake.Entry(shop.id, "shopify", "orders/create", "after-restart", b"{}")

    intake.write([delivery])

    assert delivery.error is None and delivery.event_id is not None

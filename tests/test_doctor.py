"""`storeflow doctor`: what it checks, what it tells the operator to fix, and its exit code."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from app.core import clock
from app.core.db import db
from app.models import Store, SyncProgress
from tests.helpers import published
from tests.smtp import free_port


@pytest.fixture
def keep_transport():
    """The doctor binds this process to SMTP_URL like any command; put the test's back."""
    from app.mail.transport import transports

    previous = transports.current
    yield
    transports.current = previous


def test_a_healthy_install_passes_with_warnings_only(storeflow, shop, webhooks, smtp_sink,
                                                      monkeypatch, keep_transport):
    monkeypatch.setenv("SMTP_URL", f"smtp://127.0.0.1:{smtp_sink.port}")
    webhooks.deliver("orders/create", published("shopify/orders_create.json"))

    result = storeflow("doctor")

    assert "[ok  ] database: reachable, migrations at head" in result.output
    assert f"[ok  ] smtp: 127.0.0.1:{smtp_sink.port} answered EHLO" in result.output
    assert f"[ok  ] store {shop.id} {shop.domain}: last webhook" in result.output
    assert "[warn] worker: missing" in result.output  # no worker runs during tests
    assert result.output.rstrip().endswith("no problems found")


def test_problems_are_named_with_their_fix_and_fail_the_command(storeflow, shop, monkeypatch,
                                                                keep_transport):
    monkeypatch.setenv("SMTP_URL", f"smtp://127.0.0.1:{free_port()}")  # nothing listens
    with db.session() as session:
        gone = Store(platform="shopify", domain="gone.myshopify.com", installed_at=clock.now(),
                     uninstalled_at=clock.now())
        session.add(gone)
        session.add(SyncProgress(store_id=shop.id, job="backfill", resource="orders",
                                 status="failed", count=250, error="ReadTimeout"))
        head = session.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        session.execute(text("UPDATE alembic_version SET version_num = '0009'"))
    try:
        result = storeflow("doctor", ok=False)
    finally:
        with db.session() as session:
            session.execute(text("UPDATE alembic_version SET version_num = :head"), {"head": head})

    assert result.exit_code == 1
    assert "[FAIL] database: migrations at ['0009']" in result.output
    assert "fix: run `storeflow db upgrade`" in result.output
    assert "[FAIL] smtp: 127.0.0.1" in result.output
    assert f"[FAIL] store {shop.id} {shop.domain}: no webhook received since it was connected" \
        in result.output
    assert "gone.myshopify.com: uninstalled" in result.output
    assert f"[FAIL] store {shop.id} {shop.domain}: backfill of orders failed (ReadTimeout)" \
        in result.output
    assert "retry its job on the jobs page" in result.output
    assert result.output.rstrip().endswith("4 problem(s)")


def test_a_local_install_is_told_where_mail_goes_without_alembics_chatter(storeflow, shop,
                                                                          keep_transport):
    result = storeflow("doctor", ok=False)
    assert "[ok  ] mail: the dev inbox: no SMTP_URL is set, so mail is kept here, not sent" \
        in result.output
    assert "alembic" not in result.output and "Context impl" not in result.output

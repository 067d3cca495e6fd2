"""The migrations: they build what the models describe, every one of them can be undone,
0015 carries both platforms' sync progress into `sync_progress` and back, and 0038 builds its
index on the inbox without holding up the webhooks that arrive meanwhile."""
from __future__ import annotations

import threading
from datetime import datetime, timezone

import pytest
from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from app.core import migrate

SCHEMA = "migration_check"
SYNC_PROGRESS = "0015"
CODES_UNIQUE = "0037"
INBOX_INDEX = "0038"
AT = datetime(2026, 11, 20, 9, 30, tzinfo=timezone.utc)


def test_models_and_migrations_agree(app):
    assert migrate.pending_differences() == []


@pytest.fixture
def scratch(app, config):
    """An engine whose tables live in a schema of their own, so migrations can go up and down
    beside the tests' tables."""
    engine = create_engine(config.database_url, poolclass=NullPool,
                           connect_args={"options": f"-csearch_path={SCHEMA}"})
    with engine.begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE; CREATE SCHEMA {SCHEMA}"))
    yield engine
    with engine.begin() as connection:
        connection.execute(text(f"DROP SCHEMA {SCHEMA} CASCADE"))
    engine.dispose()


def alembic(connection=None) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(migrate.MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def migrate_to(engine, direction: str, revision: str) -> None:
    # As `storeflow db upgrade` does: alembic opens a transaction per migration.
    with engine.connect() as connection:
        getattr(command, direction)(alembic(connection), revision)


def query(engine, statement: str, **params) -> list[tuple]:
    with engine.begin() as connection:
        result = connection.execute(text(statement), params)
        return [tuple(row) for row in result] if result.returns_rows else []


def previous(revision: str) -> str:
    return ScriptDirectory.from_config(alembic()).get_revision(revision).down_revision


def test_the_chain_goes_down_to_nothing_and_back_up(scratch):
    migrate_to(scratch, "upgrade", "head")
    migrate_to(scratch, "downgrade", "base")
    assert query(scratch, "SELECT table_name FROM information_schema.tables "
                 "WHERE table_schema = :s AND table_name <> 'alembic_version'", s=SCHEMA) == []
    migrate_to(scratch, "upgrade", "head")


def seed_the_old_shapes(engine) -> tuple[int, int]:
    """A Shopify store mid-backfill and reconciled, a WooCommerce store whose backfill failed."""
    add_store = ("INSERT INTO stores (platform, domain, collect_key, settings, currency, "
                 "reconciled_until, created_at, updated_at) VALUES (:platform, :domain, :domain, "
                 "'{}', 'USD', :reconciled, :at, :at) RETURNING id")
    [(shopify,)] = query(engine, add_store, platform="shopify", domain="a.myshopify.com",
                         reconciled=AT, at=AT)
    [(woo,)] = query(engine, add_store, platform="woocommerce", domain="https://b.example",
                     reconciled=None, at=AT)
    query(engine, "INSERT INTO backfills (store_id, resource, status, cursor, imported, "
          "started_at, updated_at) VALUES "
          "(:s, 'orders', 'running', 'eyJsYXN0X2lkIjo0Mn0', 250, :at, :at), "
          "(:s, 'customers', 'done', NULL, 80, :at, :at)", s=shopify, at=AT)
    query(engine, "INSERT INTO sync_states (store_id, name, status, watermark, progress, error, "
          "updated_at) VALUES "
          "(:s, 'backfill', 'failed', NULL, '{\"customers\": 120, \"products\": 2, "
          "\"skipped\": 1}', 'WooError', :at), "
          "(:s, 'reconcile', 'done', :at, '{\"orders\": 3, \"customers\": 1}', NULL, :at)",
          s=woo, at=AT)
    return shopify, woo


def test_sync_progress_takes_both_platforms_rows_and_gives_them_back(scratch):
    migrate_to(scratch, "upgrade", previous(SYNC_PROGRESS))
    shopify, woo = seed_the_old_shapes(scratch)

    migrate_to(scratch, "upgrade", SYNC_PROGRESS)

    rows = query(scratch, "SELECT store_id, job, resource, status, cursor, count, watermark, "
                 "error FROM sync_progress ORDER BY store_id, job, resource")
    assert rows == [
        (shopify, "backfill", "customers", "done", None, 80, None, None),
        (shopify, "backfill", "orders", "running", "eyJsYXN0X2lkIjo0Mn0", 250, None, None),
        (shopify, "reconcile", "all", "done", None, 0, AT, None),
        (woo, "backfill", "customers", "failed", None, 120, None, "WooError"),
        (woo, "backfill", "products", "failed", None, 2, None, "WooError"),
        (woo, "reconcile", "all", "done", None, 4, AT, None),
    ]

    migrate_to(scratch, "downgrade", previous(SYNC_PROGRESS))

    assert query(scratch, "SELECT resource, status, cursor, imported FROM backfills "
                 "ORDER BY resource") == [("customers", "done", None, 80),
                                          ("orders", "running", "eyJsYXN0X2lkIjo0Mn0", 250)]
    assert query(scratch, "SELECT id, reconciled_until FROM stores ORDER BY id") == [
        (shopify, AT), (woo, None)]
    assert query(scratch, "SELECT store_id, name, status, watermark, progress, error "
                 "FROM sync_states ORDER BY name") == [
        (woo, "backfill", "failed", None, {"customers": 120, "products": 2}, "WooError"),
        (woo, "reconcile", "done", AT, {}, None)]


def test_the_inbox_index_is_built_while_webhooks_keep_arriving(scratch):
    """A plain CREATE INDEX waits for the inbox's open writes and makes every new webhook INSERT
    queue behind it; 0038 builds CONCURRENTLY, so a delivery arriving meanwhile is stored."""
    migrate_to(scratch, "upgrade", previous(INBOX_INDEX))
    [(store,)] = query(scratch, "INSERT INTO stores (platform, domain, collect_key, settings, "
                       "currency, created_at, updated_at) VALUES ('shopify', 'a.myshopify.com', "
                       "'k', '{}', 'USD', :at, :at) RETURNING id", at=AT)
    deliver = text("INSERT INTO webhook_events (store_id, platform, topic, delivery_key, body, "
                   "received_at, attempts) VALUES (:s, 'shopify', 'orders/create', :key, '{}', "
                   ":at, 0)")
    with scratch.connect() as in_flight:  # a webhook request mid-transaction
        in_flight.execute(deliver, {"s": store, "key": "first", "at": AT})
        upgrade = threading.Thread(target=migrate_to, args=(scratch, "upgrade", INBOX_INDEX))
        upgrade.start()
        try:
            query(scratch, "SELECT pg_sleep(1)")  # the build is now waiting for `in_flight`
            with scratch.connect() as arriving:
                arriving.execute(text("SET lock_timeout = '3s'"))
                try:
                    arriving.execute(deliver, {"s": store, "key": "second", "at": AT})
                    arriving.commit()
                except OperationalError:
                    pytest.fail("a webhook arriving during the migration waited for its index")
        finally:
            in_flight.commit()
            upgrade.join(timeout=60)
    assert query(scratch, "SELECT indisvalid FROM pg_index WHERE indexrelid = "
                 "'ix_webhook_events_fresh'::regclass") == [(True,)]
    assert query(scratch, "SELECT delivery_key FROM webhook_events ORDER BY id") == [
        ("first",), ("second",)]


def test_0037_runs_again_after_a_try_cut_off_before_it_was_recorded(scratch):
    """Its column commits before its index is built CONCURRENTLY (outside a transaction): a try
    cut off after either leaves them behind with the version still 0036, and the next try
    finishes the job instead of stopping at what is already there."""
    migrate_to(scratch, "upgrade", previous(CODES_UNIQUE))
    query(scratch, "ALTER TABLE campaign_recipients ADD COLUMN discount_refusals smallint "
          "NOT NULL DEFAULT 0")
    query(scratch, "CREATE UNIQUE INDEX uq_campaign_recipients_store_id_discount_code "
          "ON campaign_recipients (store_id, discount_code)")

    migrate_to(scratch, "upgrade", CODES_UNIQUE)

    assert query(scratch, "SELECT version_num FROM alembic_version") == [(CODES_UNIQUE,)]
    assert query(scratch, "SELECT indisvalid, indisunique FROM pg_index WHERE indexrelid = "
                 "'uq_campaign_recipients_store_id_discount_code'::regclass") == [(True, True)]

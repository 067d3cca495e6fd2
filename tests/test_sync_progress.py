"""The one record of sync progress both connectors keep: a page claimed by one run is never
stored by another, a failure keeps its place and its reason, and a new start begins again."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.core import clock
from app.core.db import db
from app.models import SyncProgress
from app.sync import progress as sync_progress
from app.sync.progress import BACKFILL

STORE_RESOURCES = ["customers", "orders"]


def row(store_id: int, resource: str) -> SyncProgress:
    with db.session() as session:
        return session.execute(select(SyncProgress).where(
            SyncProgress.store_id == store_id, SyncProgress.job == BACKFILL,
            SyncProgress.resource == resource)).scalar_one()


def test_a_run_whose_cursor_another_run_moved_stores_nothing(shop):
    with db.session() as session:
        sync_progress.queue(session, shop.id, BACKFILL, STORE_RESOURCES)
        sync_progress.resume(session, shop.id, BACKFILL, "orders")
        assert sync_progress.claim_page(session, shop.id, BACKFILL, "orders", 50, None, "page-1")
    with db.session() as session:
        # A second run that also started from the beginning has been overtaken.
        assert not sync_progress.claim_page(session, shop.id, BACKFILL, "orders", 50, None, "x")
        assert sync_progress.claim_page(session, shop.id, BACKFILL, "orders", 7, "page-1", "end")

    orders = row(shop.id, "orders")
    assert (orders.status, orders.cursor, orders.count) == ("running", "end", 57)
    assert row(shop.id, "customers").status == "queued"


def test_a_failure_keeps_the_cursor_and_names_only_the_errors_class(shop):
    with db.session() as session:
        sync_progress.queue(session, shop.id, BACKFILL, STORE_RESOURCES)
        sync_progress.resume(session, shop.id, BACKFILL, "orders")
        sync_progress.claim_page(session, shop.id, BACKFILL, "orders", 50, None, "page-1")

    with pytest.raises(ValueError):
        with sync_progress.failures_recorded(shop.id, BACKFILL, "orders"):
            raise ValueError("bad email jane@example.com")  # the store's data: never shown

    failed = row(shop.id, "orders")
    assert (failed.status, failed.error, failed.cursor, failed.count) == (
        "failed", "ValueError", "page-1", 50)
    with db.session() as session:
        resumed = sync_progress.resume(session, shop.id, BACKFILL, "orders")
    assert (resumed.status, resumed.error, resumed.cursor) == ("running", None, "page-1")


def test_a_done_resource_does_not_run_again_until_the_job_is_queued_anew(shop):
    with db.session() as session:
        sync_progress.queue(session, shop.id, BACKFILL, STORE_RESOURCES)
        sync_progress.resume(session, shop.id, BACKFILL, "orders")
        sync_progress.claim_page(session, shop.id, BACKFILL, "orders", 3, None, "end")
        sync_progress.finish(session, shop.id, BACKFILL, "orders")
    with db.session() as session:
        assert sync_progress.resume(session, shop.id, BACKFILL, "orders") is None
        assert sync_progress.resume(session, shop.id, BACKFILL, "products") is None  # not queued
        sync_progress.queue(session, shop.id, BACKFILL, STORE_RESOURCES)

    again = row(shop.id, "orders")
    assert (again.status, again.cursor, again.count, again.finished_at) == ("queued", None, 0, None)


def test_reconciliation_moves_its_watermark_and_keeps_it_through_a_failure(shop):
    started = clock.now()
    with db.session() as session:
        assert sync_progress.watermark(session, shop.id) is None
        sync_progress.reconciled(session, shop.id, started, healed=4)

    with pytest.raises(RuntimeError):
        with sync_progress.failures_recorded(shop.id, sync_progress.RECONCILE):
            raise RuntimeError("the store went away")

    with db.session() as session:
        assert sync_progress.watermark(session, shop.id) == started
        reconciliation = session.execute(select(SyncProgress).where(
            SyncProgress.job == sync_progress.RECONCILE)).scalar_one()
    assert (reconciliation.resource, reconciliation.status, reconciliation.count) == (
        "all", "failed", 4)

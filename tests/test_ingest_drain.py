"""A store's fresh deliveries are ingested in batches by one job (app.ingest.drain): few jobs
for many deliveries, no store starved by another's flood, and a failing batch loses nothing."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import event as sa_event, func, select, text

from app.core import clock, stores
from app.core.db import db
from app.ingest import drain, pipeline
from app.ingest.sweep import sweep_inbox
from app.jobs import broker
from app.models import CheckoutLine, Customer, Order, WebhookEvent
from tests.flow_helpers import checkout_sample, consent_update, enable, runs
from tests.helpers import API_SECRET, published, wait_for, waiting_for_a_lock, work

OTHER_SHOP, OTHER_SECRET = "other-shop.myshopify.com", "other-secret"


def unprocessed(store_id: int) -> int:
    with db.session() as session:
        return session.execute(select(func.count()).where(
            WebhookEvent.store_id == store_id, WebhookEvent.processed_at.is_(None))).scalar_one()


def queued() -> int:
    return broker.queue("ingest").count


def test_deliveries_while_a_drain_is_queued_queue_no_more_jobs(shop, webhooks):
    for _ in range(20):
        assert webhooks.deliver("orders/create", published("shopify/orders_create.json")
                                ).status_code == 200

    assert queued() == 1
    work("ingest")
    assert unprocessed(shop.id) == 0
    webhooks.deliver("orders/create", published("shopify/orders_create.json"))
    assert queued() == 1  # the drain cleared the store's flag: the next delivery queues a job
    with db.session() as session:
        assert session.execute(select(func.count()).select_from(Order)).scalar_one() == 1


def test_a_flood_for_one_store_does_not_starve_another_store(shop, webhooks, monkeypatch):
    monkeypatch.setattr(drain, "TURN", 4)
    monkeypatch.setattr(drain, "BATCH", 2)
    with db.session() as session:
        other, _ = stores.connect(session, "shopify", OTHER_SHOP, access_token="t",
                                  webhook_secret=OTHER_SECRET)
    for _ in range(30):
        webhooks.deliver("orders/create", published("shopify/orders_create.json"))
    webhooks.deliver("orders/create", published("shopify/orders_create.json"),
                     secret=OTHER_SECRET, shop=OTHER_SHOP)

    work("ingest", max_jobs=1)  # the flooded store's turn: four of its thirty
    assert unprocessed(shop.id) == 26 and unprocessed(other.id) == 1
    work("ingest", max_jobs=1)  # the other store's turn comes next, not after the flood
    assert unprocessed(other.id) == 0 and unprocessed(shop.id) == 26
    work("ingest")
    assert unprocessed(shop.id) == 0


def test_a_drain_that_finds_a_backlog_queues_a_second_claimant_before_it_ingests(
        shop, webhooks, monkeypatch):
    monkeypatch.setattr(drain, "BATCH", 2)
    real, waiting = pipeline.ingest_row, []

    def ingest_row(session, event):
        waiting.append(queued())
        return real(session, event)

    monkeypatch.setattr(drain, "ingest_row", ingest_row)
    for n in range(5):
        payload = published("shopify/orders_create.json")
        webhooks.deliver("orders/create", {**payload, "id": payload["id"] + n})

    work("ingest", max_jobs=1)
    assert waiting[0] == 1  # another worker could take batches beside the first drain's
    work("ingest")
    assert unprocessed(shop.id) == 0 and len(waiting) == 5
    with db.session() as session:
        assert sorted(session.execute(select(WebhookEvent.attempts)).scalars()) == [1] * 5


def test_a_failing_row_goes_to_its_own_job_and_the_rest_are_ingested_each_once(
        shop, webhooks, monkeypatch):
    real, failures = pipeline.store_records, []

    def fails_once(*args):
        if not failures:
            failures.append(1)
            raise RuntimeError("the database went away mid-batch")
        return real(*args)

    monkeypatch.setattr(pipeline, "store_records", fails_once)
    for n in range(3):
        payload = published("shopify/orders_create.json")
        webhooks.deliver("orders/create", {**payload, "id": payload["id"] + n})

    work("ingest", max_jobs=1)  # the drain: the first row fails and is queued on its own
    assert unprocessed(shop.id) == 1 and queued() == 1
    work("ingest")

    with db.session() as session:
        assert session.execute(select(func.count()).select_from(Order)).scalar_one() == 3
        assert sorted(session.execute(select(WebhookEvent.attempts)).scalars()) == [1, 1, 2]
    assert unprocessed(shop.id) == 0


def test_a_row_failing_after_its_listeners_ran_leaves_the_rest_of_the_batch_to_the_drain(
        shop, webhooks, monkeypatch):
    """The failed row's rollback expires what its session read for the whole batch (the store,
    its flow choices): the rows after it read them again instead of failing on the copies."""
    real, failures = pipeline.events.publish, []

    def fails_once(*args):
        real(*args)
        if not failures:
            failures.append(1)
            raise RuntimeError("the database went away mid-batch")

    monkeypatch.setattr(pipeline.events, "publish", fails_once)
    enable(shop.id, "abandoned_checkout")
    for n in range(3):
        abandoned_checkout(webhooks, n)

    work("ingest", max_jobs=1)  # the drain: the first row fails and is queued on its own

    assert unprocessed(shop.id) == 1 and queued() == 1


def reads_while_draining(count: int, webhooks, *tables: str) -> int:
    """Statements reading any of `tables` while one drain ingests `count` checkouts (not the
    claims, which read only the store row's version)."""
    reads = []

    def note(_conn, _cursor, statement, *_):
        if "stores.xmin" not in statement and any(f"FROM {t}" in statement for t in tables):
            reads.append(statement)

    for n in range(count):
        abandoned_checkout(webhooks, 100 * count + n)
    sa_event.listen(db.engine, "before_cursor_execute", note)
    try:
        work("ingest")
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", note)
    return len(reads)


def test_a_drain_reads_the_store_once_for_its_batch_and_again_after_an_uninstall(
        shop, webhooks):
    enable(shop.id, "abandoned_checkout")
    assert reads_while_draining(1, webhooks, "stores") == reads_while_draining(
        4, webhooks, "stores") > 0

    abandoned_checkout(webhooks, 1)
    assert webhooks.deliver("app/uninstalled", published("shopify/app_uninstalled.json")
                            ).status_code == 200
    abandoned_checkout(webhooks, 2)
    work("ingest")

    assert len(runs("abandoned_checkout")) == 6  # not shopper 2's, after the uninstall


def test_a_drain_holds_one_delivery_s_locks_at_a_time(shop, webhooks, monkeypatch):
    """Each row in a transaction of its own: a drain holding the locks of many deliveries at
    once, in arrival order, could deadlock with a mail job locking a customer, then a message."""
    real, seen = pipeline.ingest_row, []

    def ingest_row(session, event):
        if seen:  # the first row's transaction has ended: its row is free to lock now
            with db.engine.connect() as other:
                assert other.execute(text(
                    "SELECT id FROM webhook_events WHERE id = :id FOR UPDATE NOWAIT"),
                    {"id": seen[0]}).scalar_one() == seen[0]
                other.rollback()
        seen.append(event.id)
        return real(session, event)

    monkeypatch.setattr(drain, "ingest_row", ingest_row)
    for n in range(2):
        payload = published("shopify/orders_create.json")
        webhooks.deliver("orders/create", {**payload, "id": payload["id"] + n})

    work("ingest")
    assert len(seen) == 2 and unprocessed(shop.id) == 0


def test_a_flag_whose_job_could_not_be_queued_is_released(shop, webhooks, monkeypatch):
    def redis_down(*args, **kwargs):
        raise ConnectionError("Redis went away")

    monkeypatch.setattr(drain.jobs, "enqueue", redis_down)
    with pytest.raises(ConnectionError):
        drain.signal(shop.id)
    monkeypatch.undo()

    assert not broker.connection.exists(drain.FLAG.format(shop.id))
    assert drain.signal(shop.id)  # the next delivery, or the sweep, queues the drain


def test_a_shop_redaction_ends_its_batch_with_the_store(installed_shop, webhooks):
    for topic, name in [("orders/create", "orders_create"), ("app/uninstalled", "app_uninstalled"),
                        ("shop/redact", "shop_redact"), ("customers/update", "customers_update")]:
        assert webhooks.deliver(topic, published(f"shopify/{name}.json"),
                                secret=API_SECRET).status_code == 200

    work("ingest")

    with db.session() as session:
        assert session.execute(select(func.count()).select_from(WebhookEvent)).scalar_one() == 0
        assert session.execute(select(func.count()).select_from(Order)).scalar_one() == 0
        assert session.execute(select(func.count()).select_from(Customer)).scalar_one() == 0


def test_a_worker_killed_after_its_drain_claimed_a_batch_loses_none_of_it(shop, webhooks):
    for n in range(3):
        payload = published("shopify/orders_create.json")
        webhooks.deliver("orders/create", {**payload, "id": payload["id"] + n})
    broker.queue("ingest").empty()  # the worker took the drain job off the queue,
    drain._take(shop.id)            # claimed the batch, and was killed before its commit

    assert sweep_inbox(older_than_seconds=0) == 3
    work("ingest")

    assert unprocessed(shop.id) == 0
    with db.session() as session:
        assert session.execute(select(func.count()).select_from(Order)).scalar_one() == 3


def test_a_claimed_row_another_transaction_holds_for_a_moment_is_still_ingested(shop, webhooks):
    # Another drain's claim, its snapshot taken before this claim committed, locks the row for
    # a moment to find it taken; skipping it left it to the sweep (the end-to-end bench hung).
    for n in range(2):
        payload = published("shopify/orders_create.json")
        webhooks.deliver("orders/create", {**payload, "id": payload["id"] + n})
    broker.queue("ingest").empty()
    claimed = drain._take(shop.id)

    with ThreadPoolExecutor(1) as pool, db.engine.connect() as holder:
        holder.execute(select(WebhookEvent.id).where(WebhookEvent.id == claimed[0])
                       .with_for_update())
        batch = pool.submit(drain._ingest_batch, claimed)
        wait_for(lambda: waiting_for_a_lock() == 1)
        holder.rollback()
        batch.result(timeout=30)

    assert unprocessed(shop.id) == 0


def test_the_sweep_leaves_fresh_rows_behind_a_backlog_to_their_store_s_drain(shop, webhooks):
    for _ in range(3):
        webhooks.deliver("orders/create", published("shopify/orders_create.json"))

    assert sweep_inbox(older_than_seconds=0) == 0  # their drain is queued: no job per row
    assert queued() == 1
    broker.connection.delete(drain.FLAG.format(shop.id))  # the flag of a lost job expired
    assert sweep_inbox(older_than_seconds=0) == 1 and queued() == 2
    work("ingest")
    assert unprocessed(shop.id) == 0


def abandoned_checkout(webhooks, n: int, subscribe_first: bool = False) -> None:
    """Shopper `n` (subscribed, as the checkout's customer says, and told before it if
    `subscribe_first`) leaves a checkout."""
    customer, email = 7_000_000 + n, f"shopper{n}@example.com"
    checkout = checkout_sample(clock.now() - timedelta(minutes=5), token=f"drain-{n}", email=email)
    consent = consent_update(customer, email, updated=clock.now() - timedelta(minutes=5))
    checkout["customer"] = {**checkout["customer"], "id": customer, "email": email,
                            "email_marketing_consent": consent["email_marketing_consent"]}
    if subscribe_first:
        webhooks.deliver("customers_email_marketing_consent/update", consent)
        work("ingest")
    assert webhooks.deliver("checkouts/update", checkout).status_code == 200


def test_a_drain_reads_the_store_s_flow_choices_once_for_its_batch(shop, webhooks):
    enable(shop.id, "abandoned_checkout")
    # Segments are read for every delivery (tests/test_segments.py).
    one = reads_while_draining(1, webhooks, "flow_configs", "flow_documents")

    assert one > 0 and reads_while_draining(4, webhooks, "flow_configs", "flow_documents") == one
    assert len(runs("abandoned_checkout")) == 5


def test_a_flow_switched_on_between_two_drains_counts_for_the_second(shop, webhooks):
    abandoned_checkout(webhooks, 1)
    work("ingest")
    assert runs("abandoned_checkout") == []  # off by default

    enable(shop.id, "abandoned_checkout")
    abandoned_checkout(webhooks, 2)
    work("ingest")
    assert len(runs("abandoned_checkout")) == 1


def test_an_ingest_commits_without_waiting_for_the_disk_and_no_other_transaction_does(
        shop, webhooks, monkeypatch):
    """Asynchronous commit is local to an ingest's transaction: the webhook's intake before it
    and the next transaction on its connection (a mail job's, say) stay synchronous."""
    real, seen = pipeline.ingest_row, []

    def ingest_row(session, event):
        setting = session.execute(text("SHOW synchronous_commit")).scalar_one()
        seen.append((setting, session.connection().connection.dbapi_connection))
        return real(session, event)

    monkeypatch.setattr(drain, "ingest_row", ingest_row)
    webhooks.deliver("orders/create", published("shopify/orders_create.json"))
    # The intake wrote through the bounded engine's one pooled connection (in autocommit, so no
    # SET LOCAL could reach it): that connection is synchronous.
    assert db.bounded.pool.checkedin() == 1
    with db.bounded.connect() as intake:
        assert intake.exec_driver_sql("SHOW synchronous_commit").scalar_one() == "on"
    work("ingest")

    [(setting, connection)] = seen
    assert setting == "off" and unprocessed(shop.id) == 0
    assert connection.execute("SHOW synchronous_commit").fetchone()[0] == "on"
    connection.rollback()


def test_a_delivery_that_steps_its_run_checks_the_run_s_exit_rules_once(shop, webhooks):
    """The engine's re-check of the customer's runs steps a due run, and the step checks the
    exit rules first: asked once (an order since the trigger is one query), not again before."""
    enable(shop.id, "abandoned_checkout")
    abandoned_checkout(webhooks, 1, subscribe_first=True)  # the checkout's one event: checkout_updated
    asked = []

    def note(_conn, _cursor, statement, *_):
        if "FROM orders" in statement:
            asked.append(statement)

    sa_event.listen(db.engine, "before_cursor_execute", note)
    try:
        work("ingest")
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", note)
    [run] = runs("abandoned_checkout")
    assert run.status == "active" and run.due_at > clock.now()  # waiting for its first email
    assert len(asked) == 1


def test_a_new_checkout_s_lines_are_written_without_clearing_lines_it_cannot_have(shop, webhooks):
    statements = []
    abandoned_checkout(webhooks, 1)
    sa_event.listen(db.engine, "before_cursor_execute",
                    note := lambda _conn, _cursor, statement, *_: statements.append(statement))
    try:
        work("ingest")
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", note)

    assert not any(s.startswith("DELETE FROM checkout_lines") for s in statements)
    with db.session() as session:
        assert session.execute(select(func.count()).select_from(CheckoutLine)).scalar_one() > 0


def test_an_uninstall_committed_elsewhere_mid_batch_stops_the_rest_of_the_batch(
        shop, webhooks, monkeypatch):
    """Another claimant's drain (or the uninstall's own retry job) commits the store's uninstall
    while this batch runs: the batch's later deliveries see it, as a read of their own would."""
    from app.ingest import compliance
    from app.models import Store

    enable(shop.id, "abandoned_checkout")
    for n in range(4):
        abandoned_checkout(webhooks, n)
    real, seen = pipeline.ingest_row, []

    def ingest_row(session, event):
        if len(seen) == 1:  # another worker commits the store's uninstall now
            with db.session() as other:
                compliance.uninstall(other, shop.id)
        seen.append(event.id)
        return real(session, event)

    monkeypatch.setattr(drain, "ingest_row", ingest_row)
    work("ingest")

    with db.session() as session:
        assert not session.get(Store, shop.id).installed
    assert len(seen) == 4  # one batch
    # Shopper 0's, and shopper 1's: claimed before the uninstall committed, as a delivery under
    # way would be. Not shoppers 2 and 3's, claimed after it.
    assert len(runs("abandoned_checkout")) == 2

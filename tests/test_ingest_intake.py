"""Deliveries stored in groups (app.ingest.intake): each gets its own outcome, nobody is answered
before the write holding their row, and one store's failure is no other delivery's."""
from __future__ import annotations

import threading
import time

from sqlalchemy import create_engine, func, select
from sqlalchemy.exc import DataError, IntegrityError, OperationalError

from app.core import stores
from app.core.db import db
from app.ingest import intake
from app.models import Store, WebhookEvent

OTHER_SHOP = "other-shop.myshopify.com"


def entry(store_id: int, key: str) -> intake.Entry:
    return intake.Entry(store_id, "shopify", "orders/create", key, b'{"id": 1}')


def behind_a_held_write(store_id: int, keys: str, first_writing: threading.Event
                        ) -> tuple[dict[str, intake.Entry], list[threading.Thread]]:
    """One delivery per key, each from a thread of its own: the first starts a write (which the
    test holds, setting `first_writing`), the rest queue behind it. The answers as they come,
    and the threads."""
    queue = intake.Intake()
    answers: dict[str, intake.Entry] = {}

    def deliver(key: str) -> None:
        answers[key] = queue.accept(entry(store_id, key))

    threads = [threading.Thread(target=deliver, args=(key,)) for key in keys]
    threads[0].start()
    assert first_writing.wait(10)
    for thread in threads[1:]:
        thread.start()
    while len(queue._queue) < len(keys) - 1:  # all the others queued behind the write
        threading.Event().wait(0.01)
    return answers, threads


def stored_keys() -> list[tuple[int, str]]:
    with db.session() as session:
        return sorted(tuple(row) for row in session.execute(
            select(WebhookEvent.store_id, WebhookEvent.delivery_key)))


def test_a_group_gives_each_delivery_its_outcome_and_each_store_one_signal(shop):
    with db.session() as session:
        other, _ = stores.connect(session, "shopify", OTHER_SHOP, access_token="t",
                                  webhook_secret="s")
    group = [entry(shop.id, "a"), entry(shop.id, "b"), entry(shop.id, "a"), entry(other.id, "a")]

    intake.write(group)

    first, second, again, others = group
    assert None not in (first.event_id, second.event_id, others.event_id)
    assert again.event_id is None  # a retry racing its original: a duplicate
    assert [e.signals for e in group] == [True, False, False, True]
    assert stored_keys() == sorted([(shop.id, "a"), (shop.id, "b"), (other.id, "a")])


def test_a_store_gone_fails_only_its_own_delivery(shop):
    group = [entry(shop.id, "a"), entry(2**31 - 1, "a"), entry(shop.id, "b")]

    intake.write(group)

    assert isinstance(group[1].error, IntegrityError)
    assert group[0].event_id and group[2].event_id and group[0].error is group[2].error is None
    assert stored_keys() == [(shop.id, "a"), (shop.id, "b")]


def test_a_row_the_database_refuses_fails_only_its_delivery_and_no_body_is_in_the_error(shop):
    """A NUL in one delivery's key (PostgreSQL's text refuses it) is that delivery's failure; the
    error's message, logged with its request, shows no delivery's body."""
    private = b'{"email": "alice@example.com"}'
    group = [intake.Entry(shop.id, "shopify", "orders/create", "a", private),
             intake.Entry(shop.id, "shopify", "orders/create", "b\x00", private)]

    intake.write(group)

    assert group[0].event_id and group[0].error is None
    assert isinstance(group[1].error, DataError) and b"alice" not in str(group[1].error).encode()
    assert stored_keys() == [(shop.id, "a")]


def test_a_write_blocked_by_one_stores_lock_gives_up_and_fails_only_that_delivery(shop):
    """A store's row locked (an erasure deleting it, say) blocks a delivery for it at its
    foreign-key check: the write gives up after the bounded engine's lock timeout instead of
    holding every delivery the process is answering, and the other store's delivery is stored."""
    with db.session() as session:
        other, _ = stores.connect(session, "shopify", OTHER_SHOP, access_token="t",
                                  webhook_secret="s")
    group = [entry(shop.id, "a"), entry(other.id, "a")]
    with db.session() as eraser:
        eraser.execute(select(Store).where(Store.id == other.id).with_for_update())
        started = time.monotonic()
        intake.write(group)
        waited = time.monotonic() - started

    assert waited < 10  # two lock timeouts of 2 s: the group's, then the row's own
    assert group[0].event_id and group[0].error is None
    assert isinstance(group[1].error, OperationalError) and "lock timeout" in str(group[1].error)
    assert stored_keys() == [(shop.id, "a")]


def test_the_database_down_fails_every_delivery_of_the_group(shop, monkeypatch):
    dead = create_engine("postgresql+psycopg://nobody@127.0.0.1:9/none", pool_pre_ping=False)
    monkeypatch.setattr(db, "bounded", dead)
    group = [entry(shop.id, "a"), entry(shop.id, "b")]

    intake.write(group)

    assert all(isinstance(e.error, OperationalError) and e.event_id is None for e in group)


def test_deliveries_arriving_during_a_write_share_the_next_and_wait_for_it(shop, monkeypatch):
    writes: list[list[str]] = []
    first_writing, release = threading.Event(), threading.Event()
    write = intake.write

    def held_write(group):
        writes.append([e.key for e in group])
        if len(writes) == 1:
            first_writing.set()
            assert release.wait(10)
        write(group)

    monkeypatch.setattr(intake, "write", held_write)
    answers, threads = behind_a_held_write(shop.id, "abcd", first_writing)
    assert answers == {}  # nobody answered before the write holding their row
    release.set()
    for thread in threads:
        thread.join(10)

    assert writes[0] == ["a"] and sorted(writes[1]) == ["b", "c", "d"] and len(writes) == 2
    assert all(answers[key].event_id for key in "abcd")
    assert [answers[key].signals for key in "abcd"].count(True) == 2  # one per write
    with db.session() as session:
        assert session.execute(select(func.count()).select_from(WebhookEvent)).scalar_one() == 4


def test_the_writer_of_a_group_queues_its_stores_drain_before_it_returns(shop):
    from app.ingest import drain
    from app.jobs import broker

    queue = intake.Intake()

    stored = queue.accept(entry(shop.id, "a"))

    assert stored.event_id and stored.signals
    assert broker.connection.exists(drain.FLAG.format(shop.id))  # the drain's job is queued
    again = queue.accept(entry(shop.id, "a"))
    assert again.event_id is None and not again.signals  # a duplicate signals nothing


def test_with_redis_down_a_written_delivery_is_answered_as_stored(shop, monkeypatch, caplog):
    """Its row is safe in the inbox; the sweep queues its drain later."""
    from redis.exceptions import ConnectionError as RedisConnectionError

    from app.ingest import drain

    def down(store_id):
        raise RedisConnectionError("down")

    monkeypatch.setattr(drain, "signal", down)

    stored = intake.Intake().accept(entry(shop.id, "a"))

    assert stored.event_id and stored.error is None
    assert stored_keys() == [(shop.id, "a")]
    assert "the sweeper will queue it" in caplog.text


def test_a_groups_deliveries_are_answered_without_waiting_for_its_signal(shop, monkeypatch):
    """Their rows are committed; the writer's Redis round trip holds up only itself. The
    first write is held until "b" and "c" queue behind it; their group's writer ("b") is then
    held in its signal, and "c" is answered meanwhile."""
    from app.ingest import drain

    first_writing, release_write = threading.Event(), threading.Event()
    release_signal, signals = threading.Event(), []
    write = intake.write

    def held_write(group):
        if not first_writing.is_set():
            first_writing.set()
            assert release_write.wait(10)
        write(group)

    def held_signal(store_id):
        signals.append(store_id)
        if len(signals) == 2:  # the second group's
            assert release_signal.wait(10)

    monkeypatch.setattr(intake, "write", held_write)
    monkeypatch.setattr(drain, "signal", held_signal)
    answers, threads = behind_a_held_write(shop.id, "abc", first_writing)
    release_write.set()
    threads[0].join(10)
    waited = 0.0
    while len(answers) < 2 and waited < 5:  # "a", and whichever of "b", "c" did not write
        threading.Event().wait(0.01)
        waited += 0.01

    assert len(signals) == 2 and len(answers) == 2  # one answered while its writer signals
    release_signal.set()
    for thread in threads:
        thread.join(10)
    assert all(answers[key].event_id for key in "abc")


def test_a_writer_held_in_its_signal_holds_up_no_later_write(shop, monkeypatch):
    """A Redis that accepts but never answers holds the thread that signals for up to its
    socket timeout: that thread alone. The next delivery is written and answered meanwhile."""
    from app.ingest import drain

    in_signal, release = threading.Event(), threading.Event()

    def hung(store_id):
        if not in_signal.is_set():
            in_signal.set()
            assert release.wait(10)

    monkeypatch.setattr(drain, "signal", hung)
    queue = intake.Intake()
    answers: dict[str, intake.Entry] = {}

    def deliver(key: str) -> None:
        answers[key] = queue.accept(entry(shop.id, key))

    first = threading.Thread(target=deliver, args=("a",))
    first.start()
    assert in_signal.wait(10)
    later = threading.Thread(target=deliver, args=("b",))
    later.start()
    later.join(5)
    try:
        assert "b" in answers and answers["b"].event_id  # written while "a" waits on Redis
        assert "a" not in answers
    finally:
        release.set()
        first.join(10)
    assert answers["a"].event_id and stored_keys() == [(shop.id, "a"), (shop.id, "b")]


def test_any_error_signalling_one_store_leaves_the_others_signalled_and_the_row_stored(
        shop, monkeypatch, caplog):
    from app.ingest import drain

    with db.session() as session:
        other, _ = stores.connect(session, "shopify", OTHER_SHOP, access_token="t",
                                  webhook_secret="s")
    signalled = []

    def signal(store_id):
        signalled.append(store_id)
        if store_id == shop.id:
            raise RuntimeError("not a Redis error")

    monkeypatch.setattr(drain, "signal", signal)
    group = [entry(shop.id, "a"), entry(other.id, "b")]
    intake.write(group)

    intake.signal(group)

    assert signalled == [shop.id, other.id]
    assert all(e.event_id and e.error is None for e in group)
    assert "the sweeper will queue it" in caplog.text

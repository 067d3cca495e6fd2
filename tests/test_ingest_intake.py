"""Deliveries stored in groups (app.ingest.intake): each gets its own outcome, nobody is answered
before the write holding their row, and one store's failure is no other delivery's."""
from __future__ import annotations

import threading

from sqlalchemy import create_engine, func, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import sessionmaker

from app.core import stores
from app.core.db import db
from app.ingest import intake
from app.models import WebhookEvent

OTHER_SHOP = "other-shop.myshopify.com"


def entry(store_id: int, key: str) -> intake.Entry:
    return intake.Entry(store_id, "shopify", "orders/create", key, b'{"id": 1}')


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


def test_the_database_down_fails_every_delivery_of_the_group(shop, monkeypatch):
    dead = create_engine("postgresql+psycopg://nobody@127.0.0.1:9/none", pool_pre_ping=False)
    monkeypatch.setattr(db, "_sessions", sessionmaker(dead))
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
    queue = intake.Intake()
    answers: dict[str, intake.Entry] = {}

    def deliver(key: str) -> None:
        answers[key] = queue.accept(entry(shop.id, key))

    threads = [threading.Thread(target=deliver, args=(key,)) for key in "abcd"]
    threads[0].start()
    assert first_writing.wait(10)
    for thread in threads[1:]:
        thread.start()
    while len(queue._queue) < 3:  # the three queued behind the write under way
        threading.Event().wait(0.01)
    assert answers == {}  # nobody answered before the write holding their row
    release.set()
    for thread in threads:
        thread.join(10)

    assert writes[0] == ["a"] and sorted(writes[1]) == ["b", "c", "d"] and len(writes) == 2
    assert all(answers[key].event_id for key in "abcd")
    assert [answers[key].signals for key in "abcd"].count(True) == 2  # one per write
    with db.session() as session:
        assert session.execute(select(func.count()).select_from(WebhookEvent)).scalar_one() == 4

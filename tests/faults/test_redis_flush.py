"""Redis flushed while 500 sends are owed: some runs due with their step jobs queued, some
messages written with their mail jobs queued, some already sent. The database says what is
owed, so one tick interval later the tick and the outbox sweep send everything exactly once."""
from __future__ import annotations

from collections import Counter
from datetime import timedelta

from app.jobs import broker
from app.jobs.schedule import TICK_SECONDS
from app.mail import outbox
from flows import engine
from tests.flow_helpers import SAMPLE_TIME, at, enable, messages, runs
from tests.helpers import work
from tests.seed import due_checkout_runs

OWED = 500


def test_a_flushed_redis_loses_no_send_and_doubles_none(shop, run_jobs, smtp_sink):
    enable(shop.id, "abandoned_checkout")
    due = SAMPLE_TIME + timedelta(hours=1)
    due_checkout_runs(shop.id, shop.domain, OWED, due)

    with at(due):
        assert engine.tick(due) == OWED
        # 300 steps ran (a step job steps those waiting behind it too, up to a batch): their
        # messages are written and their mail queued
        work("flows", max_jobs=300 // engine.STEP_BATCH)
        # 100 of those went out (a mail job sends those waiting behind it too, up to a batch)
        work("mail", max_jobs=100 // outbox.BATCH)
    assert len(smtp_sink.received) == 100
    broker.connection.flushdb()  # 200 mail jobs and 200 step jobs are gone

    later = due + timedelta(seconds=TICK_SECONDS)
    with at(later):  # what the scheduler runs at the next interval
        engine.tick(later)
        outbox.sweep_outbox()
        run_jobs()

    received = Counter(mail["To"] for mail in smtp_sink.received)
    assert len(received) == OWED and set(received.values()) == {1}
    assert Counter(m.status for m in messages()) == {"sent": OWED}
    assert {(run.status, run.step) for run in runs()} == {("active", 2)}  # waiting for email 2

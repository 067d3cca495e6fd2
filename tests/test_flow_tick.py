"""The tick over a backlog: one tick walks every due run in keyset batches, and ticks running
at the same time queue each run once."""
from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from app.jobs import broker
from flows import engine
from tests.flow_helpers import SAMPLE_TIME, at, enable, runs
from tests.helpers import work
from tests.seed import due_checkout_runs

BACKLOG = 230
BATCH = 40  # the backlog is several batches and a part


def queued_runs() -> Counter:
    """How often each run's step job stands on the flows queue."""
    return Counter(broker.queue("flows").get_job_ids())


def test_one_tick_queues_a_backlog_larger_than_a_batch(shop, run_jobs):
    enable(shop.id, "abandoned_checkout")
    due = SAMPLE_TIME + timedelta(hours=1)
    # Due at one instant, so the walk goes on by id among equal due times; and spread out.
    due_checkout_runs(shop.id, shop.domain, BACKLOG // 2, due)
    due_checkout_runs(shop.id, shop.domain, BACKLOG - BACKLOG // 2, due - timedelta(minutes=30),
                      spread=timedelta(minutes=20), first=10_000)
    due_checkout_runs(shop.id, shop.domain, 7, due + timedelta(minutes=5), first=20_000)

    with at(due):
        assert engine.tick(due, batch=BATCH) == BACKLOG
        assert queued_runs() == Counter({f"flow-run-{run.id}": 1 for run in runs()
                                         if run.due_at <= due})
        assert engine.tick(due, batch=BATCH) == 0  # every job still waits on the queue
        work("flows")
    assert Counter(run.step for run in runs()) == {2: BACKLOG, 0: 7}  # the later 7 not yet due


def test_a_tick_looking_ahead_schedules_what_falls_due_before_the_next(shop, run_jobs):
    enable(shop.id, "abandoned_checkout")
    due = SAMPLE_TIME + timedelta(hours=1)
    due_checkout_runs(shop.id, shop.domain, 50, due)
    due_checkout_runs(shop.id, shop.domain, 50, due + timedelta(seconds=10), first=10_000)

    assert engine.tick(due, batch=BATCH, lookahead=timedelta(seconds=30)) == 100
    assert len(queued_runs()) == 50
    assert broker.queue("flows").scheduled_job_registry.count == 50


def test_two_ticks_at_once_queue_each_run_once(shop, run_jobs):
    enable(shop.id, "abandoned_checkout")
    due = SAMPLE_TIME + timedelta(hours=1)
    due_checkout_runs(shop.id, shop.domain, BACKLOG, due - timedelta(minutes=10),
                      spread=timedelta(minutes=10))

    with at(due), ThreadPoolExecutor(2) as pool:
        counts = list(pool.map(lambda _: engine.tick(due, batch=BATCH), range(2)))
    assert sum(counts) == BACKLOG
    assert queued_runs() == Counter({f"flow-run-{run.id}": 1 for run in runs()})

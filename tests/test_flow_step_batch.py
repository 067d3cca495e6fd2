"""One step job steps the runs whose jobs wait behind it, each in its own transaction, as its own
job would. A failure or a kill mid-batch loses no run and doubles no message: what is owed is in
the database, and the tick queues it again."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from rq.job import Job
from rq.timeouts import JobTimeoutException

from app.core.db import db
from app.mail import outbox
from app import jobs
from app.jobs import broker, failures as job_failures
from app.jobs.failing import FAILING
from flows import engine, port
from tests.campaign_engine_helpers import scheduler_hands_over
from tests.flow_helpers import SAMPLE_TIME, at, enable, messages, runs
from tests.helpers import take_lead
from tests.seed import due_checkout_runs

DUE = SAMPLE_TIME + timedelta(hours=1)


@pytest.fixture
def due(shop):
    """`due(n)`: n abandoned-checkout runs due at DUE, their step jobs queued by a tick."""
    enable(shop.id, "abandoned_checkout")

    def make(n: int, first: int = 1) -> list[int]:
        due_checkout_runs(shop.id, shop.domain, n, DUE, first=first)
        assert engine.tick(DUE) == n
        return [run.id for run in runs() if run.step == 0]
    return make


def steps() -> dict[int, int]:
    return {run.id: run.step for run in runs()}


def step_jobs() -> list[str]:
    return broker.queue("flows").job_ids


def stopped_on_the_third(monkeypatch, error: BaseException) -> None:
    """The third run a step job walks raises `error` mid-step."""
    advance_run, calls = engine.advance_run, []

    def stops(ctx):
        calls.append(ctx.run.id)
        if len(calls) == 3:
            raise error
        advance_run(ctx)
    monkeypatch.setattr(engine, "advance_run", stops)


def test_a_step_job_steps_the_batch_waiting_behind_it(due):
    ids = due(engine.STEP_BATCH + 2)

    assert engine.advance(*take_lead("flows")) == "active"

    batch, rest = ids[:engine.STEP_BATCH], ids[engine.STEP_BATCH:]
    assert [steps()[run] for run in ids] == [2] * engine.STEP_BATCH + [0, 0]
    assert sorted(m.run_id for m in messages()) == batch
    # The taken jobs are gone from Redis; the ones behind the batch wait as they were.
    assert step_jobs() == [f"flow-run-{run}" for run in rest]
    assert not any(Job.exists(f"flow-run-{run}", broker.connection) for run in batch[1:])


def mail_jobs() -> list[tuple]:
    """The mail jobs waiting, in queue order: their arguments."""
    queue = broker.queue("mail")
    return [queue.fetch_job(job_id).args for job_id in queue.job_ids]


def handed_to_delivery(monkeypatch) -> list[list[int]]:
    """What the engine hands to delivery, call by call (delivered all the same)."""
    handed, bound = [], port.bound()

    def deliver(message_ids: list[int]) -> None:
        handed.append(list(message_ids))
        bound.deliver(message_ids)
    monkeypatch.setattr(port, "_bound", replace(bound, deliver=deliver))
    return handed


def test_a_batch_hands_its_messages_to_delivery_together_as_it_ends(due, monkeypatch):
    ids = due(3)
    handed = handed_to_delivery(monkeypatch)
    monkeypatch.setattr(engine, "HAND_ON_AFTER", 60.0)  # however slow this machine is

    engine.advance(*take_lead("flows"))

    queued = [m.id for m in sorted(messages(), key=lambda m: ids.index(m.run_id))]
    assert handed == [queued]  # once, as the batch ended, in the order the runs were stepped
    # Each message's own mail job, as of the batch's instant (`storeflow tick --at`).
    assert mail_jobs() == [(message_id, DUE.isoformat()) for message_id in queued]


def test_an_email_waits_for_its_batch_at_most_hand_on_after(due, monkeypatch):
    ids = due(3)
    handed = handed_to_delivery(monkeypatch)
    monkeypatch.setattr(engine, "HAND_ON_AFTER", 0.0)  # every step outlasts it

    engine.advance(*take_lead("flows"))

    by_run = {m.run_id: m.id for m in messages()}
    assert handed == [[by_run[run]] for run in ids]  # each right after its own step
    assert mail_jobs() == [(by_run[run], DUE.isoformat()) for run in ids]


def test_a_batch_cut_off_by_its_time_hands_on_the_messages_it_committed(due, monkeypatch):
    ids = due(5)
    stopped_on_the_third(monkeypatch, JobTimeoutException())

    with pytest.raises(JobTimeoutException):
        engine.advance(*take_lead("flows"))

    assert [steps()[run] for run in ids] == [2, 2, 0, 0, 0]
    assert step_jobs() == [f"flow-run-{run}" for run in ids[2:]]  # queued again
    assert mail_jobs() == [(m.id, DUE.isoformat()) for m in messages()]
    assert len(messages()) == 2


def test_the_wait_counts_from_the_oldest_email_not_handed_on(due, monkeypatch):
    ids = due(3)
    handed = handed_to_delivery(monkeypatch)
    elapsed, advance_one = [0.0], engine._advance_one

    def slow_step(*args) -> str:  # each step takes 0.6 s
        status = advance_one(*args)
        elapsed[0] += 0.6
        return status
    monkeypatch.setattr(engine, "_advance_one", slow_step)
    monkeypatch.setattr(engine, "monotonic", lambda: elapsed[0])

    engine.advance(*take_lead("flows"))

    by_run = {m.run_id: m.id for m in messages()}
    # The first waited 1.2 s once the second was stepped; the third goes as the batch ends.
    assert handed == [[by_run[ids[0]], by_run[ids[1]]], [by_run[ids[2]]]]


def test_the_batch_hands_its_emails_on_before_a_step_waits_for_the_platform(due, monkeypatch):
    ids = due(3)
    handed = handed_to_delivery(monkeypatch)
    monkeypatch.setattr(engine, "HAND_ON_AFTER", 60.0)
    advance_locked, asked = engine._advance_locked, []

    def asks_for_a_code(run_id, instant, answer=None):  # the second run's walk stops at a code
        status, request = advance_locked(run_id, instant, answer)
        return status, ({"code": "SAVE10"} if run_id == ids[1] and answer is None else request)
    monkeypatch.setattr(engine, "_advance_locked", asks_for_a_code)
    monkeypatch.setattr(engine, "_ask_for_code",
                        lambda run_id, request: asked.append([list(ids) for ids in handed]))

    engine.advance(*take_lead("flows"))

    by_run = {m.run_id: m.id for m in messages()}
    assert asked == [[[by_run[ids[0]], by_run[ids[1]]]]]  # both committed, handed on first
    assert handed[1:] == [[by_run[ids[2]]]]


def test_redis_refusing_the_emails_fails_no_step_and_the_sweep_queues_them(due, monkeypatch):
    ids = due(3)

    def refused(_message_ids):
        raise ConnectionError("redis went away")
    monkeypatch.setattr(port, "_bound", replace(port.bound(), deliver=refused))

    assert engine.advance(*take_lead("flows")) == "active"

    assert [steps()[run] for run in ids] == [2, 2, 2] and mail_jobs() == []
    monkeypatch.undo()
    with at(DUE + timedelta(minutes=1)):
        assert outbox.sweep_outbox() == 3
    assert sorted(args[0] for args in mail_jobs()) == sorted(m.id for m in messages())


def test_a_live_batch_hands_its_emails_on_as_of_when_they_run(due):
    ids = due(3)
    broker.queue("flows").empty()
    jobs.enqueue_many(engine.advance, [(run,) for run in ids])  # as RQ's scheduler queues them

    engine.advance(*take_lead("flows"))

    queued = sorted(messages(), key=lambda m: (ids.index(m.run_id), m.id))  # in stepping order
    assert {m.run_id for m in queued} == set(ids)
    assert mail_jobs() == [(m.id, None) for m in queued]  # no instant: as of when they run


def test_only_steps_as_of_the_same_instant_and_not_failing_are_taken(due, shop):
    lead, failing, plain = due(3)
    broker.connection.sadd(FAILING, f"flows.engine.advance:{failing}")
    later = DUE + timedelta(minutes=1)
    due_checkout_runs(shop.id, shop.domain, 1, DUE, first=10_000)
    assert engine.tick(later) == 1  # its job steps as of another instant
    [as_of_later] = [run.id for run in runs() if run.id not in (lead, failing, plain)]

    engine.advance(*take_lead("flows"))

    assert [steps()[run] for run in (lead, failing, plain, as_of_later)] == [2, 0, 2, 0]
    # Left to their own jobs: one runs as of its instant, one's success clears its failure.
    assert step_jobs() == [f"flow-run-{failing}", f"flow-run-{as_of_later}"]


def test_a_failure_mid_batch_fails_its_own_run_not_the_job_that_took_it(due, run_jobs, shop,
                                                                       monkeypatch):
    ids = due(5)
    advance_run = engine.advance_run

    def fails_for_the_third(ctx):
        if ctx.run.id == ids[2]:
            raise RuntimeError("the database went away")
        advance_run(ctx)
    monkeypatch.setattr(engine, "advance_run", fails_for_the_third)

    with at(DUE):
        run_jobs("flows", max_jobs=1)  # the lead, taking the four behind it

    assert [steps()[run] for run in ids] == [2, 2, 0, 0, 0]  # the third's step rolled back
    # The failing one and the rest go back as jobs of their own; the lead's run is stepped, its
    # job is not held, and no failure is kept under it.
    assert step_jobs() == [f"flow-run-{run}" for run in ids[2:]]
    # The two stepped runs' messages are committed: handed to delivery all the same.
    assert [args[0] for args in mail_jobs()] == [m.id for m in messages()]
    assert len(mail_jobs()) == 2
    lead = broker.connection.hget(Job.key_for(f"flow-run-{ids[0]}"), "status")
    assert lead not in engine.HELD_JOB_STATUSES
    assert failures() == []
    with at(DUE):
        run_jobs("flows", max_jobs=1)  # the failing one, in its own job
    assert failures() == [(f"flows.engine.advance:{ids[2]}", shop.id, True)]
    monkeypatch.undo()
    with at(datetime.now(timezone.utc) + timedelta(hours=1)):  # RQ's scheduler: wall-clock
        assert scheduler_hands_over("flows") == 1  # its retry
    with at(DUE):
        run_jobs("flows")
    assert [steps()[run] for run in ids] == [2] * 5 and failures() == []
    assert sorted(m.run_id for m in messages()) == ids  # one message per run: none stepped twice


def failures() -> list[tuple[str, int, bool]]:
    """Open job failures: which work, whose store, still retrying."""
    with db.session() as session:
        return [(row.job_key, row.store_id, row.retrying)
                for row in job_failures.open_failures(session)]


class Killed(BaseException):
    """The worker process dying where it stands: no handler of the job's runs."""


def test_a_worker_killed_mid_batch_loses_no_run_and_doubles_no_message(due, run_jobs,
                                                                       monkeypatch):
    ids = due(5)
    stopped_on_the_third(monkeypatch, Killed())

    with pytest.raises(Killed):
        engine.advance(*take_lead("flows"))

    assert [steps()[run] for run in ids] == [2, 2, 0, 0, 0]
    # The taken jobs died with the worker: only the database knows what is owed.
    assert step_jobs() == []
    monkeypatch.undo()
    assert engine.tick(DUE) == 3  # what the scheduler does on its own
    with at(DUE):
        run_jobs("flows")
    assert [steps()[run] for run in ids] == [2] * 5
    assert sorted(m.run_id for m in messages()) == ids  # one message per run: none stepped twice

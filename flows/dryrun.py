"""What a flow would have sent over a store's recent history, before the merchant switches it on:
"would have emailed 132 customers; 41 of them later bought anyway".

The dry run is the live engine on a simulated clock with a recording port. It replays the flow's
trigger over the stored history (the checkouts, orders, product views and consent changes of the
window, or the audience query day by day) and, for each trigger, runs the engine's own entry
rules and step walk (flows.execute) as of that moment, waking the run when the engine would have:
at its due time, or when a WaitUntil's condition came true in the history. A step type is written
once, for both.

Three things keep the replay apart from the store:
- its context's `horizon` hides the orders, completions and cancellations that came later, so
  each check sees the history as it stood at that moment;
- its port (`Recorder`) counts the emails instead of writing them to the outbox, answers code
  requests itself, and writes nothing back to the store or to Redis;
- each run is replayed in a savepoint that is rolled back (its run is never inserted), so a tag,
  a score, a timeline entry or a sunset it records is gone, and its locks with it, before the
  next run (`_undone`).

What it cannot know, it takes from today: consent, suppression and addresses are as they are
now; quiet hours, frequency caps and other flows are not simulated, and later activity does not
postpone a reminder. The report is an estimate of reach, not a replay of the outbox.
"""
from __future__ import annotations

import hashlib
import json
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable, Iterator

from rq.job import Job, JobStatus
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from app.core import clock, events
from app.core.db import db
from app.ingest import consent
from app.models import Checkout, ConsentChange, Customer, FlowRun, Order, ProductView, Store
from flows import choices, library, port
from flows.audiences import Found
from flows.context import RunContext
from flows.execute import (advance_run, ask_for_code, code_request, entry_refusal, held_out,
                           keep_answer)
from flows.rules import customer_orders
from flows.steps import AudienceTrigger, Flow, WaitUntil

WINDOW = timedelta(days=30)


@dataclass
class DryRun:
    flow: Flow
    since: datetime
    until: datetime
    triggers: int = 0  # times the trigger fired in the window
    enrolled: int = 0  # runs the entry rules let in
    emails: int = 0
    emailed: set[int] = field(default_factory=set)
    # Emailed customers who placed an order after their first email, within the window: sales
    # the flow would have been near, and that happened without it.
    bought_anyway: set[int] = field(default_factory=set)
    # Why a trigger enrolled no one, or a run stopped before an email (reason -> count).
    stopped: Counter = field(default_factory=Counter)

    def summary(self) -> dict:
        """The figures a merchant sees, as JSON (no customer ids: counts only)."""
        return {"flow": self.flow.name, "until": self.until.isoformat(),
                "triggers": self.triggers, "enrolled": self.enrolled, "emails": self.emails,
                "emailed": len(self.emailed), "bought_anyway": len(self.bought_anyway),
                "stopped": self.stopped.most_common()}


# --- the trigger's history -------------------------------------------------------------------

def _checkouts(session: Session, store: Store, since: datetime, until: datetime) -> Iterator[Found]:
    # A completed checkout was last touched by its completion: it was abandoned, if at all,
    # before that, so it replays from when it was started.
    when = case((Checkout.completed_at.is_(None), Checkout.source_updated_at),
                else_=func.coalesce(Checkout.source_created_at, Checkout.source_updated_at))
    rows = session.execute(select(Checkout.id, Checkout.customer_id, when.label("at"))
                           .where(Checkout.store_id == store.id, Checkout.customer_id.is_not(None),
                                  when.between(since, until)))
    for row in rows:
        yield Found(row.customer_id, "checkout", row.id, row.at, row.at)


def _orders(session: Session, store: Store, since: datetime, until: datetime) -> Iterator[Found]:
    rows = session.execute(select(Order.id, Order.customer_id, Order.placed_at)
                           .where(Order.store_id == store.id, Order.customer_id.is_not(None),
                                  Order.placed_at.between(since, until)))
    for row in rows:
        yield Found(row.customer_id, "order", row.id, row.placed_at, row.placed_at)


def _views(session: Session, store: Store, since: datetime, until: datetime) -> Iterator[Found]:
    rows = session.execute(select(ProductView.id, ProductView.customer_id, ProductView.viewed_at)
                           .where(ProductView.store_id == store.id,
                                  ProductView.customer_id.is_not(None),
                                  ProductView.viewed_at.between(since, until)))
    for row in rows:
        yield Found(row.customer_id, "product_view", row.id, row.viewed_at, row.viewed_at)


def _subscriptions(session: Session, store: Store, since: datetime, until: datetime) -> Iterator[Found]:
    rows = session.execute(select(ConsentChange.customer_id, ConsentChange.recorded_at)
                           .where(ConsentChange.store_id == store.id,
                                  ConsentChange.state.in_((consent.SUBSCRIBED, consent.PENDING)),
                                  ConsentChange.recorded_at.between(since, until)))
    for row in rows:
        yield Found(row.customer_id, "customer", row.customer_id, row.recorded_at, row.recorded_at)


def _cancellations(session: Session, store: Store, since: datetime,
                   until: datetime) -> Iterator[Found]:
    rows = session.execute(select(Order.id, Order.customer_id, Order.cancelled_at)
                           .where(Order.store_id == store.id, Order.customer_id.is_not(None),
                                  Order.cancelled_at.between(since, until)))
    for row in rows:
        yield Found(row.customer_id, "order", row.id, row.cancelled_at, row.cancelled_at)


def _new_customers(session: Session, store: Store, since: datetime,
                   until: datetime) -> Iterator[Found]:
    created = func.coalesce(Customer.source_created_at, Customer.created_at)
    rows = session.execute(select(Customer.id, created.label("at")).where(
        Customer.store_id == store.id, created.between(since, until)))
    for row in rows:
        yield Found(row.id, "customer", row.id, row.at, row.at)


# Where each trigger event's past occurrences are stored: the subject the engine would enroll.
HISTORY: dict[str, Callable[..., Iterator[Found]]] = {
    events.CHECKOUT_UPDATED: _checkouts,
    events.ORDER_PLACED: _orders,
    events.ORDER_CANCELLED: _cancellations,
    events.PRODUCT_VIEWED: _views,
    events.CONSENT_CHANGED: _subscriptions,
    events.CUSTOMER_CREATED: _new_customers,
}


def unavailable(flow: Flow) -> str | None:
    """Why the store's history cannot replay this flow's trigger (None: it can): Storeflow
    keeps no record of when an order was paid, fulfilled or delivered, or of a customer
    entering or leaving a segment before the flow existed."""
    if isinstance(flow.trigger, AudienceTrigger):
        return None
    missing = [name for name in flow.trigger.events if name not in HISTORY]
    if not missing:
        return None
    return (f"a dry run cannot replay {', '.join(missing)}: the store's history does not say "
            "when that happened")


def _audience_days(session: Session, store: Store, flow: Flow, settings: dict, since: datetime,
                   until: datetime) -> Iterator[Found]:
    """The audience query as the daily job would have run it on each day of the window."""
    day = since + timedelta(days=1)
    while day <= until:
        yield from flow.trigger.query(session, store, settings, day)
        day += timedelta(days=1)


def _history(session: Session, store: Store, flow: Flow, settings: dict, since: datetime,
             until: datetime) -> list[Found]:
    """Each subject the trigger would have enrolled once, oldest first."""
    if isinstance(flow.trigger, AudienceTrigger):
        found = _audience_days(session, store, flow, settings, since, until)
    else:
        found = (item for name in flow.trigger.events
                 for item in HISTORY[name](session, store, since, until))
    first: dict[tuple, Found] = {}
    for item in found:
        key = (item.customer_id, item.subject, item.subject_id)
        if key not in first or item.triggered_at < first[key].triggered_at:
            first[key] = item
    return sorted(first.values(), key=lambda item: item.triggered_at)


# --- the replay ------------------------------------------------------------------------------

class Recorder:
    """The dry run's port: what the engine would have sent out, counted and kept here."""

    def __init__(self) -> None:
        self.emails = 0
        self.port = port.Port(queue_message=self.queue_message, cancel_messages=_nothing,
                              deliver=_no_job, create_code=self.create_code,
                              tag_customer=_nothing, post_webhook=_nothing, enqueue=_no_job,
                              enqueue_many=_no_job, work_taken=_no_job,
                              queue=_no_job)

    def queue_message(self, _session: Session, **_message) -> int:
        self.emails += 1
        return self.emails  # an id for the timeline, never a row's

    @staticmethod
    def create_code(_store, _customer, *, code: str, **_terms) -> tuple[str, None]:
        return code, None  # the platform is not asked: the email would have carried a code


def _nothing(*_args) -> None:
    """Nothing written back, posted or cancelled: the replay queued nothing real."""


def _no_job(*_args) -> None:
    raise RuntimeError("a dry run queues no job")


def dry_run(session: Session, store: Store, flow: Flow, settings: dict,
            until: datetime, window: timedelta = WINDOW) -> DryRun:
    """Replay `window` of the store's history up to `until` through `flow` with `settings`."""
    report = DryRun(flow, until - window, until)
    recorder = Recorder()
    last_entry: dict[int, datetime] = {}
    for found in _history(session, store, flow, settings, report.since, until):
        report.triggers += 1
        run = FlowRun(store_id=store.id, flow=flow.name, version=flow.version,
                      customer_id=found.customer_id, subject=found.subject,
                      subject_id=found.subject_id, triggered_at=found.triggered_at,
                      anchor_at=found.anchor_at, settings=settings, data={}, step=0,
                      status="active", holdout=held_out(flow, settings, found.customer_id))
        # One context per run, moved through time: its customer and subject are read once.
        ctx = RunContext(session, store, run, found.triggered_at, horizon=found.triggered_at,
                         port=recorder.port)
        refusal = entry_refusal(ctx, flow, last_entry.get(found.customer_id))
        if refusal:
            report.stopped[refusal] += 1
            continue
        report.enrolled += 1
        last_entry[found.customer_id] = found.triggered_at
        with _undone(session):
            _play(ctx, flow, report, recorder)
    report.emails = recorder.emails
    return report


@contextmanager
def _undone(session: Session) -> Iterator[None]:
    """The block in a savepoint rolled back, then released. SQLAlchemy's rollback of a
    savepoint leaves it open (ROLLBACK TO keeps it), so each run's would nest in the one before
    and keep a transaction-id lock: a busy store's replay of a few thousand runs ran out of
    PostgreSQL's lock table ("out of shared memory")."""
    savepoint = session.begin_nested()
    name = session.connection().get_nested_transaction()._savepoint  # SQLAlchemy keeps it private
    try:
        yield
    finally:
        savepoint.rollback()
        session.connection().exec_driver_sql(f"RELEASE SAVEPOINT {name}")


def _at(ctx: RunContext, when: datetime) -> RunContext:
    ctx.now = ctx.horizon = when
    return ctx


def _play(ctx: RunContext, flow: Flow, report: DryRun, recorder: Recorder) -> None:
    """Advance one run with the engine's walk at each moment it would have woken, up to the
    end of the window, counting the emails it would have sent."""
    run = ctx.run
    moment, first_email = run.triggered_at, None
    while moment is not None and moment <= report.until:
        emails = recorder.emails
        advance_run(_at(ctx, moment))
        first_email = first_email or (moment if recorder.emails > emails else None)
        request = code_request(run)
        if request is not None:  # asked at once, as the step job asks the platform
            keep_answer(run, request["code"], ask_for_code(ctx.port, ctx.store, ctx.customer,
                                                           request))
        elif run.status == "active":
            moment = _woken(ctx, flow, moment, report.until)
        else:
            break
    if run.status == "exited":
        report.stopped[run.outcome] += 1
    if first_email is not None:
        report.emailed.add(run.customer_id)
        if _ordered_after(_at(ctx, report.until), first_email):
            report.bought_anyway.add(run.customer_id)


def _woken(ctx: RunContext, flow: Flow, moment: datetime, until: datetime) -> datetime | None:
    """When the engine would next have moved the waiting run: when the condition it waits for
    came true (the event that would have woken it), else its due time (None: never)."""
    run = ctx.run
    step = flow.planned[run.step].step
    if isinstance(step, WaitUntil):
        came = _came_true(lambda when: _at(ctx, when), step.condition, moment,
                          min(run.due_at or until, until))
        if came is not None:
            return came
    return run.due_at


def _came_true(at: Callable[[datetime], RunContext], condition, start: datetime,
               end: datetime) -> datetime | None:
    """When `condition` came true between `start` and `end`, to the minute; None if it had not
    by `end`. Conditions read stamped history through the horizon, so once true they stay true:
    halving the interval finds the moment (a shipment's, a delivery's)."""
    if end <= start or not condition(at(end)):
        return None
    while end - start > timedelta(minutes=1):
        middle = start + (end - start) / 2
        if condition(at(middle)):
            end = middle
        else:
            start = middle
    return end


def _ordered_after(ctx: RunContext, moment: datetime) -> bool:
    """An order of the run's customer after `moment`, up to the context's horizon."""
    later = customer_orders(ctx).where(Order.placed_at > moment)
    if ctx.run.subject == "order":
        later = later.where(Order.id != ctx.run.subject_id)
    return ctx.session.execute(later.limit(1)).first() is not None


# --- in the background -----------------------------------------------------------------------
# A busy store's month can take a worker a minute or more to replay, so the settings UI asks
# for it and shows the answer once it is there; kept an hour per store, flow and settings. It
# waits on the "sync" queue, the last a worker serves, behind everything a customer waits for.

SUMMARY_TTL = timedelta(hours=1)


@dataclass(frozen=True)
class Pending:
    failed: bool  # the last replay did not finish (timed out, or its worker stopped)


def _job_id(store_id: int, flow: Flow, settings: dict) -> str:
    """One job per store, flow and the settings that change what is sent (not email texts)."""
    timing = {name: value for name, value in settings.items()
              if not choices.is_text_setting(flow, name)}
    digest = hashlib.sha256(json.dumps(timing, sort_keys=True, default=str).encode()).hexdigest()
    return f"dry-run-{store_id}-{flow.name}-{digest[:16]}"


def summary_or_start(store_id: int, flow: Flow, settings: dict, *,
                     retry: bool = False) -> dict | Pending:
    """The summary of this flow's dry run with these settings, or Pending while a worker makes
    it. A replay that failed stays failed (shown as such) until `retry` queues it again."""
    job_id = _job_id(store_id, flow, settings)
    queue = port.bound().queue("sync")  # its connection keeps the summaries too
    cached = queue.connection.get(f"storeflow:{job_id}")
    if cached is not None:
        return json.loads(cached)
    job = Job.fetch(job_id, connection=queue.connection) if Job.exists(
        job_id, connection=queue.connection) else None
    failed = job is not None and job.get_status() in (JobStatus.FAILED, JobStatus.STOPPED)
    if job is None or (failed and retry):
        if job is not None:
            job.delete()  # the failed replay, out of the failed jobs' list
        port.bound().enqueue(summarize, store_id, flow.name, settings, job_id=job_id)
        return Pending(failed=False)
    return Pending(failed=failed)


def summarize(store_id: int, flow_name: str, settings: dict) -> None:
    """The job: replay the last 30 days up to now and keep the summary for the UI."""
    with db.session() as session:
        flow = library.find(session, store_id, flow_name)
        report = dry_run(session, session.get(Store, store_id), flow, settings, clock.now())
    port.bound().queue("sync").connection.set(
        f"storeflow:{_job_id(store_id, flow, settings)}", json.dumps(report.summary()),
        ex=int(SUMMARY_TTL.total_seconds()))

"""The flow engine: enrolls customers when domain events happen, moves runs when they fall due,
and re-checks them whenever something happens to their customer. The only writer of FlowRun.

Time lives in the database (`flow_runs.due_at`); Redis only carries the step jobs. The tick finds
what is due with FOR UPDATE SKIP LOCKED, so two ticks never queue the same run, and a flushed
Redis loses nothing: the next tick finds the same rows.

Jobs, messages, codes and tags leave through the port app binds at start-up (flows.port); no
platform is called while a run's row is locked (see `advance`).
"""
from __future__ import annotations

import logging
from contextlib import nullcontext
from contextvars import ContextVar
from datetime import datetime, timedelta
from time import monotonic
from typing import Any, Mapping

from rq import Queue
from rq.job import Job
from sqlalchemy import Label, bindparam, event as orm_event, func, select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app.core import clock, durability, events, memo
from app.core.db import db, execute_core
from app.ingest import identity
from app.models import (Checkout, Customer, FlowRun, Fulfillment, Message, Order, ProductView,
                        Segment, Store)
from flows import built, catalog, choices, context, library, port, rules
from flows.context import RunContext
from flows.execute import (advance_run, ask_for_code, code_request, end, entry_refusal,
                           exit_reason, held_out, keep_answer)
from flows.steps import AudienceTrigger, EventTrigger, Flow, WaitUntil
from flows.timeline import entered, record, subject_label, write_with_run

log = logging.getLogger(__name__)

# How often the scheduler ticks: the longest a step waits when Redis lost its job.
TICK_INTERVAL = timedelta(seconds=30)
# Runs a tick claims and queues per transaction (it walks the whole backlog, a batch at a time).
TICK_BATCH = 5000
# Runs one step job steps: its own, then those whose jobs of the same instant wait behind it
# (app.jobs.batch), each in its own transaction. RQ's own work per job is about 8 M instructions,
# near a step's own: shared by 25 steps it adds 4 % to each, by 10 it added 8 % (bench/RESULTS.md).
# Its emails wait for the batch at most HAND_ON_AFTER.
STEP_BATCH = 25
# RQ job states that keep a run from being queued again although no queue list holds its job:
# running, scheduled or deferred (it will run), or failed (it is queued again once RQ forgets
# the failure, an hour on, rather than every tick).
HELD_JOB_STATUSES = frozenset({b"started", b"scheduled", b"deferred", b"failed"})


# --- events --------------------------------------------------------------------------------

def _who_and_when(session: Session,
                  event: events.DomainEvent) -> tuple[int | None, datetime, object | None]:
    """The customer an event concerns, when its activity happened, and the row it is about
    (None for a customer: rules read them as the run's customer)."""
    if event.subject == "checkout":
        row = session.get(Checkout, event.subject_id)
        customer = row.customer_id or (row.email and identity.resolve(
            session, event.store_id, email=row.email))
        if customer and not row.customer_id:
            row.customer_id = customer
        return customer or None, row.source_updated_at, row
    if event.subject == "order":
        row = session.get(Order, event.subject_id)
        customer = row.customer_id or (row.email and identity.resolve(
            session, event.store_id, email=row.email))
        when = row.placed_at if event.name == events.ORDER_PLACED else event.occurred_at
        return customer or None, when, row
    if event.subject == "fulfillment":  # a shipment speaks for its order, once it has one
        row = session.get(Fulfillment, event.subject_id)
        order = session.get(Order, row.order_id) if row.order_id else None
        return (order.customer_id if order else None), event.occurred_at, row
    if event.subject == "product_view":
        row = session.get(ProductView, event.subject_id)
        return row.customer_id, row.viewed_at, row
    if event.subject == "customer":
        return event.subject_id, event.occurred_at, None
    return None, event.occurred_at, None


def on_event(session: Session, event: events.DomainEvent) -> None:
    """Enroll in flows this event triggers, then re-check the customer's runs now."""
    store = memo.remembered(session, ("store", event.store_id),
                            lambda: session.get(Store, event.store_id))
    if store is None or not store.installed:
        return
    # The subject's row is held for the call: the session keeps a row only while something
    # refers to it, and enrolling and re-checking read it again (a query each time otherwise).
    customer_id, when, _held = _who_and_when(session, event)
    if customer_id is None:
        return
    now = clock.now()
    for flow in library.flows_for(session, store.id):
        if _triggers(session, flow, event):
            enroll(session, store, flow, customer_id, event.subject, event.subject_id, when, now)
    _touch(session, store, customer_id, event, when, now)


def _triggers(session: Session, flow: Flow, event: events.DomainEvent) -> bool:
    """Whether the event starts this flow: one of its events, and for a segment trigger the
    segment it names (by name: a segment made after the flow, or renamed to it, counts)."""
    trigger = flow.trigger
    if not isinstance(trigger, EventTrigger) or event.name not in trigger.events:
        return False
    if trigger.tag is not None:
        return event.label == trigger.tag
    if trigger.segment is None:
        return True
    return event.related_id is not None and session.execute(select(Segment.id).where(
        Segment.store_id == event.store_id, Segment.name == trigger.segment,
        Segment.id == event.related_id)).first() is not None


def _touch(session: Session, store: Store, customer_id: int, event: events.DomainEvent,
           when: datetime, now: datetime) -> None:
    """Active runs of this customer: new activity moves their anchor, and each is advanced now,
    which re-checks its exit rules and wakes a WaitUntil whose condition came true."""
    runs = session.execute(_ACTIVE_RUNS, {"store_id": store.id, "customer_id": customer_id}
                           ).scalars().all()
    for run in runs:
        flow = library.definition(session, run)
        same_subject = (run.subject, run.subject_id) == (event.subject, event.subject_id)
        if event.name in flow.activity and (same_subject or flow.activity_by_customer):
            run.anchor_at = max(run.anchor_at, when)
        ctx = RunContext(session, store, run, now)
        if _ready(run, flow, now):
            _advance(ctx)  # its walk checks the exit rules first: once, not here and there
        else:
            reason = exit_reason(ctx, flow)
            if reason:
                end(ctx, "exited", reason)


# Built once, as the other statements every delivery runs: building them cost more than running
# them (bench/ingest_profile.py).
_ACTIVE_RUNS = (select(FlowRun).where(FlowRun.store_id == bindparam("store_id"),
                                      FlowRun.customer_id == bindparam("customer_id"),
                                      FlowRun.status == "active")
                .order_by(FlowRun.id).with_for_update())


def _ready(run: FlowRun, flow: Flow, now: datetime) -> bool:
    """Due now, or waiting for a condition this event may have made true. (A run deferred to
    later is left alone: advancing it would only defer it again.)"""
    waiting_for_condition = (run.step < len(flow.planned)
                             and isinstance(flow.planned[run.step].step, WaitUntil))
    return waiting_for_condition or run.due_at is None or run.due_at <= now


def _advance(ctx: RunContext) -> None:
    advance_run(ctx)
    write_with_run(ctx.session, ctx.run)
    _deliver_after_commit(ctx.session, ctx.queued)


def _deliver_after_commit(session: Session, message_ids: list[int]) -> None:
    """Queue delivery once the rows are committed, so a worker never looks for a missing row;
    in a step batch, with the batch's others (`_Deliveries`). Should Redis be down then, the
    outbox sweep finds them."""
    if not message_ids:
        return
    batch = _batch_deliveries.get()

    def enqueue(_session) -> None:
        if batch is not None:
            batch.add(message_ids)
        else:
            port.bound().deliver(message_ids)
    orm_event.listen(session, "after_commit", enqueue, once=True)


# How long a step's email may wait for the rest of its batch before it is handed to delivery.
HAND_ON_AFTER = 1.0


class _Deliveries:
    """The messages a step batch's steps committed, handed to delivery together, as of the
    batch's instant: one round trip to Redis instead of one a step (RQ's enqueue of one job cost
    a step a tenth of its instructions, bench/RESULTS.md). Handed on after a step once the
    oldest has waited HAND_ON_AFTER seconds, before a step asks the platform for a discount
    code (seconds, throttled), and however the batch ends: they are committed. Should Redis
    refuse them, the outbox's sweep queues them (a job's own error stays the one it reports)."""

    def __init__(self, at: str | None) -> None:
        self.at = at
        self.committed: list[int] = []
        self.since = 0.0

    def add(self, message_ids: list[int]) -> None:
        if not self.committed:
            self.since = monotonic()
        self.committed.extend(message_ids)

    def hand_on(self, waited: float = 0.0) -> None:
        if not self.committed or monotonic() - self.since < waited:
            return
        try:
            with clock.frozen_at(datetime.fromisoformat(self.at)) if self.at else nullcontext():
                port.bound().deliver(self.committed)
        except Exception as error:  # noqa: BLE001 - the sweep's to queue; the step went well
            log.warning("%d committed message(s) left to the outbox's sweep (%s)",
                        len(self.committed), type(error).__name__)
        self.committed = []


# The batch whose step is running; None outside a step job.
_batch_deliveries: ContextVar[_Deliveries | None] = ContextVar("batch_deliveries", default=None)


# --- enrollment ----------------------------------------------------------------------------

def runnable_settings(session: Session, store: Store, flow: Flow) -> dict | None:
    """The flow's settings for this store if it is on and can run on them; None if not. A
    flow that cannot (a value stored before a rule existed, a marketing flow without the
    store's postal address) is skipped here, said once per trigger in the log, and shown to
    the merchant on the flows page; it never reaches a step that would fail on it."""
    enabled, settings = choices.effective(session, store.id, flow)
    if not enabled:
        return None
    reason = choices.skip_reason(store, flow, settings)
    if reason:
        log.warning("flow %s skipped: %s", flow.name, reason, extra={"store_id": store.id})
        return None
    return settings


# Built once: whether the customer has a run of the flow for this subject, and when they last
# entered the flow at all, in one read of the runs' unique index (every enrollment asks both).
_ENTERED = select(
    func.count().filter(FlowRun.subject == bindparam("subject"),
                        FlowRun.subject_id == bindparam("subject_id")),
    func.max(FlowRun.started_at),
).where(FlowRun.store_id == bindparam("store_id"), FlowRun.flow == bindparam("flow"),
        FlowRun.customer_id == bindparam("customer_id"))


_RUNS = FlowRun.__table__
# Built once: a run's INSERT (a parameter `:v_<column>` a column) with its timeline entry, the
# row locked by it until the transaction ends.
_ENROLL = entered(insert(_RUNS).values(
    **{name: bindparam(f"v_{name}", type_=_RUNS.c[name].type)
       for name in ("store_id", "flow", "version", "customer_id", "subject", "subject_id",
                    "triggered_at", "anchor_at", "settings", "holdout")},
    **{name: bindparam("v_now", type_=_RUNS.c[name].type)
       for name in ("due_at", "started_at", "updated_at")},
    status="active", step=0, data={},
).on_conflict_do_nothing(
    index_elements=["store_id", "flow", "customer_id", "subject", "subject_id"],
))


def enroll(session: Session, store: Store, flow: Flow, customer_id: int, subject: str,
           subject_id: int, triggered_at: datetime, now: datetime,
           anchor_at: datetime | None = None) -> int | None:
    """Start a run for (flow, customer, subject) unless one exists or an entry rule refuses:
    its id, or None. Delays count from `anchor_at` (default: when the trigger happened)."""
    anchor_at = anchor_at or triggered_at
    settings = runnable_settings(session, store, flow)
    if settings is None:
        return None
    exists, last_entered = execute_core(session, _ENTERED, {
        "store_id": store.id, "flow": flow.name, "customer_id": customer_id, "subject": subject,
        "subject_id": subject_id}).one()
    if exists:
        return None
    candidate = FlowRun(store_id=store.id, flow=flow.name, version=flow.version,
                        customer_id=customer_id, subject=subject, subject_id=subject_id,
                        triggered_at=triggered_at, anchor_at=anchor_at, settings=settings,
                        data={}, holdout=held_out(flow, settings, customer_id))
    refusal = entry_refusal(RunContext(session, store, candidate, now), flow, last_entered)
    if refusal:
        record(session, candidate, "not_enrolled", now, detail=refusal)
        return None
    # The row is locked by its INSERT until this transaction ends. No id: a concurrent
    # delivery enrolled it first.
    return execute_core(session, _ENROLL, {
        **{f"v_{name}": value for name, value in {
            "store_id": store.id, "flow": flow.name, "version": flow.version,
            "customer_id": customer_id, "subject": subject, "subject_id": subject_id,
            "triggered_at": triggered_at, "anchor_at": anchor_at, "now": now,
            "settings": settings, "holdout": candidate.holdout}.items()},
        "entry_detail": subject_label(session, store.id, subject, subject_id),
        "entry_at": now}).scalar_one_or_none()


def enroll_audiences(at: datetime | None = None) -> int:
    """Run every enabled audience flow's daily query (win-back, birthday) and enroll who it finds."""
    at = at or clock.now()
    enrolled = 0
    with clock.frozen_at(at), db.session() as session:
        stores = session.execute(select(Store).where(Store.uninstalled_at.is_(None))).scalars().all()
        for store in stores:
            for flow in library.flows_for(session, store.id):
                if not isinstance(flow.trigger, AudienceTrigger):
                    continue
                settings = runnable_settings(session, store, flow)
                if settings is None:
                    continue
                for found in flow.trigger.query(session, store, settings, at):
                    run_id = enroll(session, store, flow, found.customer_id, found.subject,
                                    found.subject_id, found.triggered_at, at, found.anchor_at)
                    enrolled += run_id is not None
    return enrolled


# --- time ----------------------------------------------------------------------------------

def tick(at: datetime | None = None, batch: int = TICK_BATCH,
         lookahead: timedelta = timedelta(0)) -> int:
    """Queue a step job for every active run due at `at`; the instant travels with the job.

    The due runs are walked in keyset order (due_at, id), `batch` at a time, each batch claimed,
    queued and committed in a transaction of its own: a backlog of any size is started by one
    tick, holding one batch in memory and under lock at a time. A run another tick holds is
    skipped (SKIP LOCKED), and one whose job Redis still holds is not queued again.

    With a `lookahead` (the scheduler's live tick passes its interval), runs falling due before
    the next tick are handed to RQ's scheduler for their exact moment, so a step starts within
    about a second of its due time instead of up to a tick interval late. Those jobs carry no
    instant: they run as of the moment they run.
    """
    at = at or clock.now()
    queued, after = 0, None
    while True:
        after, fresh = _queue_batch(at, at + lookahead, batch, after)
        queued += fresh
        if after is None:
            return queued


def _queue_batch(at: datetime, horizon: datetime, batch: int,
                 after: tuple[datetime, int] | None) -> tuple[tuple[datetime, int] | None, int]:
    """Claim the next `batch` active runs due by `horizon` after the key `after`, and queue those
    whose job Redis does not hold: (the key to go on from, None once the backlog is walked;
    how many were queued)."""
    flows = port.bound()
    queue = flows.queue("flows")
    query = select(FlowRun.id, FlowRun.due_at).where(FlowRun.status == "active",
                                                     FlowRun.due_at <= horizon)
    if after is not None:
        query = query.where(tuple_(FlowRun.due_at, FlowRun.id) > tuple_(*after))
    with db.session() as session:
        due = session.execute(query.order_by(FlowRun.due_at, FlowRun.id).limit(batch)
                              .with_for_update(skip_locked=True)).all()
        waiting = _jobs_waiting(queue, [f"flow-run-{row.id}" for row in due])
        fresh = [row for row in due if f"flow-run-{row.id}" not in waiting]
        now_due = [(row.id, at.isoformat()) for row in fresh if row.due_at <= at]
        flows.enqueue_many(advance, now_due)
        for row in fresh:
            if row.due_at > at:
                flows.enqueue(advance, row.id, at=_whole_second_after(row.due_at))
    if fresh:
        log.info("tick queued %d due run(s), scheduled %d", len(now_due), len(fresh) - len(now_due))
    # A short batch is the backlog's end (locked rows are skipped before the limit counts).
    return ((due[-1].due_at, due[-1].id) if len(due) == batch else None), len(fresh)


def live_tick() -> int:
    """The scheduler's periodic tick: now, looking one interval ahead."""
    return tick(lookahead=TICK_INTERVAL)


def _whole_second_after(moment: datetime) -> datetime:
    """RQ's scheduler keeps whole seconds (it drops the fraction): rounded down, a step would
    start a moment before it is due, find nothing to do, and wait for the next tick."""
    whole = moment.replace(microsecond=0)
    return whole if whole == moment else whole + timedelta(seconds=1)


def _jobs_waiting(queue: Queue, job_ids: list[str]) -> set[str]:
    """Which of these step jobs Redis still holds for their run: on the queue, or in one of
    HELD_JOB_STATUSES. A job's key alone does not say so: a worker stopped between taking a job
    off the queue and starting it leaves a "queued" job that no queue holds and nobody will run."""
    pipe = queue.connection.pipeline(transaction=False)
    for job_id in job_ids:
        pipe.hget(Job.key_for(job_id), "status")
    statuses = dict(zip(job_ids, pipe.execute()))
    on_queue = (set(queue.get_job_ids())
                if b"queued" in statuses.values() else set())
    return {job_id for job_id, status in statuses.items()
            if status in HELD_JOB_STATUSES or (status == b"queued" and job_id in on_queue)}


def advance(run_id: int, at: str | None = None) -> str:
    """The step job: run what is due of one run, as of `at` (default now); then the same for up
    to STEP_BATCH - 1 runs whose step jobs of the same `at` wait behind it; the messages they
    queue are handed to delivery together (`_Deliveries`). Returns its own run's status.

    Each run is stepped in a transaction of its own, under its row's lock: a worker killed in
    the middle leaves every run either stepped or still due (the next tick queues it again,
    since a taken job's key is gone), and a run stepped twice finds nothing due the second
    time."""
    batch = _Deliveries(at)
    token = _batch_deliveries.set(batch)

    def step(run: int, as_of: str | None = None) -> str:
        status = _advance_one(run, as_of)
        batch.hand_on(waited=HAND_ON_AFTER)
        return status
    try:
        status = step(run_id, at)
        port.bound().work_taken(advance, () if at is None else (at,), STEP_BATCH - 1, step)
    finally:
        _batch_deliveries.reset(token)
        batch.hand_on()
    return status


def _advance_one(run_id: int, at: str | None = None) -> str:
    """Run what is due of one run, as of `at` (default now). A Discount step stops the walk
    with a code request; the platform is asked here, with the run unlocked and no transaction
    open, and the walk goes on with its answer."""
    instant = datetime.fromisoformat(at) if at else clock.now()
    with clock.frozen_at(instant):
        status, request = _advance_locked(run_id, instant)
        while request is not None:
            _hand_on_before_waiting()
            refused = _ask_for_code(run_id, request)
            status, request = _advance_locked(run_id, instant, (request["code"], refused))
        return status


def _hand_on_before_waiting() -> None:
    """The batch's messages go now: the platform may take seconds to answer (and longer when
    it throttles)."""
    batch = _batch_deliveries.get()
    if batch is not None:
        batch.hand_on()


# What a step reads with its run's context: the exit rules' own reads, and the setting that lets
# its commit not wait for the disk.
_STEP_READS = (*rules.CONTEXT_READS, durability.LAZY_COMMIT)


def _advance_locked(run_id: int, instant: datetime,
                    answer: tuple[str, str | None] | None = None) -> tuple[str, dict | None]:
    """Walk the run under its row lock, with the platform's answer to its code request if
    there is one: (the run's status, the code request it now waits on)."""
    with db.session() as session:
        # A step's effects derive from its run: its commit need not wait for the disk
        # (app.core.durability).
        ctx = context.load(session, run_id, instant, also=_STEP_READS)
        run = ctx.run if ctx else None
        if run is None or run.status != "active" or run.due_at is None or run.due_at > instant:
            return (run.status if run else "missing"), None
        if answer is not None:
            keep_answer(run, *answer)
        _advance(ctx)
        request = code_request(run) if run.status == "active" else None
        if request is not None:  # the platform is asked for it as this commits
            durability.durable(session)
        return run.status, request


def _ask_for_code(run_id: int, request: dict) -> str | None:
    """The platform's answer to a run's code request (None: made); the request's code was
    stored before, so a retried job asks for the same code and the platform makes it once."""
    with db.session() as session:
        run = session.get(FlowRun, run_id)
        store = session.get(Store, run.store_id)
        customer = session.get(Customer, run.customer_id)
    return ask_for_code(port.bound(), store, customer, request)


# --- the last check before a message leaves -------------------------------------------------

RUN_CONTEXT = "run_context"  # where `read_with_run` puts the run's context for the guard below


def read_with_run(session: Session, message: Message, reads: tuple[Label, ...],
                  params: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The outbox's reader for a flow's message (registered by app.wiring): the send guards'
    `reads` and its run's context in one statement, the context under RUN_CONTEXT; None for a
    message of no run (or of an erased one)."""
    if message.run_id is None:
        return None
    ctx = _run_context(session, message, reads, params)
    return None if ctx is None else {**ctx.also, RUN_CONTEXT: ctx}


def _run_context(session: Session, message: Message, reads: tuple[Label, ...] = (),
                 params: Mapping[str, Any] | None = None) -> RunContext | None:
    # Read, not locked: the run's own next step or event records the exit; locking it here
    # (message, then run) would invert the engine's order (run, then its messages).
    # The store is the one the outbox's claim read (the session's, no query); so is the kind
    # of the run's subject (RUN_SUBJECT), when the outbox read it.
    return context.load(session, message.run_id, clock.now(), lock=False,
                        store_id=message.store_id, also=reads + rules.CONTEXT_READS,
                        also_params=params, store=session.get(Store, message.store_id),
                        subject=(params or {}).get(RUN_SUBJECT.key))


# What the outbox reads with a flow message's claim for `read_with_run` (app.wiring registers
# it): the kind of its run's subject, so the run's context loads that kind's row alone.
RUN_SUBJECT = (select(FlowRun.subject)
               .where(FlowRun.id == Message.run_id, FlowRun.store_id == Message.store_id)
               .scalar_subquery().label("run_subject"))


def run_still_wanted(session: Session, message: Message, read: Mapping[str, Any]) -> str | None:
    """The outbox's send guard (registered by app.wiring): re-check the run's exit rules when
    its message is about to be sent, under the message's lock: an order stored before this
    point cancels the send. The run's context is the one `read_with_run` read, else read now."""
    if message.run_id is None:
        return None
    ctx = read[RUN_CONTEXT] if RUN_CONTEXT in read else _run_context(session, message)
    if ctx is None:  # not a flow's message (a test send); an erased run's address is suppressed
        return None
    if ctx.run.status == "exited":
        return f"flow exited: {ctx.run.outcome}"
    return exit_reason(ctx, library.definition(session, ctx.run))


def listen() -> None:
    """Subscribe the engine to every event a flow reacts to (called by app.wiring)."""
    names = {name for flow in catalog.FLOWS.values()
             for name in (*getattr(flow.trigger, "events", ()), *flow.activity)}
    names |= {event for event, _ in built.TRIGGERS.values()}  # what a built flow may start on
    # Anything that can end a run or wake a WaitUntil re-checks the customer's runs.
    names |= {events.ORDER_PLACED, events.ORDER_PAID, events.ORDER_FULFILLED,
              events.ORDER_DELIVERED, events.ORDER_CANCELLED, events.SHIPMENT_UPDATED,
              events.CHECKOUT_COMPLETED, events.CONSENT_CHANGED, events.CHECKOUT_UPDATED}
    events.listen(*names)(on_event)

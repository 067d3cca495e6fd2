"""What a flow would have sent over a store's recent history, before the merchant switches it on:
"would have emailed 132 customers; 41 of them later bought anyway".

The dry run replays the flow's trigger over the stored history (the checkouts, orders, product
views and consent changes of the window, or the audience query day by day), applies its entry
rules at the moment of each trigger, and walks its steps in simulated time. Each send is checked
against the flow's exit rules as of that moment: the context's horizon hides the orders,
completions and cancellations that came later. Nothing is written and nothing is sent.

What it cannot know, it takes from today: consent, suppression and addresses are as they are
now; quiet hours, frequency caps and other flows are not simulated, and later activity does not
postpone a reminder. The report is an estimate of reach, not a replay of the outbox.
"""
from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable, Iterator

from rq.job import Job, JobStatus
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from app import clock, consent, events
from app.db import db
from app.jobs import broker
from app.models import Checkout, ConsentChange, FlowRun, Order, ProductView, Store
from flows import catalog, config
from flows.audiences import Found
from flows.context import RunContext
from flows.execute import own_exit_reason
from flows.rules import customer_orders, marketing_consent
from flows.steps import AudienceTrigger, Flow, Send, Wait, WaitUntil

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


# Where each trigger event's past occurrences are stored: the subject the engine would enroll.
HISTORY: dict[str, Callable[..., Iterator[Found]]] = {
    events.CHECKOUT_UPDATED: _checkouts,
    events.ORDER_PLACED: _orders,
    events.PRODUCT_VIEWED: _views,
    events.CONSENT_CHANGED: _subscriptions,
}


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

def dry_run(session: Session, store: Store, flow: Flow, settings: dict,
            until: datetime, window: timedelta = WINDOW) -> DryRun:
    """Replay `window` of the store's history up to `until` through `flow` with `settings`."""
    report = DryRun(flow, until - window, until)
    last_entry: dict[int, datetime] = {}
    for found in _history(session, store, flow, settings, report.since, until):
        report.triggers += 1
        run = FlowRun(store_id=store.id, flow=flow.name, version=flow.version,
                      customer_id=found.customer_id, subject=found.subject,
                      subject_id=found.subject_id, triggered_at=found.triggered_at,
                      anchor_at=found.anchor_at, settings=settings, data={}, step=0)
        # One context per run, moved through time: its customer and subject are read once.
        ctx = RunContext(session, store, run, found.triggered_at, horizon=found.triggered_at)
        refusal = _entry_refusal(ctx, flow, settings, last_entry.get(found.customer_id))
        if refusal:
            report.stopped[refusal] += 1
            continue
        report.enrolled += 1
        last_entry[found.customer_id] = found.triggered_at
        _walk(ctx, flow, report)
    return report


def _entry_refusal(ctx: RunContext, flow: Flow, settings: dict,
                   entered_before: datetime | None) -> str | None:
    if flow.reentry_days and entered_before and ctx.now - entered_before < timedelta(
            days=settings[flow.reentry_days]):
        return "already in this flow recently"
    return next(filter(None, (rule(ctx) for rule in flow.entry)), None)


def _walk(ctx: RunContext, flow: Flow, report: DryRun) -> None:
    """Step through one run in simulated time, counting the emails it would have sent."""
    run = ctx.run
    moment, first_email = run.triggered_at, None

    def at(when: datetime) -> RunContext:
        ctx.now = ctx.horizon = when
        return ctx

    for planned in flow.planned:
        step = planned.step
        if isinstance(step, Wait):
            moment = max(moment, step.until(run.anchor_at, run.settings))
        elif isinstance(step, WaitUntil):
            deadline = step.deadline(run.anchor_at, run.settings)
            came = _came_true(at, step.condition, moment, min(deadline or report.until,
                                                                  report.until))
            if came is not None:
                moment = run.anchor_at = came  # as the engine does when the condition comes true
            elif deadline is None or deadline > report.until or step.on_timeout == "exit":
                break  # still waiting at the end of the window, or given up
            else:
                moment = max(moment, deadline)
        if moment > report.until:
            break  # still in the future
        at(moment)
        if planned.condition is not None and not planned.condition(ctx):
            continue
        if isinstance(step, Send):
            reason = _send_refusal(ctx, flow, step)
            if reason:
                report.stopped[reason] += 1
                break
            report.emails += 1
            first_email = first_email or moment
    if first_email is not None:
        report.emailed.add(run.customer_id)
        if _ordered_after(at(report.until), first_email):
            report.bought_anyway.add(run.customer_id)


def _came_true(at: Callable[[datetime], RunContext], condition, start: datetime,
               end: datetime) -> datetime | None:
    """When `condition` came true between `start` and `end`, to the minute; None if it had not
    by `end`. Conditions read stamped history through the horizon, so once true they stay true:
    halving the interval finds the moment (a shipment's, a delivery's)."""
    if condition(at(start)):
        return start
    if end <= start or not condition(at(end)):
        return None
    while end - start > timedelta(minutes=1):
        middle = start + (end - start) / 2
        if condition(at(middle)):
            end = middle
        else:
            start = middle
    return end


def _send_refusal(ctx: RunContext, flow: Flow, step: Send) -> str | None:
    marketing = flow.marketing if step.marketing is None else step.marketing
    refusal = marketing_consent(ctx) if marketing else None
    return refusal or own_exit_reason(ctx, flow)


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
JOB_TIMEOUT = timedelta(minutes=20)


@dataclass(frozen=True)
class Pending:
    failed: bool  # the last replay did not finish (timed out, or its worker stopped)


def _job_id(store_id: int, flow: Flow, settings: dict) -> str:
    """One job per store, flow and the settings that change what is sent (not email texts)."""
    timing = {name: value for name, value in settings.items()
              if not config.is_text_setting(flow, name)}
    digest = hashlib.sha256(json.dumps(timing, sort_keys=True, default=str).encode()).hexdigest()
    return f"dry-run-{store_id}-{flow.name}-{digest[:16]}"


def summary_or_start(store_id: int, flow: Flow, settings: dict, *,
                     retry: bool = False) -> dict | Pending:
    """The summary of this flow's dry run with these settings, or Pending while a worker makes
    it. A replay that failed stays failed (shown as such) until `retry` queues it again."""
    job_id = _job_id(store_id, flow, settings)
    cached = broker.connection.get(f"storeflow:{job_id}")
    if cached is not None:
        return json.loads(cached)
    job = Job.fetch(job_id, connection=broker.connection) if Job.exists(
        job_id, connection=broker.connection) else None
    failed = job is not None and job.get_status() in (JobStatus.FAILED, JobStatus.STOPPED)
    if job is None or (failed and retry):
        if job is not None:
            job.delete()  # the failed replay, out of the failed jobs' list
        broker.queue("sync").enqueue(summarize, store_id, flow.name, settings, job_id=job_id,
                                     job_timeout=int(JOB_TIMEOUT.total_seconds()),
                                     result_ttl=0, failure_ttl=3600)
        return Pending(failed=False)
    return Pending(failed=failed)


def summarize(store_id: int, flow_name: str, settings: dict) -> None:
    """The job: replay the last 30 days up to now and keep the summary for the UI."""
    flow = catalog.FLOWS[flow_name]
    with db.session() as session:
        report = dry_run(session, session.get(Store, store_id), flow, settings, clock.now())
    broker.connection.set(f"storeflow:{_job_id(store_id, flow, settings)}", json.dumps(report.summary()),
                          ex=int(SUMMARY_TTL.total_seconds()))

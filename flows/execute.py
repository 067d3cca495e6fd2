"""Walking a run through its steps until it must wait, is deferred, or ends; and the rules that
let a run start or make it stop.

`advance_run` is the one place a run moves; it is called with the run's row locked, by the
step job and by events about the run's customer, and by the dry run (flows.dryrun) on a replayed
run of its own. Every stop and every decision is written to the timeline. What leaves the engine
(messages, codes, tags, webhooks) goes through the context's port (flows.port); the steps that
act on the world beyond the run are flows.actions.

A Discount step never calls the platform itself: the walk stops at it with a code request in the
run's data, chosen under the lock so that a retried job asks for the same code; the engine asks
the platform outside the lock and keeps the answer for the step (see flows.engine.advance).
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from itertools import accumulate

from app.models import Customer, FlowRun, Store
from flows import actions, choices, guards, library, localtime
from flows.context import RunContext
from flows.port import Port
from flows.rules import marketing_consent, viewed_in_stock
from flows.steps import (BRANCHES, Decide, Delay, Discount, Exit, Flow, Pick, Send, Wait,
                         WaitUntil, Weekly, step_name)
from flows.timeline import record

WAITING, NEXT = "waiting", "next"
# The run's data key of a Discount step's code request (never copied into an email's context).
CODE_REQUEST = "code_request"
# Run data that is the engine's own bookkeeping, never an email's context.
BOOKKEEPING = ("due_since", CODE_REQUEST, BRANCHES)


def _percentile(key: str) -> int:
    """0 to 99, evenly spread and always the same for the same key."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big") % 100


def held_out(flow: Flow, settings: dict, customer_id: int) -> bool:
    """Deterministic by customer and flow, so a customer stays in or out of the control group."""
    return _percentile(f"{flow.name}:{customer_id}") < settings.get("holdout_percent", 0)


def split_side(run: FlowRun, split_id: str, percents: tuple[int, ...]) -> int:
    """The side of a split this run takes: deterministic by the run (its flow, customer and
    subject, known before the run has a row, so a dry run picks as the live run will)."""
    point = _percentile(f"{run.flow}:{split_id}:{run.customer_id}:{run.subject}:{run.subject_id}")
    for side, bound in enumerate(accumulate(percents)):
        if point < bound:
            return side
    raise ValueError(f"split {split_id}: its percents add up to {sum(percents)}, not 100")


def entry_refusal(ctx: RunContext, flow: Flow, last_entered: datetime | None) -> str | None:
    """Why the run may not start: its trigger is too old, the customer entered this flow too
    recently (`last_entered`: when they last did), or one of the flow's entry rules."""
    settings = ctx.settings
    if flow.stale_after_hours and ctx.run.triggered_at < ctx.now - timedelta(
            hours=settings[flow.stale_after_hours]):
        return "stale: the activity is too old to matter"
    if flow.reentry_days and last_entered and last_entered > ctx.now - timedelta(
            days=settings[flow.reentry_days]):
        return "already in this flow recently"
    for rule in flow.entry:
        reason = rule(ctx)
        if reason:
            return reason
    return None


def exit_reason(ctx: RunContext, flow: Flow) -> str | None:
    """Why the run must stop now (uninstall, flow switched off, settings it cannot run on, the
    flow's own exit rules)."""
    if not ctx.store.installed:
        return "store uninstalled"
    if ctx.replay:  # the flow as if switched on, on settings its caller checked (a dry run)
        return own_exit_reason(ctx, flow)
    if not choices.enabled(flow, ctx.config):
        return "flow switched off"
    # The run's own settings (kept from when it began) and the store's, checked before any
    # step uses them: a value stored before a rule existed stops the run here, said in words,
    # instead of failing its job (an OverflowError in a wait, a bad header in the mail job).
    return choices.skip_reason(ctx.store, flow, ctx.settings) or own_exit_reason(ctx, flow)


def own_exit_reason(ctx: RunContext, flow: Flow) -> str | None:
    """Why the flow itself would stop the run: a suppressed address, or one of its exit rules."""
    if flow.marketing and ctx.suppression:
        return f"suppressed: {ctx.suppression}"
    for rule in flow.exit:
        reason = rule(ctx)
        if reason:
            return reason
    return None


def end(ctx: RunContext, status: str, outcome: str | None) -> None:
    """Finish the run; an exit also cancels whatever it queued that has not left yet."""
    run = ctx.run
    run.status, run.outcome, run.due_at, run.ended_at = status, outcome, None, ctx.now
    record(ctx.session, run, status, ctx.now, detail=outcome or "")
    if status == "exited":
        ctx.port.cancel_messages(ctx.session, run.store_id, run.id, f"flow exited: {outcome}")


def advance_run(ctx: RunContext) -> None:
    """Run due steps in order until one has to wait; re-check the exit rules first."""
    flow = library.definition(ctx.session, ctx.run)
    reason = exit_reason(ctx, flow)
    if reason:
        end(ctx, "exited", reason)
        return
    while ctx.run.step < len(flow.planned):
        planned = flow.planned[ctx.run.step]
        if planned.condition is None or planned.condition(ctx):
            if _run_step(ctx, flow, planned.step) == WAITING or ctx.run.status != "active":
                return
            if flow.built:  # a built flow's next wait counts from this step (see Delay)
                ctx.run.anchor_at = ctx.now
        ctx.run.step += 1
    end(ctx, "completed", None)


def _run_step(ctx: RunContext, flow: Flow, step) -> str:
    if isinstance(step, Wait):
        return _wait_until(ctx, step.until(ctx.run.anchor_at, ctx.settings))
    if isinstance(step, WaitUntil):
        return _wait_for(ctx, step)
    if isinstance(step, Send):
        return _send(ctx, flow, step)
    if isinstance(step, Discount):
        return _discount(ctx, step)
    action = actions.ACTIONS.get(type(step))
    if action is not None:
        action(ctx, flow, step)
        return NEXT
    if isinstance(step, Delay):
        return _wait_until(ctx, ctx.run.anchor_at + step.duration)
    if isinstance(step, Weekly):
        return _wait_until(ctx, localtime.next_weekly(ctx.run.anchor_at, guards.customer_zone(ctx),
                                                      step.weekday, step.at))
    if isinstance(step, Decide):
        return _decide(ctx, step)
    if isinstance(step, Pick):
        return _pick(ctx, step)
    if isinstance(step, Exit):
        end(ctx, "exited", step.reason)
        return NEXT
    raise TypeError(f"unknown step {step!r}")


def _decide(ctx: RunContext, step: Decide) -> str:
    answer = bool(step.condition(ctx))
    _keep(ctx, step.id, answer, "condition held: then" if answer else "condition did not hold: else")
    return NEXT


def _pick(ctx: RunContext, step: Pick) -> str:
    side = split_side(ctx.run, step.id, step.percents)
    _keep(ctx, step.id, side,
          f"split: side {side + 1} of {len(step.percents)} ({step.percents[side]}%)")
    return NEXT


def _keep(ctx: RunContext, branch: str, answer: bool | int, detail: str) -> None:
    """Keep a branch's answer or a split's side for the steps on its paths, and say it."""
    ctx.run.data = {**ctx.run.data,
                    BRANCHES: {**ctx.run.data.get(BRANCHES, {}), branch: answer}}
    record(ctx.session, ctx.run, "branched", ctx.now, branch, detail)


def _wait_until(ctx: RunContext, moment) -> str:
    if moment > ctx.now:
        ctx.run.due_at = moment
        return WAITING
    return NEXT


def _wait_for(ctx: RunContext, step: WaitUntil) -> str:
    if step.condition(ctx):
        ctx.run.anchor_at = ctx.now
        return NEXT
    deadline = step.deadline(ctx.run.anchor_at, ctx.settings)
    if deadline is not None and deadline <= ctx.now:
        if step.on_timeout == "exit":
            end(ctx, "exited", f"gave up waiting: {step.condition.__name__}")
        return NEXT
    # No deadline: only an event about the subject wakes it (see engine.on_event).
    ctx.run.due_at = deadline
    return WAITING


def _send(ctx: RunContext, flow: Flow, step: Send) -> str:
    # What a send reads and writes never depends on the run's unwritten changes: they are
    # written once, with the step's end, instead of once more before the first read.
    with ctx.session.no_autoflush:
        return _send_now(ctx, flow, step)


def _send_now(ctx: RunContext, flow: Flow, step: Send) -> str:
    marketing = flow.marketing if step.marketing is None else step.marketing
    name = step_name(step)
    if marketing:
        if ctx.run.holdout:
            record(ctx.session, ctx.run, "skipped", ctx.now, name, "held out (control group)")
            return NEXT
        refusal = marketing_consent(ctx)
        if refusal:
            end(ctx, "exited", refusal)
            return NEXT
        priority_of = library.priorities(ctx.session, ctx.store.id)
        deferrals = [] if ctx.replay else [
            d for d in (guards.quiet_hours(ctx), guards.frequency_cap(ctx, priority_of),
                        guards.higher_priority_due(ctx, priority_of)) if d]
        if deferrals:
            return _defer(ctx, flow, name, max(deferrals, key=lambda d: d.until))
    message_id = ctx.port.queue_message(
        ctx.session, store_id=ctx.store.id, email=ctx.recipient,
        template=step.drawn_from,
        marketing=marketing,
        context=_message_context(ctx, step), customer_id=ctx.customer.id, flow=flow.name,
        run_id=ctx.run.id, step=step.template)
    ctx.run.data = {key: value for key, value in ctx.run.data.items() if key != "due_since"}
    if message_id is not None:
        guards.forget_around(ctx)
        ctx.queued.append(message_id)
        record(ctx.session, ctx.run, "sent", ctx.now, name, "queued for sending")
    return NEXT


def _defer(ctx: RunContext, flow: Flow, name: str, deferral: guards.Deferral) -> str:
    """Hold the send until the guards allow it, unless that is too late to still make sense."""
    due_since = datetime.fromisoformat(
        ctx.run.data.get("due_since") or (ctx.run.due_at or ctx.now).isoformat())
    if flow.drop_after_hours and deferral.until > due_since + timedelta(
            hours=ctx.settings[flow.drop_after_hours]):
        end(ctx, "exited", f"stale: {deferral.reason} held {name} past its relevance")
        return NEXT
    ctx.run.data = {**ctx.run.data, "due_since": due_since.isoformat()}
    ctx.run.due_at = deferral.until
    record(ctx.session, ctx.run, "deferred", ctx.now, name,
           f"{deferral.reason} until {deferral.until.isoformat()}")
    return WAITING


def _message_context(ctx: RunContext, step: Send) -> dict:
    """What the email renders from at send time: references, never copies of the data, and
    the merchant's subject line and message for this step if they wrote them."""
    run = ctx.run
    context: dict = {key: value for key, value in run.data.items() if key not in BOOKKEEPING}
    context.update(choices.merchant_texts(run.settings, step))
    if step.content is not None:
        context.update(step.content.message_context())
    if run.subject in ("checkout", "order"):
        context[f"{run.subject}_id"] = run.subject_id
    if run.subject == "product_view":
        context["product_ids"] = viewed_in_stock(ctx)
    return context


def _discount(ctx: RunContext, step: Discount) -> str:
    if ctx.run.holdout:
        return NEXT
    request = ctx.run.data.get(CODE_REQUEST)
    if request is None:
        request = {"code": f"SF-{secrets.token_hex(4).upper()}",
                   "percent": ctx.settings[step.percent],
                   "valid_days": ctx.settings[step.valid_days]}
        ctx.run.data = {**ctx.run.data, CODE_REQUEST: request}
    if "refused" not in request:  # the platform has not answered yet: asked after this step
        ctx.run.due_at = ctx.now
        return WAITING
    data = {key: value for key, value in ctx.run.data.items() if key != CODE_REQUEST}
    if request["refused"] is None:  # what the discount block shows: the code, its percent, its end
        expires = ctx.now + timedelta(days=request["valid_days"])
        data.update(discount_code=request["code"], discount_percent=request["percent"],
                    discount_expires_on=expires.date().isoformat())
    else:
        record(ctx.session, ctx.run, "skipped", ctx.now, "discount", request["refused"])
    ctx.run.data = data
    return NEXT


def code_request(run: FlowRun) -> dict | None:
    """The code a Discount step of this run waits for the platform to make, if any."""
    request = run.data.get(CODE_REQUEST)
    return request if request is not None and "refused" not in request else None


def ask_for_code(port: Port, store: Store, customer: Customer, request: dict) -> str | None:
    """Ask the store's platform for the requested code: None once made, else why not. Call it
    with no row of the run locked (the platform may take seconds to answer)."""
    _, why_not = port.create_code(store, customer, code=request["code"],
                                  percent=request["percent"],
                                  valid_for=timedelta(days=request["valid_days"]))
    return why_not


def keep_answer(run: FlowRun, code: str, refused: str | None) -> None:
    """Keep the platform's answer for the Discount step still waiting for `code` (an answer
    to an earlier request, or after the run moved on, is dropped)."""
    request = run.data.get(CODE_REQUEST)
    if request is not None and request["code"] == code:
        run.data = {**run.data, CODE_REQUEST: {**request, "refused": refused}}

"""Whether a marketing send may go now: quiet hours, the frequency cap and cross-flow priority.

Each guard answers None (go) or a later moment to try again with the reason; the engine
defers the run to the latest of them, or drops the send if that is past its relevance.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import CompoundSelect, bindparam, literal, or_, select, union_all

from app.core.db import execute_core
from app.core.settings import parse_quiet_hours
from app.models import FlowRun, Message
from flows import localtime
from flows.context import RunContext


@dataclass(frozen=True)
class Deferral:
    until: datetime
    reason: str


def customer_zone(ctx: RunContext) -> ZoneInfo:
    """The run's customer's time zone (flows.localtime), else the store's."""
    customer = ctx.customer
    return localtime.recipient_zone(customer.country_code,
                                    ctx.store.effective_settings["timezone"],
                                    customer.province_code)


def quiet_hours(ctx: RunContext) -> Deferral | None:
    quiet = parse_quiet_hours(ctx.store.effective_settings["quiet_hours"])
    allowed = localtime.next_allowed(ctx.now, customer_zone(ctx), quiet)
    return Deferral(allowed, "quiet hours") if allowed > ctx.now else None


def _cap(ctx: RunContext) -> timedelta:
    return timedelta(hours=ctx.store.effective_settings["frequency_cap_hours"])


@functools.cache
def _window() -> CompoundSelect:
    """The customer's marketing mail since `:since` ("sent": flow, created) and their other
    active runs falling due before `:until` ("due": flow, due). Built once: building it cost
    as much as its round trip."""
    store_id, customer_id = bindparam("store_id"), bindparam("customer_id")
    sent = select(literal("sent"), Message.flow, Message.created_at).where(
        Message.store_id == store_id, Message.marketing.is_(True),
        Message.status.in_(("queued", "sending", "sent", "unknown")),
        Message.created_at > bindparam("since"),
        or_(Message.customer_id == customer_id, Message.email == bindparam("email")))
    due = select(literal("due"), FlowRun.flow, FlowRun.due_at).where(
        FlowRun.store_id == store_id, FlowRun.customer_id == bindparam("run_customer_id"),
        FlowRun.status == "active", FlowRun.holdout.is_(False), FlowRun.id != bindparam("run_id"),
        # Strictly: mail sent now no longer holds back one due a whole cap later (the cap
        # counts only mail newer than `now - cap`).
        FlowRun.due_at < bindparam("until"))
    return union_all(sent, due)


def _around(ctx: RunContext, cap: timedelta) -> dict[str, list]:
    """The customer's marketing mail of the last cap and their other active runs falling due
    within the next, read in one round trip for the two guards below and kept on the context
    for the step."""
    if "cap_window" not in ctx.__dict__:
        customer = ctx.customer
        window: dict[str, list] = {"sent": [], "due": []}
        for kind, flow, at in execute_core(ctx.session, _window(), {
                "store_id": ctx.store.id, "customer_id": customer.id, "email": customer.email,
                "since": ctx.now - cap, "run_customer_id": ctx.run.customer_id,
                "run_id": ctx.run.id, "until": ctx.now + cap}):
            window[kind].append((flow, at))
        ctx.__dict__["cap_window"] = window
    return ctx.__dict__["cap_window"]


def forget_around(ctx: RunContext) -> None:
    """After a send is queued: the step's next send reads the window again, so it counts it."""
    ctx.__dict__.pop("cap_window", None)


def frequency_cap(ctx: RunContext, priority_of) -> Deferral | None:
    """One marketing email per cap window; only mail of equal or higher priority counts, so a
    browse email never holds back a checkout reminder."""
    cap = _cap(ctx)
    if not cap:
        return None
    mine = priority_of(ctx.run.flow)
    blocking = [at for flow, at in _around(ctx, cap)["sent"] if priority_of(flow) >= mine]
    return Deferral(max(blocking) + cap, "frequency cap") if blocking else None


def higher_priority_due(ctx: RunContext, priority_of) -> Deferral | None:
    """Yield to a higher-priority marketing flow about to write to the same customer."""
    cap = _cap(ctx)
    if not cap:
        return None
    mine = priority_of(ctx.run.flow)
    ahead = [at for flow, at in _around(ctx, cap)["due"] if priority_of(flow) > mine]
    return Deferral(max(ahead) + cap, "a higher-priority flow goes first") if ahead else None

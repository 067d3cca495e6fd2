"""A checked flow document (flows.document) as a Flow the engine runs: a merchant's flow, or a
prebuilt flow's template (flows.catalog). The same engine, the same guards, the same timeline.

Conditions are JsonLogic over what the audiences catalogue knows of the customer, the run's
order or checkout, and what became of the run's earlier emails (`run.steps.<id>.sent`,
`.opened`, `.clicked`).
"""
from __future__ import annotations

from datetime import time, timedelta
from functools import partial

from sqlalchemy import select

from app.audiences import conditions
from app.audiences.catalogue import facts
from app.core import events
from app.models import Checkout, Message, MessageEvent, Order
from flows.audiences import (birthdays_today, days_after_date, first_order_anniversaries,
                             lapsed_customers)
from flows.context import RunContext
from flows.document import steps_of
from flows.document_settings import is_named
from flows.rules import RULES, has_email, has_lines, marketing_consent, named, stage_is
from flows.steps import (LIFECYCLE, MARKETING, AudienceTrigger, Branch, Content, Delay, Discount,
                         EventTrigger, Exit, Flow, If, Notify, Score, Send, Split, Sunset, Tag,
                         Wait, WaitUntil, Webhook, Weekly)

# A trigger's name in a document -> the domain event, and what must also hold of the subject.
TRIGGERS = {
    "checkout_updated": (events.CHECKOUT_UPDATED, (has_email, has_lines, stage_is("checkout"))),
    "cart_updated": (events.CHECKOUT_UPDATED, (has_email, has_lines, stage_is("cart"))),
    "product_viewed": (events.PRODUCT_VIEWED, (has_email,)),
    "order_placed": (events.ORDER_PLACED, (has_email,)),
    "order_paid": (events.ORDER_PAID, (has_email,)),
    "order_fulfilled": (events.ORDER_FULFILLED, (has_email,)),
    "order_delivered": (events.ORDER_DELIVERED, (has_email,)),
    "order_cancelled": (events.ORDER_CANCELLED, (has_email,)),
    "customer_created": (events.CUSTOMER_CREATED, (has_email,)),
    "consent_changed": (events.CONSENT_CHANGED, (has_email,)),
    "segment_entered": (events.SEGMENT_ENTERED, (has_email,)),
    "segment_left": (events.SEGMENT_LEFT, (has_email,)),
    "tag_added": (events.TAG_ADDED, (has_email,)),
}
# Date triggers: the daily audience query that finds who the day concerns.
DATES = {"birthday": birthdays_today, "first_order_anniversary": first_order_anniversaries,
         "lapsed": lapsed_customers}
# N days after a date of the customer's ({"event": "days_after", "date": ..., "days": N}).
DAYS_AFTER = "days_after"
ENGAGEMENT = ("sent", "opened", "clicked")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def compile_flow(document: dict, version: int, built: bool = True) -> Flow:
    """The Flow of a checked document at this version: a merchant's (`built`), or a prebuilt
    flow's template, whose settings the merchant changes (flows.choices) and whose `if`
    re-checks its condition before each of its steps, as prebuilt flows always have."""
    trigger = document["trigger"]
    event, subject_rules = TRIGGERS.get(trigger["event"], (None, (has_email,)))
    sends = tuple(step["id"] for step in steps_of(document["steps"]) if "send" in step)
    condition = ([_rule(document["entry"], sends, False, "entry condition not met")]
                 if "entry" in document else [])
    if "entry_rules" in document:  # the document names every rule itself
        entry = [*(RULES[name] for name in document["entry_rules"]), *condition]
    else:
        entry = [*subject_rules, *condition,
                 *((marketing_consent,) if document["consent"] == MARKETING else ())]
    exits = [RULES[name] for name in document.get("exit_rules", ())]
    if "exit" in document:
        exits.append(_rule(document["exit"], sends, True, "exit condition met"))
    settings = ({"holdout_percent": document.get("holdout_percent", 0)} if built else {})
    settings.update(document.get("settings", {}))
    steps = _Steps(sends, settings, built)
    activity = document.get("activity", {})
    return Flow(
        name=document["name"], title=document["title"],
        description=document.get("description", ""),
        trigger=_trigger(trigger, event),
        consent=document["consent"], priority=document.get("priority", LIFECYCLE),
        steps=steps.all(document["steps"]), settings=settings, entry=tuple(entry),
        exit=tuple(exits), activity=tuple(TRIGGERS[name][0] for name in activity.get("events", ())),
        activity_by_customer=activity.get("by_customer", False),
        reentry_days=steps.flow_number(document, "reentry_days"),
        stale_after_hours=steps.flow_number(document, "stale_after_hours"),
        drop_after_hours=steps.flow_number(document, "drop_after_hours"),
        version=version, built=built,
    )


def _trigger(trigger: dict, event: str | None) -> EventTrigger | AudienceTrigger:
    if event is not None:
        return EventTrigger((event,), segment=trigger.get("segment"), tag=trigger.get("tag"))
    if trigger["event"] == DAYS_AFTER:
        return AudienceTrigger(partial(days_after_date, date=trigger["date"], days=trigger["days"]))
    return AudienceTrigger(DATES[trigger["event"]])


class _Steps:
    """The engine's steps of a document's tree. A step's numbers become settings named after
    the step (`bonus.points`), as a prebuilt flow's steps name theirs; a {"setting": name}
    names its own."""

    def __init__(self, sends: tuple, settings: dict, built: bool):
        self.sends, self.settings, self.built = sends, settings, built

    def all(self, steps: list) -> tuple:
        return tuple(self.one(step) for step in steps)

    def number(self, step: dict, name: str, value) -> str:
        if isinstance(value, dict):
            return value["setting"]
        key = f"{step['id']}.{name}"
        self.settings[key] = value
        return key

    def flow_number(self, document: dict, name: str) -> str | None:
        """The setting holding one of the flow's own numbers (reentry_days...), if it has it."""
        if name not in document:
            return None
        value = document[name]
        if isinstance(value, dict):
            return value["setting"]
        self.settings[name] = value
        return name

    def one(self, step: dict):
        if "wait" in step:
            wait = step["wait"]
            if "until" in wait:
                until = wait["until"]
                return Weekly(WEEKDAYS.index(until["weekday"]), time.fromisoformat(until["time"]))
            if "ladder" in wait or any(isinstance(v, dict) for v in wait.values()):
                unit = next((unit for unit in ("hours", "days") if unit in wait), None)
                return Wait(ladder=wait.get("ladder"), stage=wait.get("stage"), **(
                    {unit: self.number(step, unit, wait[unit])} if unit else {}))
            return Delay(timedelta(**wait))
        if "wait_until" in step:
            wait = step["wait_until"]
            condition = _condition(wait["condition"], self.sends)
            if not is_named(wait["condition"]):
                condition.__name__ = step["id"]  # the timeline's "gave up waiting: <id>"
            unit, amount = next(iter(wait["timeout"].items()))
            return WaitUntil(condition, **{unit: self.number(step, f"timeout_{unit}", amount)},
                             on_timeout=wait.get("on_timeout", "continue"))
        if "send" in step:
            send, button = step["send"], step["send"].get("button", {})
            if "email" in send:
                return Send(step["id"], marketing=send.get("marketing"), email=send["email"])
            return Send(step["id"], marketing=send.get("marketing"), content=Content(
                subject=send["subject"], body=send["body"], preheader=send.get("preheader", ""),
                button_text=button.get("text", ""), button_url=button.get("url", "")))
        if "if" in step and not self.built:  # re-checked before each step (flows.steps.If)
            if "else" in step or any("if" in inner or "split" in inner for inner in step["then"]):
                raise ValueError(f"template step {step['id']}: an if of a template has no else "
                                 "and no branch inside")
            return If(_condition(step["if"], self.sends), *self.all(step["then"]))
        if "if" in step:
            return Branch(step["id"], _condition(step["if"], self.sends),
                          self.all(step["then"]), self.all(step.get("else", [])))
        if "split" in step:
            return Split(step["id"], tuple((side["percent"], self.all(side["steps"]))
                                           for side in step["split"]))
        if "notify" in step:
            notify = step["notify"]
            return Notify(step["id"], Content(subject=notify["subject"], body=notify["body"]))
        if "webhook" in step:
            return Webhook(step["id"], step["webhook"]["url"])
        if "tag" in step:
            tag = step["tag"]
            return Tag(tag.get("add") or tag["remove"], remove="remove" in tag)
        if "score" in step:
            score = step["score"]
            return Score(self.number(step, "points", score["add"] if "add" in score
                                     else -score["subtract"]))
        if "discount" in step:
            return Discount(percent=self.number(step, "percent", step["discount"]["percent"]),
                            valid_days=self.number(step, "valid_days",
                                                   step["discount"]["valid_days"]))
        if "sunset" in step:
            return Sunset()
        return Exit(step["exit"].get("reason") or f"exit step {step['id']}")


def _condition(rule, sends: tuple):
    if is_named(rule):
        return named(rule)

    def holds(ctx: RunContext) -> bool:
        return conditions.evaluate(rule, run_facts(ctx, sends))
    return holds


def _rule(rule, sends: tuple, stops_when: bool, reason: str):
    """An entry rule (stops the run when the condition does not hold) or an exit rule (when
    it does): the reason, or None to go on."""
    def check(ctx: RunContext) -> str | None:
        held = conditions.evaluate(rule, run_facts(ctx, sends))
        return reason if held is stops_when else None
    check.__name__ = reason
    return check


def run_facts(ctx: RunContext, sends: tuple) -> dict:
    """What a built flow's condition reads: the customer, the run's order or checkout, and
    what became of each email of the run so far."""
    subject = ctx.subject
    found = facts(ctx.session, ctx.customer, ctx.now,
                  order=subject if isinstance(subject, Order) else None,
                  checkout=subject if isinstance(subject, Checkout) else None)
    found["run"] = {"steps": _engagement(ctx, sends)}
    return found


def _engagement(ctx: RunContext, sends: tuple) -> dict:
    state = {step: dict.fromkeys(ENGAGEMENT, False) for step in sends}
    if ctx.run.id is None or not sends:
        return state
    rows = ctx.session.execute(
        select(Message.step, Message.status, MessageEvent.kind)
        .outerjoin(MessageEvent, (MessageEvent.message_id == Message.id)
                   & (MessageEvent.store_id == Message.store_id)
                   & ctx.by_horizon(MessageEvent.occurred_at))
        .where(Message.store_id == ctx.store.id, Message.run_id == ctx.run.id)).all()
    for step, status, kind in rows:
        if step in state:
            state[step]["sent"] |= status == "sent"
            if kind == "open":
                state[step]["opened"] = True
            if kind == "click":  # a click is an open the pixel may have missed
                state[step]["opened"] = state[step]["clicked"] = True
    return state

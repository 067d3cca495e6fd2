"""What a step does to the world beyond the run: a tag, points, a note to the store's staff, a
webhook, a sunset. Each is called by flows.execute with the run's row locked, records what it
did on the timeline, and leaves the engine through the context's port."""
from __future__ import annotations

from typing import Callable
from urllib.parse import urlsplit

from sqlalchemy.dialects.postgresql import insert

from app.models import Customer, Suppression
from flows.context import RunContext
from flows.steps import Flow, Notify, Score, Sunset, Tag, Webhook
from flows.timeline import record

# The template of a built flow's note to the store's staff.
NOTIFY_TEMPLATE = "built/notify"


def tag(ctx: RunContext, flow: Flow, step: Tag) -> None:
    tags = list(ctx.customer.tags or [])
    if step.remove:
        if step.tag in tags:
            ctx.customer.tags = [kept for kept in tags if kept != step.tag]
            record(ctx.session, ctx.run, "tagged", ctx.now, "tag", f"removed {step.tag}")
            ctx.port.tag_customer(ctx.session, ctx.store.id, ctx.customer.id, step.tag)
        return
    if step.tag not in tags:
        ctx.customer.tags = [*tags, step.tag]
        record(ctx.session, ctx.run, "tagged", ctx.now, "tag", step.tag)
        ctx.port.tag_customer(ctx.session, ctx.store.id, ctx.customer.id, step.tag)


def score(ctx: RunContext, flow: Flow, step: Score) -> None:
    points = int(ctx.settings[step.points])
    # In SQL: two runs scoring the same customer at once must both count.
    ctx.customer.score = Customer.score + points
    ctx.session.flush()
    ctx.session.refresh(ctx.customer, ["score", "tags"])  # as they are now, under the row lock
    record(ctx.session, ctx.run, "scored", ctx.now, "score",
           f"{points:+} points (now {ctx.customer.score})")


def notify(ctx: RunContext, flow: Flow, step: Notify) -> None:
    """Queue the note to the store's staff: transactional, and never the customer's (their
    name and address are referenced, read when it is sent, so an erasure reaches them)."""
    settings = ctx.store.effective_settings
    staff = settings["reply_to"] or settings["from_email"]
    if not staff:
        record(ctx.session, ctx.run, "skipped", ctx.now, step.id,
               "no staff address: set the store's reply_to or from_email")
        return
    context = {"subject": step.content.subject, "message": step.content.body,
               "flow_title": flow.title, "about_customer_id": ctx.customer.id}
    if ctx.run.subject in ("checkout", "order"):
        context[f"{ctx.run.subject}_id"] = ctx.run.subject_id
    message_id = ctx.port.queue_message(
        ctx.session, store_id=ctx.store.id, email=staff, template=NOTIFY_TEMPLATE,
        marketing=False, context=context, customer_id=None, flow=flow.name, run_id=ctx.run.id,
        step=step.id)
    if message_id is not None:
        ctx.queued.append(message_id)
        record(ctx.session, ctx.run, "sent", ctx.now, step.id, "note to the store's staff queued")


def webhook(ctx: RunContext, flow: Flow, step: Webhook) -> None:
    """Ask for the POST (sent once the step commits); what it says names the run, never more
    of the customer than their id and address."""
    run = ctx.run
    ctx.port.post_webhook(ctx.session, ctx.store.id, step.url, {
        "flow": flow.name, "version": flow.version, "step": step.id, "run_id": run.id,
        "customer": {"id": ctx.customer.id, "email": ctx.customer.email},
        "store": ctx.store.domain, "subject": {"kind": run.subject, "id": run.subject_id},
        "at": ctx.now.isoformat()})
    record(ctx.session, run, "called", ctx.now, step.id,
           f"webhook to {urlsplit(step.url).hostname}")


def sunset(ctx: RunContext, flow: Flow, step: Sunset) -> None:
    ctx.session.execute(insert(Suppression).values(
        store_id=ctx.store.id, email=ctx.customer.email, reason="sunset", created_at=ctx.now,
    ).on_conflict_do_nothing(index_elements=["store_id", "email"]))
    record(ctx.session, ctx.run, "tagged", ctx.now, "sunset",
           "marketing paused until they buy or opt in")


ACTIONS: dict[type, Callable[[RunContext, Flow, object], None]] = {
    Tag: tag, Score: score, Notify: notify, Webhook: webhook, Sunset: sunset,
}

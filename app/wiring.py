"""What connects the rooms, done once at start-up and listed here: the table of job policies, the
port through which the flows reach app, the listeners of each domain event, the checks
before every send and the outbox's lanes.

Nothing is registered by importing a module: a process has exactly what `wire()` lists.
"""
from __future__ import annotations

from sqlalchemy.orm import Session

from app import flow_webhooks, jobs
from app.audiences import membership
from app.campaigns import sending as campaign_sending
from app.core import events, signing_secrets
from app.jobs import batch, policies as job_policies
from app.mail import consent_ledger, guards, outbox, preferences, sendable
from app.reports import attribution
from app.sync import discounts, writeback
from flows import engine, port, sunset

# Run before every send, in this order, after the suppression list (app.mail.outbox); each with
# what it reads, read for all of them in one statement.
SEND_GUARDS = ((sendable.store_settings_allow, ()),
               (consent_ledger.consent_still_given, (consent_ledger.WITHDRAWN,)),
               (engine.run_still_wanted, ()),
               (campaign_sending.campaign_still_sending, ()),
               (preferences.not_paused, (preferences.PAUSED_UNTIL,)))


def _tag_customer(session: Session, store_id: int, customer_id: int, tag: str) -> None:
    writeback.after_commit(session, writeback.tag, store_id, customer_id, tag)


def flows_port() -> port.Port:
    """app's services, as the flows reach them."""
    return port.Port(queue_message=outbox.queue_message,
                     cancel_messages=outbox.cancel_run_messages,
                     deliver=outbox.enqueue_deliveries, create_code=discounts.create_code,
                     tag_customer=_tag_customer, post_webhook=flow_webhooks.after_commit,
                     enqueue=jobs.enqueue,
                     enqueue_many=jobs.enqueue_many, work_taken=batch.run_taken,
                     queue=jobs.broker.queue)


def wire() -> None:
    """Bind the flows' port, subscribe the listeners and register the send guards (idempotent)."""
    jobs.declare(job_policies.POLICIES, job_policies.MOVED)
    port.bind(flows_port())
    signing_secrets.listen()
    events.listen(events.ORDER_PLACED)(attribution.on_order_placed)
    # Before the engine: a returning customer's flows see their sunset already lifted.
    events.listen(*sunset.EVENTS)(sunset.on_event)
    engine.listen()
    events.listen(*membership.CHANGES)(membership.on_event)
    for guard, reads in SEND_GUARDS:
        guards.register_send_guard(guard, reads)
    # A flow's message: its run's context, for engine.run_still_wanted, read with the guards'.
    guards.register_send_reader(engine.read_with_run, (engine.RUN_SUBJECT,))
    outbox.register_lane(campaign_sending.lane)

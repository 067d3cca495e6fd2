"""The outbox: a Message row is written under a unique (run, step) key before anything leaves,
and delivery hands each row to the transport at most once.

Suppression and every registered send guard (app.mail.guards) are checked at send time, under
the row's lock, not when the message was queued.
"""
from __future__ import annotations

import functools
import logging
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable, Iterator

from rq.timeouts import BaseTimeoutException
from sqlalchemy import (BigInteger, Boolean, DateTime, Integer, Label, Select, String, and_,
                        bindparam, event, func, literal, null, select, update)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, insert
from sqlalchemy.orm import Session

from app import jobs
from app.audiences import metrics
from app.core import clock
from app.core.db import db, execute_core
from app.jobs import batch
from app.mail import compose, consent_ledger, guards
from app.mail.mime import Mail
from app.mail.rate import send_rate
from app.mail.transport import PermanentFailure, TransientFailure, UncertainDelivery, transports
from app.models import Customer, Message, Store, Suppression
from app.models.message import MARKETING_ONLY

log = logging.getLogger(__name__)

# A row still `sending` after this long belongs to a worker that died mid-send.
STALE_SENDING = timedelta(minutes=10)
# Messages one mail job sends: its own, then more whose jobs wait behind it (app.jobs.batch), on
# the same SMTP connection, without RQ's dozen Redis round trips for each and with their
# customers' counts rebuilt together (_JobState). 25 rather than 10: 10-20 % more emails a
# second (bench/RESULTS.md); a batch takes about half a second into a local SMTP server, and
# RQ's 3-minute job timeout, should a slow provider reach it, puts the rest back as jobs of
# their own.
BATCH = 25


# How a message's delivery is queued when it is not `deliver`'s (app.wiring registers a
# campaign's, on the campaigns queue): a lane maps a message's flow to its job and the job's
# arguments between the message id and `at`, or None. A deferral over the rate, a batch and the
# sweep keep each message on its lane.
Lane = Callable[["str | None"], "tuple[Callable, tuple] | None"]
_lanes: list[Lane] = []


def register_lane(lane: Lane) -> None:
    """Add a lane (once)."""
    if lane not in _lanes:
        _lanes.append(lane)


def _lane_of(flow: str | None) -> tuple[Callable, tuple]:
    return next((found for found in (lane(flow) for lane in _lanes) if found), (deliver, ()))


def queue_message(session: Session, *, store_id: int, email: str, template: str,
                  marketing: bool, context: dict | None = None, customer_id: int | None = None,
                  flow: str | None = None, run_id: int | None = None,
                  step: str | None = None) -> int | None:
    """Write a queued message; None if this (run, step) already has one. Enqueue after commit."""
    return queue_messages(session, store_id=store_id, template=template, marketing=marketing,
                          flow=flow, step=step,
                          outgoing=[Outgoing(email, context or {}, customer_id, run_id)])[0]


@dataclass(frozen=True)
class Outgoing:
    """One message of `queue_messages`: to whom, with what context, for which flow run."""
    email: str
    context: dict
    customer_id: int | None = None
    run_id: int | None = None


def queue_messages(session: Session, *, store_id: int, template: str, marketing: bool,
                   flow: str | None, step: str | None, outgoing: list[Outgoing]) -> list[int | None]:
    """Write queued messages of one template in one INSERT (a campaign's chunk: keep it to a few
    thousand), each as `queue_message` writes one: their ids in order, None where the (run, step)
    already has one. Enqueue after commit. A flow's or a campaign's marketing email keeps the
    consent it is queued on (app.mail.consent_ledger, in the same statement); a test send (no
    flow) goes on nobody's."""
    if not outgoing:
        return []
    now = clock.now()
    keys = [f"<{uuid.uuid4().hex}@{transports.message_id_domain}>" for _ in outgoing]
    kept = marketing and flow is not None
    rows = execute_core(session, _queue(kept), {
        "store_id": store_id, "template": template, "marketing": marketing, "flow": flow,
        "step": step, "now": now, "judged_at": now, "message_ids": keys,
        "emails": [message.email for message in outgoing],
        "contexts": [message.context for message in outgoing],
        "customer_ids": [message.customer_id for message in outgoing],
        "run_ids": [message.run_id for message in outgoing]}).all()
    unkept = sum(1 for row in rows if kept and row.customer_id is not None and row.kept is None)
    if unkept:  # a customer of another store, or none: no consent to send on
        raise consent_ledger.missing(store_id, unkept)
    written = {row.message_id: row.id for row in rows}
    return [written.get(key) for key in keys]


@functools.cache
def _queue(kept: bool) -> Select:
    """The messages' INSERT (each column one array: compiling and parsing every row's parameters
    took most of a campaign chunk's time, bench/RESULTS.md), with their consent ledger's when
    `kept`, in one statement: built once (building it cost more than running it, and a round
    trip more per message)."""
    table = Message.__table__
    rows = func.unnest(*(bindparam(name, type_=ARRAY(kind)) for name, kind in _ARRAYS.items())
                       ).table_valued(*_ARRAYS).render_derived()
    written = (insert(table).from_select(
        ["store_id", "email", "template", "marketing", "context", "customer_id", "flow",
         "run_id", "step", "status", "message_id", "created_at", "updated_at"],
        select(bindparam("store_id", type_=Integer), rows.c.emails,
               bindparam("template", type_=String), bindparam("marketing", type_=Boolean),
               rows.c.contexts, rows.c.customer_ids, bindparam("flow", type_=String),
               rows.c.run_ids, bindparam("step", type_=String), literal("queued"),
               rows.c.message_ids, bindparam("now", type_=DateTime(timezone=True)),
               bindparam("now", type_=DateTime(timezone=True))))
        .on_conflict_do_nothing(index_elements=["run_id", "step"])
        .returning(table.c.message_id, table.c.id, table.c.customer_id).cte("written"))
    if not kept:
        return select(written.c.message_id, written.c.id, written.c.customer_id,
                      null().label("kept"))
    ledger = consent_ledger.entries(written, written.c.id, written.c.customer_id).cte("ledger")
    return select(written.c.message_id, written.c.id, written.c.customer_id,
                  ledger.c.message_id.label("kept")
                  ).select_from(written.outerjoin(ledger, ledger.c.message_id == written.c.id))


# The columns `queue_messages` binds as one array each, and their items' types.
_ARRAYS = {"emails": String, "contexts": JSONB, "customer_ids": BigInteger, "run_ids": BigInteger,
           "message_ids": String}


def cancel_run_messages(session: Session, store_id: int, run_id: int, reason: str) -> None:
    """Cancel what a flow run queued that has not left yet (the run exited)."""
    session.execute(update(Message).where(
        Message.store_id == store_id, Message.run_id == run_id, Message.status == "queued",
    ).values(status="cancelled", reason=reason, updated_at=clock.now()))


def enqueue_delivery(message_id: int, flow: str | None = None) -> None:
    """Queue the mail job of the message's lane (by its flow); a set clock (`storeflow tick
    --at`) travels with it."""
    job, lead = _lane_of(flow)
    jobs.enqueue(job, message_id, *lead, _frozen())


def enqueue_deliveries(message_ids: list[int]) -> None:
    """Queue the mail jobs of messages of the default lane (a flow's) in one round trip to
    Redis; a set clock travels with them, as with `enqueue_delivery`."""
    jobs.enqueue_many(deliver, [(message_id, _frozen()) for message_id in message_ids])


def _frozen() -> str | None:
    instant = clock.frozen()
    return instant.isoformat() if instant else None


# The two writes every email makes, built once (building an UPDATE cost about its round trip,
# and the ORM's flush of the claimed row several times that) and run on the session's connection:
# the ORM's bulk UPDATE would also look for the row among the session's objects to update them,
# which nothing reads after.
_SENDING = update(Message).where(Message.id == bindparam("row_id")).values(
    status="sending", subject=bindparam("new_subject"), updated_at=bindparam("now"))
_SENT = update(Message).where(Message.id == bindparam("row_id")).values(
    status="sent", reason=None, sent_at=bindparam("sent_time"), updated_at=bindparam("now"))


def _mark_sent(session: Session, message: Message, sent_at: datetime) -> None:
    session.connection().execute(_SENT, {"row_id": message.id, "sent_time": sent_at,
                                         "now": clock.now()})


def _set_status(message_id: int, status: str, reason: str | None = None) -> None:
    """A status after a failed send, in a transaction of its own."""
    with db.session() as session:
        session.execute(update(Message).where(Message.id == message_id).values(
            status=status, reason=reason, updated_at=clock.now()))


def deliver(message_id: int, at: str | None = None) -> str:
    """The mail job: check, render, send once, as of `at` (default now); then the same for up to
    BATCH - 1 more deliveries waiting behind it. Returns its own message's status."""
    return deliver_as((deliver, ()), message_id, at)


@dataclass
class _JobState:
    """What one mail job's deliveries share: the designs read; the send under way (each
    message is handed to the transport on a thread of the job's, and the next one is claimed
    and rendered while the server answers); the `sent` writes owed for messages whose send has
    ended, made in the statement of a later claim (one transaction per message instead of
    two); and the customers whose counts its sends changed, rebuilt as the job ends
    (or sooner, before a guard of theirs may read them: `mailed`). A worker killed mid-job
    leaves the owed one and the one under way `sending`, and the rest `queued`."""
    designs: dict = field(default_factory=dict)
    # Messages whose send ended well and their `sent` is not yet written, with when it ended.
    owed: list[tuple[Message, datetime]] = field(default_factory=list)
    in_flight: tuple[Message, Future] | None = None
    sender: ThreadPoolExecutor | None = None
    # The status each send under way ended with, by message id.
    ended: dict[int, str] = field(default_factory=dict)
    # By store: the customer ids and addresses of the messages marked sent.
    recipients: dict[int, tuple[set, set]] = field(default_factory=dict)

    def sent(self, message: Message) -> None:
        """Note a message whose `sent` has committed, for the counts' upkeep."""
        ids, emails = self.recipients.setdefault(message.store_id, (set(), set()))
        ids.add(message.customer_id)
        emails.add(message.email)

    def mailed(self, message: Message, customer_email: str | None,
               owed: tuple[Message, datetime] | None) -> bool:
        """Whether a send of this job not yet counted (`owed`, owed still, or under way) is
        one that `message`'s customer's counts take in: their row counts the mail linked to
        them or sent to their address, `customer_email`. A send guard may read those counts (a
        flow's exit rule on customer.emails_30d)."""
        ids, emails = self.recipients.get(message.store_id, (set(), set()))
        for pending in (owed, *self.owed, self.in_flight):
            if pending is not None and pending[0].store_id == message.store_id:
                ids, emails = ids | {pending[0].customer_id}, emails | {pending[0].email}
        return ((message.customer_id is not None and message.customer_id in ids)
                or bool(customer_email and customer_email in emails))

    def hand_off(self, message: Message, mime: Mail) -> None:
        """Start sending `message`, whose `sending` has committed."""
        # A thread of the job's own: a work horse RQ forks would not have one its parent made.
        if self.sender is None:
            self.sender = ThreadPoolExecutor(1, thread_name_prefix="smtp")
        self.in_flight = (message, self.sender.submit(transports.send, mime))

    def land(self) -> None:
        """Wait for the send under way, if any, and note how it ended: owed `sent`, else its
        status written. A transient failure, or one not the transport's answer (the row then
        stays `sending`, the reaper's), is raised as EarlierFailed: the work before whatever
        the job does now. An alarm (RQ's job timeout) ringing while it waits leaves the send
        under way, for the job's end to land."""
        if self.in_flight is None:
            return
        message, sending = self.in_flight
        failure = sending.exception()
        self.in_flight = None
        if failure is None:
            self.ended[message.id] = "sent"
            self.owed.append((message, clock.now()))
            log.info("message sent",
                     extra={"message_id": message.id, "store_id": message.store_id})
        elif isinstance(failure, (TransientFailure, PermanentFailure, UncertainDelivery)):
            try:
                self.ended[message.id] = _failed(message, failure)
            except Exception as error:  # its status unwritten: the row stays `sending`
                raise batch.EarlierFailed(error, message.id) from error
            if isinstance(failure, TransientFailure):  # RQ retries it later
                raise batch.EarlierFailed(failure, message.id) from failure
        elif isinstance(failure, Exception):
            raise batch.EarlierFailed(failure, message.id) from failure
        else:
            raise failure

    def settle(self) -> None:
        """Write the owed `sent` in a transaction of its own (the job ends, or a claim failed),
        then its recipients' counts: one statement a store for the job's sends instead of two
        an email. Each store's counts are tried; the first failure is raised after them. A
        worker killed before them leaves them to the next upkeep of those customers (an order,
        an open, a click, a later send) or the daily recompute."""
        owed, self.owed = self.owed, []
        if owed:
            with db.session() as session:
                for message, sent_at in owed:
                    _mark_sent(session, message, sent_at)
            for message, _ in owed:
                self.sent(message)
        recipients, self.recipients = self.recipients, {}
        failure = None
        for store_id, (customer_ids, emails) in recipients.items():
            try:
                with db.session() as session:
                    metrics.mail_recorded(session, store_id, customer_ids, emails)
            except Exception as error:
                # The error's class only: its message can carry personal data.
                log.warning("customer counts' upkeep failed (%s)", type(error).__name__,
                            extra={"store_id": store_id})
                failure = failure or error
        if failure is not None:
            raise failure


def _failed(message: Message, error: Exception) -> str:
    """Write the status of a send the transport failed; the status."""
    context = {"message_id": message.id, "store_id": message.store_id}
    if isinstance(error, TransientFailure):
        _set_status(message.id, "queued", f"transient: {error}")
        return "queued"
    if isinstance(error, PermanentFailure):
        _set_status(message.id, "failed", str(error))
        if error.recipient_refused:
            suppress(message.store_id, message.email, "hard_bounce")
        log.warning("message failed: %s", error, extra=context)
        return "failed"
    _set_status(message.id, "unknown", f"connection lost during send: {error}")
    log.warning("message delivery unknown", extra=context)
    return "unknown"


def deliver_as(lane: tuple[Callable, tuple], message_id: int, at: str | None) -> str:
    """What the mail job of `lane` (its function and arguments between the message id and `at`)
    does: deliver, then deliver the jobs of the same lane waiting behind it."""
    with _mail_job(at) as state:
        status = _deliver(lane, message_id, state)
        if status != "deferred":  # over the rate, the ones behind wait their own turn
            _deliver_taken(lane, at, state)
        state.land()
        return state.ended.get(message_id, status)


def deliver_each(lane: tuple[Callable, tuple], message_ids: list[int], at: str | None) -> None:
    """What a mail job carrying several messages does (a campaign's): deliver them one after
    another, each as its own job of `lane` would. A worker killed here leaves at most the one
    being sent and the one sent before it `sending`, and the rest `queued`; one over the rate
    waits in a job of its own on the lane; a transient failure fails the job, whose retry skips
    those already gone."""
    with _mail_job(at) as state:
        for message_id in message_ids:
            _deliver(lane, message_id, state)
        state.land()


@contextmanager
def _mail_job(at: str | None) -> Iterator[_JobState]:
    """One mail job's deliveries, as of `at` (default now): their shared state, and the last
    send ended and the last `sent` written however the job ends. A failure found late (a send
    the job had moved on from) is raised as what it was."""
    state = _JobState()
    with clock.frozen_at(datetime.fromisoformat(at)) if at is not None else nullcontext():
        try:
            yield state
        except BaseException as error:
            # The job's own error is the one its failure records; one settling met is logged,
            # by its class only (its message can carry personal data).
            for settling in (state.land, state.settle):
                try:
                    settling()
                except Exception as failure:  # noqa: BLE001 - logged, then the job's own raised
                    log.warning("mail job could not settle after its error (%s)",
                                type(failure).__name__)
            if isinstance(error, batch.EarlierFailed):
                raise error.cause from None
            raise
        finally:
            if state.sender is not None:
                state.sender.shutdown()
        state.settle()


def _deliver_taken(lane: tuple[Callable, tuple], at: str | None, state: _JobState) -> None:
    """Deliver messages whose jobs wait at the head of the lane's queue, one at a time, each as
    its own job would (app.jobs.batch.run_taken): a worker killed here leaves at most two
    `sending` (the one under way, the one before it), and the rest `queued` (the sweep queues
    them again)."""
    job, lead = lane
    batch.run_taken(job, (*lead, at), BATCH - 1,
                    lambda message_id, *_: _deliver(lane, message_id, state), state.land)


def _deliver(lane: tuple[Callable, tuple], message_id: int, state: _JobState) -> str:
    """Claim the message and hand it to the transport, once the send before it has ended well
    (its own outcome is written by the next delivery, or as the job ends: `_JobState.land`).
    "sending", or the status it keeps when it does not go."""
    context = {"message_id": message_id}
    wait = send_rate.wait()
    if wait:
        # Over the transport's rate: try again once the window has passed (under another job
        # id: this one is still running), on the same lane. The row stays queued, so nothing is
        # lost or doubled.
        job, lead = lane
        jobs.follow_up(job, timedelta(seconds=wait), message_id, *lead, _frozen())
        return "deferred"
    owed = state.owed.pop(0) if state.owed else None
    try:
        try:
            with db.session() as session:
                claimed = _claim(session, message_id, context, state, owed)
                # `sending` commits once the send before has ended well, and this one starts
                # right after: a row `sending` is one whose send has started or is next.
                if (not isinstance(claimed, str) and state.in_flight is not None
                        and state.in_flight[1].exception() is not None):
                    raise _Again()
        except (_CountsFirst, _Again):
            # The job has mailed this customer, whose counts a guard may read, or the send
            # before failed: the claim rolled back. The send before has its outcome written,
            # the counts are rebuilt in transactions of their own, and the claim is made
            # again. A customer's lock is never taken under a queued message's (ingest takes
            # a customer's, then cancels their queued mail).
            if owed is not None:
                state.owed.insert(0, owed)
                owed = None
            state.land()
            state.settle()
            with db.session() as session:
                claimed = _claim(session, message_id, context, state)
    except BaseException as error:
        if owed is not None:
            state.owed.insert(0, owed)
        # The send before first: a failure of its is the one to raise. Not when RQ's alarm
        # rang: the job's time is up, the send lands as the job ends.
        if isinstance(error, Exception) and not isinstance(
                error, (batch.EarlierFailed, BaseTimeoutException)):
            state.land()
        raise
    if owed is not None:
        state.sent(owed[0])
    if isinstance(claimed, str):
        return claimed
    message, mime = claimed
    state.land()  # the send before ended well: owed
    state.hand_off(message, mime)
    return "sending"


class _CountsFirst(Exception):
    """Raised by a claim whose customer's counts miss a send of its own job (_JobState.mailed)."""


class _Again(Exception):
    """Raised in a claim's transaction when the send before it failed: claimed again after."""


def _claim(session: Session, message_id: int, context: dict, state: _JobState,
           owed: tuple[Message, datetime] | None = None) -> str | tuple[Message, Mail]:
    """Lock the row, check that it may still go, build it (with the designs its job has read)
    and mark it `sending` (committed before the send, so a worker killed mid-send never sends it
    again). The `owed` `sent` of the message sent before it is written in the same statement as
    the lock. Returns the message and its MIME, or the status it keeps when it does not go."""
    _hold_loaded_rows(session)
    params = {"claim_id": message_id}
    if owed is not None:
        params.update(row_id=owed[0].id, sent_time=owed[1], now=clock.now())
    claim_reads = guards.claim_reads()
    row = session.execute(_claiming(owed is not None, claim_reads), params).one_or_none()
    if row is None:
        return "missing"
    message, store, suppression, customer_email, *_ = row
    if message.status != "queued":
        return message.status
    context["store_id"] = store.id
    if state.mailed(message, customer_email, owed):
        raise _CountsFirst()
    reason = guards.blocked(session, message, store, suppression,
                            {read.key: row._mapping[read.key] for read in claim_reads})
    if reason:
        message.status, message.reason = "cancelled", reason
        log.info("message cancelled: %s", reason, extra=context)
        return "cancelled"
    mime = compose.build(session, store, message, state.designs)
    session.connection().execute(_SENDING, {"row_id": message.id, "new_subject": mime["Subject"],
                                            "now": clock.now()})
    return message, mime


@functools.cache
def _claiming(after_sent: bool, claim_reads: tuple[Label, ...]) -> Select:
    """The row locked, with its store, its address's suppression, its customer's address (read,
    not locked) and the send readers' `claim_reads` (app.mail.guards): one round trip. They
    are as of before any wait for the lock; but whoever holds a queued message's lock (another
    delivery, a cancel, an uninstall, an erasure) changes its status, which the lock's re-read
    sees, so the message then does not go at all. `after_sent`: a message whose send ended well
    marked `sent` first (_SENT's parameters), in the same statement."""
    claim = (select(Message, Store, Suppression, Customer.email, *claim_reads)
             .join(Store, Store.id == Message.store_id)
             .outerjoin(Suppression, and_(Suppression.store_id == Message.store_id,
                                          Suppression.email == Message.email))
             .outerjoin(Customer, and_(Customer.store_id == Message.store_id,
                                       Customer.id == Message.customer_id))
             .where(Message.id == bindparam("claim_id")).with_for_update(of=Message))
    if not after_sent:
        return claim
    # Read by a condition that holds whatever it returns, so that PostgreSQL runs the UPDATE
    # before it locks the claimed row (a WITH nobody reads runs after it): the row sent first,
    # then the next, the order the two statements took before they were one.
    sent = _SENT.returning(Message.id).cte("sent")
    return claim.where(select(func.count()).select_from(sent).scalar_subquery() <= 1)


def _hold_loaded_rows(session: Session) -> None:
    """Keep every row the session loads until it closes: the session holds rows only while
    something refers to them, so without this compose would read again the customer and the
    checkout the send guards have just read and let go."""
    held: list = []
    event.listen(session, "loaded_as_persistent", lambda _session, row: held.append(row))


def suppress(store_id: int, email: str, reason: str) -> None:
    """Stop mail to an address in one store, in a transaction of its own."""
    with db.session() as session:
        add_suppression(session, store_id, email, reason)


def add_suppression(session: Session, store_id: int, email: str, reason: str) -> None:
    """Stop mail to an address in one store, in the caller's transaction (idempotent). The
    first reason is kept, but for one that stops every email (a bounce, a complaint) coming for
    an address stopped for marketing only: it replaces that one, so an opt-in or an order,
    which lifts a sunset, never lifts a bounce (flows.sunset)."""
    added = insert(Suppression).values(store_id=store_id, email=email, reason=reason,
                                       created_at=clock.now())
    stops_everything = added.excluded.reason.not_in(MARKETING_ONLY)
    session.execute(added.on_conflict_do_update(
        index_elements=["store_id", "email"],
        set_={"reason": added.excluded.reason, "created_at": added.excluded.created_at},
        where=Suppression.reason.in_(MARKETING_ONLY) & stops_everything))


def reap_stale_sending() -> int:
    """Mark messages a dead worker left `sending` as `unknown` (never resent automatically)."""
    with db.session() as session:
        reaped = session.execute(
            update(Message)
            .where(Message.status == "sending", Message.updated_at < clock.now() - STALE_SENDING)
            .values(status="unknown", reason="worker stopped during send")
            .returning(Message.id)
        ).scalars().all()
    if reaped:
        log.warning("marked %d interrupted message(s) unknown", len(reaped))
    return len(reaped)


def sweep_outbox(older_than_seconds: int = 10,
                 started_grace: timedelta = timedelta(minutes=5)) -> int:
    """Queue delivery again for messages still `queued` whose job was lost (Redis flushed, a
    worker killed mid-job): the database, not Redis, says what is owed."""
    # The age only skips rows whose after-commit enqueue may not have happened yet; sweeping
    # one twice is harmless (delivery re-checks the status under the row's lock), so it is short
    # enough for mail lost with Redis to leave within the next tick interval.
    cutoff = clock.now() - timedelta(seconds=older_than_seconds)
    with db.session() as session:
        rows = session.execute(
            select(Message.id, Message.flow).where(Message.status == "queued",
                                                   Message.updated_at < cutoff)
            .order_by(Message.id).limit(5000)
        ).all()
    # A job carrying several messages (a campaign's) is named after the first and sends it
    # last, so while any of them is queued its first is too, and comes first here.
    carried: set[int] = set()
    swept = []
    for message_id, flow in rows:
        if message_id in carried:
            continue
        job = jobs.pending_job(f"mail-{message_id}", started_grace)
        if job is None:
            swept.append((message_id, flow))
        else:
            carried.update(next((arg for arg in job.args if isinstance(arg, list)), ()))
    for message_id, flow in swept:
        enqueue_delivery(message_id, flow)
    if swept:
        log.info("sweep queued %d undelivered message(s)", len(swept))
    return len(swept)
